import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler, NodeHttpHandler } from '@shardline/common/http-handlers';
import type { Logger } from 'pino';
import { Writable } from 'node:stream';
import { Admission } from './admission';
import { AggregateStage } from './aggregate-stage';
import { LaneAggregateStage } from './lane-aggregate-stage';
import { BufferBudget, heldPerUserByte } from './backpressure';
import { Collector } from './collector';
import { KinesisRejectedError, ProducerClosedError } from './errors';
import type { KinesisRecord } from './kinesis-record';
import { ShardLimiter } from './limiter';
import { producerLogger } from './logger';
import { MetricsRecorder, type ProducerStats } from './metrics';
import { resolveOptions, type ProducerOptions, type ResolvedOptions } from './options';
import { Outcomes, type PutOutcome, type PutResult } from './outcome';
import { BatchOutcome } from './batch-outcome';
import { Expiry } from './expiry';
import { Retrier } from './retrier';
import { Router } from './router';
import { errorCode } from './retry-policy';
import { Sender, type CallResult } from './sender';
import { Sequencer } from './sequencer';
import { ShardMap, type ShardRanges } from './shard-map';
import { PendingLedger } from './pending-ledger';
import type { TraceContext } from './trace-context';

/** A record to put. `data` as bytes, or a string sent as UTF-8. */
export interface ProducerRecord {
  partitionKey: string;
  data: Uint8Array | string;
  /** Decimal hash key in [0, 2^128 − 1] that routes the record instead of its partition key. */
  explicitHashKey?: string;
  /**
   * The W3C trace context to carry with the record, instead of the one the producer's
   * `traceContext` option supplies. It travels as the record's tags inside a KPL aggregate; a
   * record sent alone (aggregation off, or no other record to share its aggregate) carries none,
   * because a plain Kinesis record has no place for it that other readers would not see.
   * A malformed one fails the put with `InvalidRecordError` (`TRACE_CONTEXT_INVALID`).
   */
  traceContext?: TraceContext;
}

/** Options of one `put`. */
export interface PutOptions {
  /** Gives up waiting for buffer room (the put rejects with `PutAbortedError`); a record already accepted is not recalled. */
  signal?: AbortSignal;
}

/** Options of `close`. */
export interface CloseOptions {
  /**
   * How long to let records finish, ms, puts still waiting for buffer room included. Default:
   * `recordTtl`. After it, what is unfinished fails with `ProducerClosedError`.
   */
  timeoutMs?: number;
  /** Aborting fails every unfinished record with `ProducerClosedError` at once. */
  signal?: AbortSignal;
}

/**
 * The KPL in TypeScript: `put` buffers user records, predicts their shards, aggregates per shard,
 * rate-limits per shard, collects PutRecords calls and retries what can be retried, and resolves
 * each record's promise with where it landed, or rejects it with why it did not.
 *
 * By default each partition key's records reach the stream in `put` order (`preserveKeyOrder`).
 *
 * The stages are wired here and only here, and data flows one way: put → Admission → Router →
 * AggregateStage → Sequencer (ordering lanes) → Collector (per-shard limiter + batching) → Sender
 * (PutRecords) → Retrier → Outcomes, or back to the record's lane after a backoff, or to the
 * Router. Expiry ends a record's TTL wherever it waits.
 */
export class Producer {
  private readonly options: ResolvedOptions;
  private readonly client: KinesisClient;
  private readonly ownsClient: boolean;
  private readonly logger: Logger;
  private readonly metrics: MetricsRecorder;
  private readonly shardMap: ShardMap;
  private readonly limiter: ShardLimiter;
  private readonly stage: AggregateStage;
  private readonly collector: Collector;
  private readonly budget: BufferBudget;
  private readonly ledger = new PendingLedger();
  private readonly sequencer: Sequencer;
  private readonly sender: Sender;
  private readonly retrier: Retrier;
  private readonly expiry: Expiry;
  private readonly outcomes: Outcomes;
  private readonly admission: Admission;
  private readonly router: Router;
  private flushQueued = false;
  private flushOnReturn = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** For the tick: partial aggregates of shards whose lane is busy keep filling. */
  private readonly holdPartial: ((shardId: string) => boolean) | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private closed = false;
  private ready: Promise<void> | undefined;
  /**
   * Record times (accepted, deadline) are ms since this epoch: small integers V8 stores inline,
   * where epoch milliseconds are doubles it boxes, two allocations per record.
   */
  private readonly epoch = Date.now();

  constructor(options: ProducerOptions) {
    this.options = resolveOptions(options);
    this.logger = producerLogger(options.logger);
    this.metrics = new MetricsRecorder(options.onMetric);
    if (options.kinesisClient) {
      this.client = options.kinesisClient;
      this.ownsClient = false;
    } else {
      this.client = buildClient(options);
      this.ownsClient = true;
    }
    const o = this.options;
    this.shardMap = new ShardMap(
      this.client,
      { streamName: o.streamName, streamArn: o.streamArn },
      (ranges, reason) => {
        this.metrics.emit({ type: 'shardMapRefresh', shards: ranges.ranges.length, reason });
        this.logger.debug({ shards: ranges.ranges.length, reason }, 'shard map refreshed');
        this.mapChanged(ranges);
      },
      o.requestTimeout,
    );
    this.limiter = new ShardLimiter(o.rateLimit);
    this.router = new Router(
      this.shardMap,
      (record) => {
        this.stage.add(record);
        this.armTick();
      },
      (fn, ms) => this.later(fn, ms),
      this.logger,
    );
    // The wiring, in the order data flows: route → aggregate stage → sequencer (ordering lanes)
    // → collector (limiter, batching) → sender → retrier → outcome, or back to a lane or to route.
    const stageOptions = {
      aggregation: o.aggregation,
      maxBytes: Math.min(o.aggregationMaxSize, o.maxRecordBytes),
      maxCount: o.aggregationMaxCount,
      compressCodec: o.compression?.scope === 'aggregate' ? o.compression.codec : undefined,
    };
    const toSequencer = (record: KinesisRecord) => this.sequencer.offer(record);
    this.stage =
      o.lambdaLanes === undefined
        ? new AggregateStage(stageOptions, toSequencer)
        : new LaneAggregateStage(
            {
              ...stageOptions,
              lanes: o.lambdaLanes,
              rangeOf: (shardId) => this.shardMap.ranges?.range(shardId),
            },
            toSequencer,
          );
    this.sequencer = new Sequencer(!o.preserveKeyOrder ? 'off' : o.aggregation ? 'shard' : 'key', {
      forward: (record, waited) => {
        this.collector.offer(record);
        if (waited) this.flushSoon();
        else this.armTick();
      },
      reroute: (records) => this.router.reroute(records),
      takePartial: (shardId) => this.stage.take(shardId),
      partialShards: () => this.stage.shardIds(),
      rangeOf: (shardId) => this.shardMap.ranges?.range(shardId),
      predict: (hashKey) => this.shardMap.ranges?.find(hashKey)?.shardId,
    });
    this.holdPartial =
      this.sequencer.mode === 'shard' ? (shardId) => this.sequencer.busy(shardId) : undefined;
    this.collector = new Collector(
      { maxCount: o.collectionMaxCount, maxBytes: o.collectionMaxSize, limiter: this.limiter },
      (batch) => this.sender.send(batch),
    );
    this.sender = new Sender(
      this.client,
      {
        streamName: o.streamName,
        streamArn: o.streamArn,
        maxConnections: o.maxConnections,
        requestTimeout: o.requestTimeout,
      },
      (batch, result) => this.callReturned(batch, result),
      (record) => this.dropFinished(record),
    );
    this.retrier = new Retrier(o, {
      succeed: (record, shardId, sequenceNumber, success) =>
        this.outcomes.succeed(record, shardId, sequenceNumber, success),
      fail: (record, error) => this.outcomes.fail(record, error),
      finished: (record) => this.sequencer.finished(record),
      retry: (record, delayMs, reroute) =>
        this.later(() => this.sequencer.resend(record, reroute), delayMs),
      expireIfDue: (record) => this.expiry.expireIfDue(record),
      refreshMap: (staleSince) =>
        this.shardMap
          .refresh('record landed on an unexpected shard', staleSince)
          .catch((error: unknown) => {
            this.logger.warn({ err: error }, 'shard map refresh failed');
            return undefined;
          }),
      metric: (event) => this.metrics.emit(event),
      logger: this.logger,
    });
    this.expiry = new Expiry(
      this.ledger,
      o.recordTtl,
      {
        now: () => this.clock(),
        // Unref'd: whatever a pending record waits on (a request, a retry, the tick, a parked
        // record's map refresh) holds the process; the expiry timer alone must not keep an idle
        // producer's process alive until the last record's deadline.
        set: (fn, ms) => setTimeout(fn, ms).unref(),
        clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
      },
      (record, error) => this.outcomes.fail(record, error),
    );
    this.budget = new BufferBudget(
      o.maxBufferedRecords,
      o.maxBufferedBytes,
      heldPerUserByte({
        aggregation: o.aggregation,
        aggregateCompression: o.compression?.scope === 'aggregate',
      }),
    );
    this.admission = new Admission(
      {
        recordCompression: o.compression?.scope === 'record' ? o.compression.codec : undefined,
        traceContext: o.traceContext,
        maxRecordBytes: o.maxRecordBytes,
        recordTtl: o.recordTtl,
      },
      this.budget,
      {
        start: () => this.start(),
        takeIn: (record) => {
          this.ledger.add(record);
          this.expiry.arm();
          this.router.route(record);
          this.metrics.recordPut(record.predictedShard);
        },
        clock: () => this.clock(),
      },
    );
    this.outcomes = new Outcomes(this.ledger, this.metrics, this.budget, () => this.clock());
  }

  /**
   * Fetches the shard map. Optional: the first `put` does it too. Rejects with a typed error when
   * the stream does not exist or cannot be read.
   */
  start(): Promise<void> {
    this.ready ??= this.shardMap
      .get()
      .then(() => {
        this.admission.mapReady = true;
        this.refreshTimer = setInterval(() => {
          void this.shardMap
            .refresh('interval')
            .catch((error: unknown) =>
              this.logger.warn({ err: error }, 'periodic shard map refresh failed'),
            );
        }, this.options.shardMapRefreshInterval);
        this.refreshTimer.unref();
      })
      .catch((error: unknown) => {
        this.ready = undefined;
        const code = errorCode(error);
        throw new KinesisRejectedError(
          code,
          `cannot read the shards of ${this.streamLabel()}: ${(error as Error).message ?? code}`,
          [],
          { cause: error },
        );
      });
    return this.ready;
  }

  /**
   * Puts one record. Resolves with `{ shardId, sequenceNumber, subSequenceNumber?, aggregated,
   * attempts }` once Kinesis has it; rejects with a typed error naming the cause otherwise (bad
   * input at once; `RecordExpiredError`, `KinesisRejectedError`, `RecordThrottledError`,
   * `ProducerClosedError` later). Waits for buffer room when the buffer bounds are reached.
   * Handle every returned promise, as with any promise.
   */
  put(record: ProducerRecord, options?: PutOptions): Promise<PutResult> {
    // The common case (valid record, map loaded, room in the buffer) allocates nothing beyond the
    // record's own state and promise: this is the producer's hottest line.
    const outcome = new Promise<PutResult>(captureResolvers);
    this.admission.put(record, options?.signal, capturedResolve!, capturedReject!);
    return outcome;
  }

  /**
   * Puts many records with one promise for all of them: it resolves, once every record has its
   * outcome, to one `PutOutcome` per record in the order given (`Promise.allSettled`'s shape),
   * and never rejects. A bad record fails alone with its typed error; the others go ahead.
   *
   * The fast way in for high volumes: the same delivery as `put`, without a promise and its
   * resolvers per record (about 250 bytes and the GC work to match). Records wait for buffer
   * room in order, as consecutive `put`s would; `signal` stops the waiting ones.
   */
  putMany(records: readonly ProducerRecord[], options?: PutOptions): Promise<PutOutcome[]> {
    if (!Array.isArray(records))
      return Promise.reject(new TypeError('putMany takes an array of records'));
    const batch = new BatchOutcome(records.length);
    // Records without room (or arriving before the shard map) wait as one entry, in order, as
    // consecutive puts would.
    this.admission.putMany(records, batch, options?.signal);
    return batch.promise;
  }

  /** Milliseconds since the producer's epoch: the clock of record deadlines. */
  private clock(): number {
    return Date.now() - this.epoch;
  }

  /** Waits until every record put before this call has its outcome. */
  async flush(): Promise<void> {
    const accepting = this.admission.takenIn();
    let drained = this.ledger.drained();
    this.tick();
    if (accepting) {
      await accepting;
      // Those just accepted are in the ledger now; send them without waiting for the tick.
      drained = this.ledger.drained();
      this.tick();
    }
    await drained;
  }

  /**
   * Stops accepting new records, sends everything already put (puts still waiting for buffer room
   * included: they go in as room frees) and waits for every outcome. Records not finished by
   * `timeoutMs` (default `recordTtl`), or when `signal` aborts, fail with `ProducerClosedError`:
   * none is left without an outcome. Releases timers and, if the producer built it, the client.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    this.admission.closing = true;
    const everything = this.flush();
    const stops: Promise<void>[] = [everything];
    const cleanups: (() => void)[] = [];
    // Records already accepted expire by their TTL anyway; this bounds the puts still waiting.
    const timeoutMs = options.timeoutMs ?? this.options.recordTtl;
    stops.push(
      new Promise((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        cleanups.push(() => clearTimeout(t));
      }),
    );
    if (options.signal) {
      const signal = options.signal;
      stops.push(
        new Promise((resolve) => {
          if (signal.aborted) return resolve();
          signal.addEventListener('abort', () => resolve(), { once: true });
        }),
      );
    }
    await Promise.race(stops);
    for (const c of cleanups) c();
    const waited = new ProducerClosedError('producer closed while the put waited for buffer room');
    this.admission.rejectAll(waited);
    this.budget.rejectAll(waited);
    for (const record of this.ledger.toArray()) {
      this.outcomes.fail(
        record,
        new ProducerClosedError('producer closed before the record was delivered', record.attempts),
      );
    }
    this.closed = true;
    this.admission.closed = true;
    this.collector.stop();
    this.expiry.stop();
    if (this.tickTimer) clearTimeout(this.tickTimer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.ownsClient) this.client.destroy();
  }

  /** Running totals: records put, succeeded, failed by code, calls, retries, throttles, per-shard counts, buffer use. */
  stats(): ProducerStats {
    const stats = structuredClone(this.metrics.stats);
    // Buffer use is the budget's own count, not a second tally kept beside it.
    stats.bufferedRecords = this.budget.records;
    stats.bufferedBytes = this.budget.bytes;
    stats.bufferedMemoryBytes = this.budget.heldBytes;
    return stats;
  }

  /**
   * An object-mode Writable: each chunk is a `ProducerRecord`. Writing waits for buffer room, so
   * `pipeline(source, producer.writable())` gets real backpressure. A record that fails is passed
   * to `onFailure`; without it, the stream is destroyed with the error. `final` waits for every
   * outcome.
   */
  writable(
    options: {
      highWaterMark?: number;
      onFailure?: (error: Error, record: ProducerRecord) => void;
    } = {},
  ): Writable {
    const onFailure = options.onFailure;
    const stream: Writable = new Writable({
      objectMode: true,
      highWaterMark: options.highWaterMark ?? 16,
      write: (record: ProducerRecord, _encoding, callback) => {
        const outcome = new Promise<PutResult>(captureResolvers);
        const accepted = this.admission.admit(
          record,
          undefined,
          false,
          capturedResolve,
          capturedReject,
        );
        outcome.catch((error: Error) => {
          if (onFailure) onFailure(error, record);
          else stream.destroy(error);
        });
        // The next write may come once this record has buffer room, not once it is delivered.
        if (accepted) void accepted.then(() => callback());
        else callback();
      },
      final: (callback) => {
        this.flush().then(() => callback(), callback);
      },
    });
    return stream;
  }

  // ---- the tick: buffered-time flush of aggregates and the partial batch ----

  private armTick(): void {
    if (this.tickTimer || this.closed) return;
    this.tickTimer = setTimeout(() => {
      this.tickTimer = undefined;
      this.tick();
    }, this.options.recordMaxBufferedTime);
  }

  private tick(): void {
    // A shard whose lane is busy keeps filling its aggregate: it could not go yet anyway.
    this.stage.flushAll(this.holdPartial);
    this.collector.flush();
    if (this.stage.pending > 0 || this.collector.pending > 0) this.armTick();
  }

  // ---- the gate before sending ----

  /**
   * The sender's last look as a Kinesis record's call starts: user records that finished while it
   * waited (expired, or failed as closed) are left out, and the rest rebuilt in place; one with
   * none left lets its lane go on.
   */
  private dropFinished(record: KinesisRecord): KinesisRecord | undefined {
    let live = 0;
    for (const r of record.records) if (!r.settled) live++;
    if (live === record.records.length) return record;
    if (live === 0) {
      this.sequencer.finished(record);
      return undefined;
    }
    return this.stage.rebuild(
      record,
      record.records.filter((r) => !r.settled),
    );
  }

  /**
   * Sends records released from their lanes (or due for a retry) without waiting for the tick,
   * Nagle-style: at once when no request is out, else when the next request comes back (which
   * releases more: they go together), the tick being the backstop. Sending each release at once
   * split the traffic into one chain of tiny requests per lane (1.4 records per call measured
   * without aggregation); this keeps requests full.
   */
  private flushSoon(): void {
    this.armTick();
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      if (this.sender.pending === 0) this.collector.flush();
      else this.flushOnReturn = true;
    });
  }

  private callReturned(batch: KinesisRecord[], result: CallResult): void {
    this.retrier.handle(batch, result);
    if (this.flushOnReturn) {
      this.flushOnReturn = false;
      this.collector.flush();
    }
  }

  /**
   * A new shard map: lanes of shards that closed hand their records to the children (see
   * Sequencer.retire), and records parked on a gap of the old map are routed again.
   */
  private mapChanged(ranges: ShardRanges): void {
    const open = new Set(ranges.ranges.map((r) => r.shardId));
    this.limiter.retain(open);
    this.sequencer.retire(open);
    this.router.mapChanged();
  }

  private later(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    if (this.closed) return undefined;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private streamLabel(): string {
    return this.options.streamName
      ? `stream ${this.options.streamName}`
      : `stream ${this.options.streamArn}`;
  }
}

/**
 * One shared executor for every `put` promise: it parks the resolvers here for `accept` to take at
 * once (the executor runs synchronously). A closure per put cost an allocation and a context each.
 */
let capturedResolve: ((result: PutResult) => void) | undefined;
let capturedReject: ((error: Error) => void) | undefined;
function captureResolvers(
  resolve: (result: PutResult) => void,
  reject: (error: Error) => void,
): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** A client for the given region/endpoint/credentials, HTTP/1.1 keep-alive unless asked otherwise. */
function buildClient(options: ProducerOptions): KinesisClient {
  const requestHandler =
    options.httpHandler === 'http2'
      ? new NodeHttp2Handler({})
      : new NodeHttpHandler({
          httpAgent: new HttpAgent({ keepAlive: true, maxSockets: options.maxConnections ?? 24 }),
          httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: options.maxConnections ?? 24 }),
        });
  return new KinesisClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
    requestHandler,
    // Our retrier owns retries (with the record TTL in view); the SDK's would double them.
    maxAttempts: 1,
  });
}

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  KinesisClient,
  PutRecordsCommand,
  type PutRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';
import {
  RecordTooLargeError,
  HashKeyCache,
  compress,
  toBytes,
  validateExplicitHashKey,
  validatePartitionKey,
} from '@shardline/aggregation';
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import { Writable } from 'node:stream';
import { AggregateStage } from './aggregate-stage';
import { BufferBudget, heldPerUserByte } from './backpressure';
import { Collector } from './collector';
import {
  KinesisRejectedError,
  ProducerClosedError,
  RecordExpiredError,
  RecordThrottledError,
} from './errors';
import type { KinesisRecord } from './kinesis-record';
import { ShardLimiter } from './limiter';
import { producerLogger } from './logger';
import { MetricsRecorder, type ProducerStats } from './metrics';
import { resolveOptions, type ProducerOptions, type ResolvedOptions } from './options';
import type { Attempt, PutOutcome, PutResult } from './outcome';
import { BatchOutcome } from './batch-outcome';
import { decideEntries } from './retrier';
import { classifyError, errorCode, fullJitterDelay } from './retry-policy';
import { ShardMap } from './shard-map';
import { PendingLedger } from './pending-ledger';
import { PendingRecord, type OutcomeBatch } from './user-record';

/** A record to put. `data` as bytes, or a string sent as UTF-8. */
export interface ProducerRecord {
  partitionKey: string;
  data: Uint8Array | string;
  /** Decimal hash key in [0, 2^128 − 1] that routes the record instead of its partition key. */
  explicitHashKey?: string;
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
 * The stages are wired here and only here: put → AggregateStage → Collector (per-shard limiter +
 * batching) → send (PutRecords, whole-call retries) → decideEntries (per-entry results) → success,
 * failure, or back to the AggregateStage.
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
  private readonly hashKeys = new HashKeyCache();
  private readonly ledger = new PendingLedger();
  /** Puts still waiting for the shard map or buffer room. */
  private readonly accepting = new Set<Promise<void>>();
  private readonly waitingBatches: KinesisRecord[][] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private tickTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private closed = false;
  private ready: Promise<void> | undefined;
  private mapReady = false;
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
      (shards, reason) => {
        this.metrics.emit({ type: 'shardMapRefresh', shards, reason });
        this.logger.debug({ shards, reason }, 'shard map refreshed');
      },
      o.requestTimeout,
    );
    this.limiter = new ShardLimiter(o.rateLimit);
    this.stage = new AggregateStage(
      {
        aggregation: o.aggregation,
        maxBytes: Math.min(o.aggregationMaxSize, o.maxRecordBytes),
        maxCount: o.aggregationMaxCount,
        compressCodec: o.compression?.scope === 'aggregate' ? o.compression.codec : undefined,
      },
      (record) => {
        this.collector.offer(record);
        this.armTick();
      },
    );
    this.collector = new Collector(
      { maxCount: o.collectionMaxCount, maxBytes: o.collectionMaxSize, limiter: this.limiter },
      (batch) => this.dispatch(batch),
      (record) => this.admit(record),
    );
    this.budget = new BufferBudget(
      o.maxBufferedRecords,
      o.maxBufferedBytes,
      heldPerUserByte({
        aggregation: o.aggregation,
        aggregateCompression: o.compression?.scope === 'aggregate',
      }),
    );
  }

  /**
   * Fetches the shard map. Optional: the first `put` does it too. Rejects with a typed error when
   * the stream does not exist or cannot be read.
   */
  start(): Promise<void> {
    this.ready ??= this.shardMap
      .get()
      .then(() => {
        this.mapReady = true;
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
    let data: Uint8Array;
    try {
      data = this.check(record);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const bytes = data.length + record.partitionKey.length;
    if (this.mapReady && this.budget.tryAcquire(bytes))
      return this.accept(record.partitionKey, record.explicitHashKey, data, bytes);
    return this.acceptWhenRoom(
      record.partitionKey,
      record.explicitHashKey,
      data,
      bytes,
      options?.signal,
    ).outcome;
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
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      let data: Uint8Array;
      try {
        data = this.check(record);
      } catch (error) {
        batch.settle(i, { status: 'rejected', reason: error as Error });
        continue;
      }
      const bytes = data.length + record.partitionKey.length;
      if (this.mapReady && this.budget.tryAcquire(bytes)) {
        this.accept(record.partitionKey, record.explicitHashKey, data, bytes, batch, i);
        continue;
      }
      // No room (or no shard map yet): this record and the rest wait their turn, in order.
      const rest = this.putRestWhenRoom(records, i, data, batch, options?.signal);
      this.accepting.add(rest);
      void rest.then(() => this.accepting.delete(rest));
      break;
    }
    return batch.promise;
  }

  /** The slow part of `putMany`: from `start` on, each record waits for room before the next. */
  private async putRestWhenRoom(
    records: readonly ProducerRecord[],
    start: number,
    firstData: Uint8Array,
    batch: BatchOutcome,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    for (let i = start; i < records.length; i++) {
      const record = records[i]!;
      try {
        // Records of a call made before `close` still go in while it drains.
        const data = i === start ? firstData : this.check(record, true);
        const bytes = data.length + record.partitionKey.length;
        await this.waitForRoom(bytes, signal);
        this.accept(record.partitionKey, record.explicitHashKey, data, bytes, batch, i);
      } catch (error) {
        batch.settle(i, { status: 'rejected', reason: error as Error });
      }
    }
  }

  /** Validates and buffers a record: `accepted` settles when it has buffer room, `outcome` when it is finished. */
  private submit(
    record: ProducerRecord,
    signal: AbortSignal | undefined,
  ): { accepted: Promise<void>; outcome: Promise<PutResult> } {
    let data: Uint8Array;
    try {
      data = this.check(record);
    } catch (error) {
      const rejected = Promise.reject(error as Error);
      return { accepted: rejected.catch(() => {}), outcome: rejected };
    }
    const bytes = data.length + record.partitionKey.length;
    if (this.mapReady && this.budget.tryAcquire(bytes)) {
      return {
        accepted: RESOLVED,
        outcome: this.accept(record.partitionKey, record.explicitHashKey, data, bytes),
      };
    }
    return this.acceptWhenRoom(record.partitionKey, record.explicitHashKey, data, bytes, signal);
  }

  /** Checks a record at the boundary; returns its data as it will go out. Throws a typed error for bad input. */
  private check(record: ProducerRecord, whileClosing = false): Uint8Array {
    if (this.closed || (this.closing && !whileClosing))
      throw new ProducerClosedError('producer is closed');
    if (record === null || typeof record !== 'object')
      throw new TypeError('put takes a record object');
    const partitionKey = validatePartitionKey(record.partitionKey);
    validateExplicitHashKey(record.explicitHashKey);
    let data = toBytes(record.data);
    if (this.options.compression?.scope === 'record')
      data = compress(data, this.options.compression.codec);
    const max = this.options.maxRecordBytes;
    // A UTF-16 unit takes at most 3 UTF-8 bytes: most records are clearly within the limit
    // without measuring the key's UTF-8 length.
    if (data.length + partitionKey.length * 3 > max) {
      const size = data.length + Buffer.byteLength(partitionKey, 'utf8');
      if (size > max) throw new RecordTooLargeError(size, max);
    }
    return data;
  }

  /**
   * Waits for the shard map and buffer room for a record of `bytes` (or the caller's abort). A put
   * made before `close` still gets room while close drains; once closed, none.
   */
  private async waitForRoom(bytes: number, signal: AbortSignal | undefined): Promise<void> {
    await this.start();
    await this.budget.acquire(bytes, signal);
    if (this.closed) {
      this.budget.release(bytes);
      throw new ProducerClosedError('producer is closed');
    }
  }

  /** The slow way in: waits for the shard map and buffer room (or the caller's abort). */
  private acceptWhenRoom(
    partitionKey: string,
    explicitHashKey: string | undefined,
    data: Uint8Array,
    bytes: number,
    signal: AbortSignal | undefined,
  ): { accepted: Promise<void>; outcome: Promise<PutResult> } {
    const accepted = this.waitForRoom(bytes, signal);
    const outcome = accepted.then(() => this.accept(partitionKey, explicitHashKey, data, bytes));
    const settledAcceptance = accepted.catch(() => {});
    this.accepting.add(settledAcceptance);
    void settledAcceptance.then(() => this.accepting.delete(settledAcceptance));
    return { accepted: settledAcceptance, outcome };
  }

  /** Takes a record in (room already acquired). Its outcome goes to `batch` if given, else to the promise returned. */
  private accept(
    partitionKey: string,
    explicitHashKey: string | undefined,
    data: Uint8Array,
    bytes: number,
  ): Promise<PutResult>;
  private accept(
    partitionKey: string,
    explicitHashKey: string | undefined,
    data: Uint8Array,
    bytes: number,
    batch: OutcomeBatch,
    index: number,
  ): undefined;
  private accept(
    partitionKey: string,
    explicitHashKey: string | undefined,
    data: Uint8Array,
    bytes: number,
    batch?: OutcomeBatch,
    index?: number,
  ): Promise<PutResult> | undefined {
    const now = this.clock();
    const outcome = batch ? undefined : new Promise<PutResult>(captureResolvers);
    const record = new PendingRecord(
      partitionKey,
      explicitHashKey,
      data,
      this.hashKeys.of(partitionKey, explicitHashKey),
      bytes,
      now,
      now + this.options.recordTtl,
      batch ? undefined : capturedResolve,
      batch ? undefined : capturedReject,
      batch,
      index,
    );
    this.ledger.add(record);
    this.route(record);
    this.metrics.recordPut(record.predictedShard);
    return outcome;
  }

  /** Milliseconds since the producer's epoch: the clock of record deadlines. */
  private clock(): number {
    return Date.now() - this.epoch;
  }

  /** Predicts the record's shard with the current map and hands it to the aggregate stage. */
  private route(record: PendingRecord): void {
    const ranges = this.shardMap.ranges!;
    const shard = ranges.find(record.hashKey);
    if (!shard) {
      // A gap in the open shards (mid-resharding): ask for a fresh map and try again shortly.
      void this.shardMap.refresh('no shard for hash key', this.shardMap.version);
      this.later(() => this.route(record), 100);
      return;
    }
    record.predictedShard = shard.shardId;
    this.stage.add(record);
    this.armTick();
  }

  /** Waits until every record put before this call has its outcome. */
  async flush(): Promise<void> {
    const accepting = [...this.accepting];
    let drained = this.ledger.drained();
    this.tick();
    if (accepting.length > 0) {
      await Promise.all(accepting);
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
    this.budget.rejectAll(
      new ProducerClosedError('producer closed while the put waited for buffer room'),
    );
    for (const record of this.ledger.toArray()) {
      this.finishFailure(
        record,
        new ProducerClosedError('producer closed before the record was delivered', record.attempts),
      );
    }
    this.closed = true;
    this.collector.stop();
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
        const { accepted, outcome } = this.submit(record, undefined);
        outcome.catch((error: Error) => {
          if (onFailure) onFailure(error, record);
          else stream.destroy(error);
        });
        // The next write may come once this record has buffer room, not once it is delivered.
        void accepted.then(() => callback());
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
    this.stage.flushAll();
    this.collector.flush();
    if (this.stage.pending > 0 || this.collector.pending > 0) this.armTick();
  }

  // ---- sending ----

  /** Drops expired user records at the last moment before sending; re-aggregates the rest of a partly expired aggregate. */
  private admit(record: KinesisRecord): boolean {
    const now = this.clock();
    let expired = 0;
    for (const r of record.records) if (r.deadline <= now) expired++;
    if (expired === 0) return true;
    for (const r of record.records) {
      if (r.deadline <= now)
        this.finishFailure(r, new RecordExpiredError(this.options.recordTtl, r.attempts));
      else this.route(r);
    }
    return false;
  }

  private dispatch(batch: KinesisRecord[]): void {
    if (this.inFlight >= this.options.maxConnections) {
      this.waitingBatches.push(batch);
      return;
    }
    this.inFlight++;
    void this.send(batch).finally(() => {
      this.inFlight--;
      const next = this.waitingBatches.shift();
      if (next) this.dispatch(next);
    });
  }

  private async send(batch: KinesisRecord[]): Promise<void> {
    let entries = batch;
    const o = this.options;
    let response:
      | { out: PutRecordsCommandOutput; startedAt: number; durationMs: number }
      | undefined;
    try {
      response = await pRetry(
        async (attemptNumber) => {
          if (attemptNumber > 1) {
            await this.sleep(
              fullJitterDelay(attemptNumber - 1, o.retryMinTimeout, o.retryMaxTimeout),
            );
            entries = entries.filter((e) => this.admit(e));
            if (this.closed) entries = [];
          }
          if (entries.length === 0) return undefined;
          const startedAt = Date.now();
          try {
            const out = await this.client.send(
              new PutRecordsCommand({
                ...(o.streamName ? { StreamName: o.streamName } : {}),
                ...(o.streamArn ? { StreamARN: o.streamArn } : {}),
                Records: entries.map((e) => ({
                  PartitionKey: e.partitionKey,
                  ExplicitHashKey: e.explicitHashKey,
                  Data: e.data,
                })),
              }),
              { abortSignal: AbortSignal.timeout(o.requestTimeout) },
            );
            return { out, startedAt, durationMs: Date.now() - startedAt };
          } catch (error) {
            const code = errorCode(error);
            const attempt: Attempt = {
              startedAt,
              durationMs: Date.now() - startedAt,
              success: false,
              errorCode: code,
              errorMessage: messageOf(error),
            };
            for (const e of entries) for (const r of e.records) r.addAttempt(attempt);
            const cls = classifyError(code, error);
            this.metrics.emit({ type: 'putRecordsError', code, willRetry: cls !== 'fatal' });
            if (cls === 'throttle')
              for (const e of entries) this.metrics.emit({ type: 'throttle', shardId: e.shardId });
            this.logger.debug(
              { code, entries: entries.length, attempt: attemptNumber },
              'PutRecords failed',
            );
            throw error instanceof Error ? error : new Error(String(error));
          }
        },
        {
          retries: o.retries,
          minTimeout: 0,
          maxTimeout: 0,
          randomize: false,
          shouldRetry: ({ error }) =>
            !this.closed && classifyError(errorCode(error), error) !== 'fatal',
        },
      );
    } catch (error) {
      const code = errorCode(error);
      if (classifyError(code, error) === 'fatal') {
        this.logger.warn(
          { code, entries: entries.length },
          'PutRecords rejected; failing its records',
        );
        for (const e of entries)
          for (const r of e.records) {
            this.finishFailure(
              r,
              new KinesisRejectedError(code, messageOf(error), r.attempts, { cause: error }),
            );
          }
      } else {
        // Out of request retries but not of time: each record goes round again until its TTL.
        this.retryLater(entries.flatMap((e) => e.records));
      }
      return;
    }
    if (!response) return;
    this.handleResults(entries, response.out, response.startedAt, response.durationMs);
  }

  private handleResults(
    entries: KinesisRecord[],
    out: PutRecordsCommandOutput,
    startedAt: number,
    durationMs: number,
  ): void {
    let decisions;
    try {
      decisions = decideEntries(entries, out.Records ?? []);
    } catch (error) {
      this.logger.warn({ err: error }, 'malformed PutRecords response; retrying its records');
      this.retryLater(entries.flatMap((e) => e.records));
      return;
    }
    this.metrics.emit({
      type: 'putRecordsCall',
      entries: entries.length,
      bytes: entries.reduce((n, e) => n + e.bytes, 0),
      durationMs,
      failedEntries: out.FailedRecordCount ?? 0,
    });
    const success: Attempt = { startedAt, durationMs, success: true };
    const retry: PendingRecord[] = [];
    const misplaced: { record: KinesisRecord; shardId: string; sequenceNumber: string }[] = [];
    let staleMap = false;
    for (const d of decisions) {
      const e = d.record;
      if (d.kind === 'success' || (d.kind === 'wrong-shard' && !e.aggregated)) {
        if (d.kind === 'wrong-shard') staleMap = true;
        this.metrics.emit({
          type: 'kinesisRecordSent',
          shardId: d.shardId,
          userRecords: e.records.length,
          bytes: e.bytes,
        });
        this.succeedAll(e, d.shardId, d.sequenceNumber, success);
      } else if (d.kind === 'wrong-shard') {
        staleMap = true;
        misplaced.push(d);
      } else {
        const attempt: Attempt = {
          startedAt,
          durationMs,
          success: false,
          errorCode: d.code,
          errorMessage: d.message,
        };
        for (const r of e.records) r.addAttempt(attempt);
        if (d.class === 'throttle') this.metrics.emit({ type: 'throttle', shardId: e.shardId });
        if (d.class === 'fatal') {
          for (const r of e.records)
            this.finishFailure(r, new KinesisRejectedError(d.code, d.message, r.attempts));
        } else if (d.class === 'throttle' && this.options.failIfThrottled) {
          for (const r of e.records) this.finishFailure(r, new RecordThrottledError(r.attempts));
        } else {
          this.metrics.emit({ type: 'entryRetry', shardId: e.shardId, code: d.code });
          retry.push(...e.records);
        }
      }
    }
    if (staleMap) {
      void this.shardMap
        .refresh('record landed on an unexpected shard', startedAt)
        .then((ranges) => {
          this.limiter.retain(new Set(ranges.ranges.map((r) => r.shardId)));
          for (const m of misplaced)
            this.settleMisplaced(m, ranges.range(m.shardId), {
              startedAt,
              durationMs,
              success: true,
            });
        })
        .catch((error: unknown) => {
          this.logger.warn({ err: error }, 'shard map refresh failed');
          for (const m of misplaced)
            this.settleMisplaced(m, undefined, { startedAt, durationMs, success: true });
        });
    }
    if (retry.length > 0) this.retryLater(retry);
  }

  /**
   * An aggregate landed on another shard than predicted (the map was stale: resharding). If every
   * record in it hashes into the shard it landed on, a KCL reads it there: success. Otherwise the
   * KCL drops the whole aggregate, so all its records go round again, re-aggregated with the fresh
   * map. Either way each record is delivered once.
   */
  private settleMisplaced(
    m: { record: KinesisRecord; shardId: string; sequenceNumber: string },
    landed: { start: bigint; end: bigint } | undefined,
    success: Attempt,
  ): void {
    const e = m.record;
    if (landed && e.records.every((r) => landed.start <= r.hashKey && r.hashKey <= landed.end)) {
      this.metrics.emit({
        type: 'kinesisRecordSent',
        shardId: m.shardId,
        userRecords: e.records.length,
        bytes: e.bytes,
      });
      this.succeedAll(e, m.shardId, m.sequenceNumber, success);
      return;
    }
    const attempt: Attempt = {
      startedAt: success.startedAt,
      durationMs: success.durationMs,
      success: false,
      errorCode: 'WrongShard',
      errorMessage: `aggregate predicted for ${e.shardId} landed on ${m.shardId}, where some of its records do not belong`,
    };
    for (const r of e.records) r.addAttempt(attempt);
    this.retryLater(e.records);
  }

  /** Sends records round again after a jittered backoff, unless their TTL has passed. */
  private retryLater(records: PendingRecord[]): void {
    const live = records.filter((r) => !r.settled);
    if (live.length === 0) return;
    const attempts = Math.max(...live.map((r) => r.attempts.length));
    const delay = fullJitterDelay(
      attempts,
      this.options.retryMinTimeout,
      this.options.retryMaxTimeout,
    );
    this.later(() => {
      const now = this.clock();
      for (const r of live) {
        if (r.settled) continue;
        if (r.deadline <= now)
          this.finishFailure(r, new RecordExpiredError(this.options.recordTtl, r.attempts));
        else this.route(r);
      }
    }, delay);
  }

  /**
   * Resolves every user record of a Kinesis record that Kinesis took. The hot path of the
   * producer: counters and the buffer budget are updated once per Kinesis record, and records that
   * succeeded at their first try share one frozen attempts list.
   */
  private succeedAll(
    e: KinesisRecord,
    shardId: string,
    sequenceNumber: string,
    success: Attempt,
  ): void {
    const firstTry: readonly Attempt[] = Object.freeze([success]);
    const listening = this.metrics.listening;
    let released = 0;
    let releasedBytes = 0;
    for (let i = 0; i < e.records.length; i++) {
      const r = e.records[i]!;
      if (r.settled) continue;
      let attempts: readonly Attempt[];
      if (r.attempts.length === 0) attempts = firstTry;
      else {
        r.addAttempt(success);
        attempts = r.attempts;
      }
      const result: PutResult = e.aggregated
        ? { shardId, sequenceNumber, subSequenceNumber: i, aggregated: true, attempts }
        : { shardId, sequenceNumber, aggregated: false, attempts };
      released++;
      releasedBytes += r.bufferedBytes;
      if (listening)
        this.metrics.emit({
          type: 'recordSucceeded',
          shardId,
          bufferedMs: this.clock() - r.acceptedAt,
          attempts: attempts.length,
        });
      r.succeed(result);
      // After the outcome: a flush waiting on the ledger then resumes after the caller's own handler.
      this.ledger.remove(r);
    }
    if (!listening) this.metrics.recordsSucceeded(shardId, released);
    this.budget.releaseMany(released, releasedBytes);
  }

  private finishFailure(record: PendingRecord, error: Error & { code?: string }): void {
    if (record.settled) return;
    this.metrics.emit({ type: 'recordFailed', code: error.code ?? error.name });
    record.fail(error);
    this.release(record);
  }

  private release(record: PendingRecord): void {
    this.ledger.remove(record);
    this.budget.release(record.bufferedBytes);
  }

  private later(fn: () => void, ms: number): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || ms <= 0) return resolve();
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private streamLabel(): string {
    return this.options.streamName
      ? `stream ${this.options.streamName}`
      : `stream ${this.options.streamArn}`;
  }
}

const RESOLVED: Promise<void> = Promise.resolve();

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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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

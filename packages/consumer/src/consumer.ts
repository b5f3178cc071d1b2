import { EventEmitter } from 'node:events';
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { listAllShards } from '@shardline/common/list-shards';
import type { Logger } from 'pino';
import { ConfigError } from './errors';
import { createDestination, type DeadLetterDestination } from './dead-letter/destination';
import { GracefulHandoff } from './handoff/graceful-handoff';
import { isFinished, type Lease } from './leases/lease';
import { checkLeaseTableCompatibility, checkStreamLeases } from './leases/kcl-compat';
import { LeaseCleaner } from './leases/lease-cleanup';
import { LeaseCoordinator } from './leases/lease-coordinator';
import { LeaseConflict, LeaseTable } from './leases/lease-table';
import { consumerLogger } from './logger';
import type { ConsumerMetricEvent } from './metrics';
import {
  checkStreamSpec,
  resolveConsumerOptions,
  type ConsumerOptions,
  type ResolvedConsumerOptions,
  type StreamSpec,
} from './options';
import type { Checkpointer, RecordBatch, ShardProcessor } from './processor';
import { createFanoutRetrieval } from './retrieval/fanout/index';
import { createPollingRetrieval } from './retrieval/polling/index';
import type { Retrieval } from './retrieval/types';
import { leasesForNewShards, parentsDone } from './shard-sync';
import { ShardWorker, type ShardHealth } from './shard-worker';
import {
  multiStreamLeaseKey,
  parseStreamIdentifier,
  serializeStreamIdentifier,
  streamIdentifierOf,
} from './streams/stream-identifier';
import { shardView, streamIdOfLease, toMultiStreamLease } from './streams/stream-leases';
import { StreamRegistry, type ConsumedStream } from './streams/stream-registry';

/** Options of `stop`. */
export interface StopOptions {
  /** How long shards may take to finish their batch and checkpoint. Default 30,000 ms; then they are abandoned (their leases expire). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A stream a consumer of `streams` reads (`consumer.streams`). */
export interface ConsumerStream {
  streamName: string;
  streamArn: string;
  /** The KCL's serialized stream identifier, `account:stream:creationEpoch`: its leases' key prefix. */
  streamIdentifier: string;
}

/** The consumer's health, for readiness probes. */
export interface ConsumerHealth {
  workerId: string;
  running: boolean;
  /**
   * False when any held shard has stalled (and has not read since), has a `processRecords` call
   * running longer than `stallTimeoutMillis`, is stopped at a failing dead-letter destination, or
   * reports an error.
   */
  healthy: boolean;
  shards: ShardHealth[];
}

/** A batch as the async iterator yields it; the next iteration marks it processed. */
export interface IteratedBatch extends RecordBatch {
  checkpointer: Checkpointer;
}

/**
 * The KCL in TypeScript: a fleet of workers sharing a stream through a DynamoDB lease table,
 * each shard processed by one worker at a time, in order, from its checkpoint; children after
 * their parents; graceful hand-off when leases move.
 *
 * Events (also sent to `onMetric`): `leaseAcquired`, `leaseLost`, `leaseHandedOff`,
 * `leaseStealRequested`, `shardEnded`, `stall`, `slowProcessor`, `outOfRangeAggregate`,
 * `processorError`, `poisonRecord`, `readError`, `batch`, `checkpoint`, `retryBudgetSpent`,
 * `batchBisected`, `deadLettered`, `deadLetterFailed`; and `stopped` once
 * `stop()` has finished (e.g. after SIGTERM with `handleSignals`), when the application can close
 * the clients it passed in.
 */
export class Consumer extends EventEmitter {
  readonly workerId: string;
  private readonly options: ResolvedConsumerOptions;
  private readonly raw: ConsumerOptions;
  private readonly logger: Logger;
  private readonly table: LeaseTable;
  private readonly retrieval: Retrieval;
  private readonly workers = new Map<string, ShardWorker>();
  private readonly finished = new Set<string>();
  private coordinator: LeaseCoordinator | undefined;
  private readonly leaseCleanup: LeaseCleaner;
  /** Both sides of graceful hand-offs; the coordinator asks and waits, `handOff` answers. */
  private handoff: GracefulHandoff | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private processor: ShardProcessor | undefined;
  private running = false;
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private readonly stopController = new AbortController();
  private signalHandler: (() => void) | undefined;
  private streamName: string | undefined;
  private streamArn: string | undefined;
  /** Consumers of `streams`: the streams read now (undefined for a consumer of one stream). */
  private readonly streamRegistry: StreamRegistry | undefined;
  /** Streams given to `addStream` before `start()`, added by it. */
  private readonly pendingStreams: StreamSpec[] = [];
  /** A consumer of one stream: that stream, keyed by bare shard ids (set by `start()`). */
  private single: ConsumedStream | undefined;
  /** `deadLetter`'s destination, shared by every shard; closed by `stop()`. */
  private readonly deadLetter: DeadLetterDestination | undefined;
  private iteratorQueue: { batch: IteratedBatch; done: () => void }[] | undefined;
  private iteratorWaiter: (() => void) | undefined;

  constructor(options: ConsumerOptions) {
    super();
    this.options = resolveConsumerOptions(options, options.processor === undefined);
    this.raw = options;
    this.workerId = this.options.workerId;
    this.logger = consumerLogger(options.logger, this.workerId);
    this.table = new LeaseTable(options.dynamoDBClient, this.options.leaseTableName);
    this.leaseCleanup = new LeaseCleaner({
      table: this.table,
      ...this.options.leaseCleanup,
      logger: this.logger,
    });
    this.processor = options.processor;
    this.deadLetter = this.options.deadLetter
      ? createDestination(this.options.deadLetter, options.kinesisClient)
      : undefined;
    this.retrieval = this.newRetrieval();
    this.streamRegistry = this.options.streams ? new StreamRegistry() : undefined;
  }

  /** A retrieval of the configured mode, for the one stream or (with `streams`) for one of them. */
  private newRetrieval(stream: { streamName?: string } = {}): Retrieval {
    return this.options.retrieval.mode === 'fanout'
      ? createFanoutRetrieval({
          ...this.options.retrieval,
          onReadError: (shardId, code) => {
            this.metric({ type: 'readError', shardId, code, ...stream });
            if (this.options.retrieval.mode === 'fanout')
              this.options.retrieval.onReadError?.(shardId, code);
          },
        })
      : createPollingRetrieval({
          maxRecords: this.options.maxRecords,
          idleTimeBetweenReadsMillis: this.options.idleTimeBetweenReadsMillis,
          millisBehindLatestThresholdForReducedTps:
            this.options.millisBehindLatestThresholdForReducedTps,
          readAhead: this.options.readAhead,
          onReadError: (shardId, code) =>
            this.metric({ type: 'readError', shardId, code, ...stream }),
        });
  }

  /** Creates the lease table if needed, finds the shards, and starts taking leases. */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    const o = this.options;
    const specs = [...(o.streams ?? []), ...this.pendingStreams.splice(0)];
    if (!this.processor && (!this.streamRegistry || specs.some((spec) => !spec.processor)))
      throw new ConfigError('a processor is required (or iterate the consumer with for await)');
    let resolved: ConsumedStream[] = [];
    if (this.streamRegistry) {
      for (const spec of specs) {
        const stream = await this.resolveStream(spec);
        if (resolved.some((other) => other.id === stream.id))
          throw new ConfigError(
            `streams names stream ${stream.streamName} twice (by name and ARN)`,
          );
        resolved.push(stream);
      }
    } else {
      const summary = await this.raw.kinesisClient.send(
        new DescribeStreamSummaryCommand({
          ...(o.streamName ? { StreamName: o.streamName } : {}),
          ...(o.streamArn ? { StreamARN: o.streamArn } : {}),
        }),
      );
      const streamArn = summary.StreamDescriptionSummary!.StreamARN!;
      this.streamArn = streamArn;
      this.streamName = summary.StreamDescriptionSummary!.StreamName!;
      // Leases keyed by bare shard ids: the id (a multi-stream key prefix) stays empty.
      this.single = {
        id: '',
        streamName: this.streamName,
        streamArn,
        target: { streamName: this.streamName ?? o.streamName, streamArn: o.streamArn },
        initialPosition: o.initialPosition,
        processor: undefined,
        retrieval: this.retrieval,
        logger: this.logger,
        cleaner: this.leaseCleanup,
      };
      resolved = [this.single];
    }
    await this.table.ensure();
    // A table Java KCL workers use or left: refuse what cannot be shared before taking anything.
    await checkLeaseTableCompatibility({
      client: this.raw.dynamoDBClient,
      table: this.table,
      applicationName: o.applicationName,
      initialPosition: o.initialPosition,
      logger: this.logger,
      multiStream: this.streamRegistry !== undefined,
      ...(this.streamRegistry
        ? {
            initialPositionOf: (lease: Lease) =>
              resolved.find((stream) => stream.id === streamIdOfLease(lease))?.initialPosition,
          }
        : {}),
    });
    for (const stream of resolved) await this.startStream(stream);
    this.running = true;
    await this.syncShards();
    this.handoff = new GracefulHandoff({
      table: this.table,
      workerId: this.workerId,
      failoverTimeMillis: o.failoverTimeMillis,
      gracefulLeaseHandoffTimeoutMillis: o.gracefulLeaseHandoffTimeoutMillis,
      logger: this.logger,
      metric: (e) => this.metric(e),
    });
    this.coordinator = new LeaseCoordinator({
      handoff: this.handoff,
      table: this.table,
      workerId: this.workerId,
      failoverTimeMillis: o.failoverTimeMillis,
      gracefulLeaseHandoffTimeoutMillis: o.gracefulLeaseHandoffTimeoutMillis,
      maxLeasesForWorker: o.maxLeasesForWorker,
      maxLeasesToStealAtOneTime: o.maxLeasesToStealAtOneTime,
      leaseTakerIntervalMillis: o.leaseTakerIntervalMillis,
      maxClockSkewMillis: o.maxClockSkewMillis,
      logger: this.logger,
      metric: (e) => this.metric(e),
      ready: (lease, all) => this.ready(lease, all),
      onAcquired: (lease, wait) => this.startWorker(lease, wait),
      onHandoffComplete: (lease) => this.workers.get(lease.leaseKey)?.handoffComplete(lease),
      onHandoffRequested: (shardId) => void this.handOff(shardId),
      onLost: (shardId, mayStillHold) => this.workers.get(shardId)?.loseLease(mayStillHold),
      isDone: (shardId) => this.finished.has(shardId),
    });
    this.coordinator.start();
    this.syncTimer = setInterval(() => {
      this.syncing = this.syncing.then(() => this.syncShards());
    }, o.shardSyncIntervalMillis);
    if (this.raw.handleSignals) {
      this.signalHandler = () => {
        this.logger.info('signal received: stopping gracefully');
        void this.stop();
      };
      process.once('SIGTERM', this.signalHandler);
      process.once('SIGINT', this.signalHandler);
    }
    this.logger.info(
      this.streamRegistry
        ? {
            streams: this.streamRegistry.list().map((st) => st.streamName),
            table: o.leaseTableName,
          }
        : { stream: this.streamName, table: o.leaseTableName },
      'consumer started',
    );
  }

  /**
   * Resolves one stream of `streams`: its ARN and creation time (`DescribeStreamSummary`), hence
   * its KCL stream identifier (`account:stream:creationEpoch`, the account from the ARN, the epoch
   * in seconds), and what is kept for it: a retrieval, a logger naming it, its lease cleanup.
   */
  private async resolveStream(spec: StreamSpec): Promise<ConsumedStream> {
    const summary = (
      await this.raw.kinesisClient.send(
        new DescribeStreamSummaryCommand({
          ...(spec.streamName ? { StreamName: spec.streamName } : {}),
          ...(spec.streamArn ? { StreamARN: spec.streamArn } : {}),
        }),
      )
    ).StreamDescriptionSummary!;
    const streamArn = summary.StreamARN!;
    const streamName = summary.StreamName!;
    const id =
      spec.streamIdentifier ??
      serializeStreamIdentifier(
        streamIdentifierOf(streamArn, summary.StreamCreationTimestamp ?? new Date(0)),
      );
    if (parseStreamIdentifier(id)?.streamName !== streamName)
      throw new ConfigError(`streamIdentifier ${id} does not name stream ${streamName}`);
    const logger = this.logger.child({ stream: streamName });
    return {
      id,
      streamName,
      streamArn,
      target: spec.streamArn ? { streamArn: spec.streamArn } : { streamName },
      initialPosition: spec.initialPosition ?? this.options.initialPosition,
      processor: spec.processor,
      retrieval: this.newRetrieval({ streamName }),
      logger,
      cleaner: new LeaseCleaner({
        // Cleanup plans on the stream's leases keyed by shard id; deletes go to the stored keys.
        table: { delete: (view) => this.table.delete(toMultiStreamLease(view, id)) },
        ...this.options.leaseCleanup,
        logger,
      }),
    };
  }

  /** Starts a stream's retrieval (fan-out: registers its stream consumer) and, with `streams`, tracks it. */
  private async startStream(stream: ConsumedStream): Promise<void> {
    await stream.retrieval.start({
      kinesisClient: this.raw.kinesisClient,
      streamName: stream.streamName,
      streamArn: stream.streamArn,
      target: stream.target,
      logger: stream.logger,
      signal: this.stopController.signal,
    });
    this.streamRegistry?.add(stream);
  }

  /** The streams read now: the registry's, or the one stream. */
  private consumedStreams(): ConsumedStream[] {
    return this.streamRegistry?.list() ?? (this.single ? [this.single] : []);
  }

  /** The stream a lease belongs to, if this consumer reads it. */
  private streamOf(lease: Lease): ConsumedStream | undefined {
    return this.streamRegistry ? this.streamRegistry.get(streamIdOfLease(lease)) : this.single;
  }

  /**
   * Whether a lease may be taken: unfinished, its parents done, and (with `streams`) of a stream
   * this consumer reads. The KCL takes every lease of its table and reads one of a stream it no
   * longer tracks as an "orphan" from `orphanedStreamInitialPositionInStream` (LATEST); here a
   * stream not read (removed, or only other workers' list has it) is left to the workers that read it.
   */
  private ready(lease: Lease, all: ReadonlyMap<string, Lease>): boolean {
    if (isFinished(lease)) return false;
    if (!this.streamRegistry) return parentsDone(lease, all);
    const id = streamIdOfLease(lease);
    if (id === undefined || !this.streamRegistry.get(id)) return false;
    return parentsDone(lease, all, (parent) => multiStreamLeaseKey(id, parent));
  }

  /**
   * The streams this consumer reads now (consumers of `streams`, after `start()`), each with its
   * KCL stream identifier; empty for a consumer of one `streamName`/`streamArn`.
   */
  get streams(): ConsumerStream[] {
    return (this.streamRegistry?.list() ?? []).map((st) => ({
      streamName: st.streamName,
      streamArn: st.streamArn,
      streamIdentifier: st.id,
    }));
  }

  /**
   * Starts reading one more stream (consumers of `streams` only), as the KCL does when its
   * `MultiStreamTracker.streamConfigList()` gains one: resolves it, starts its retrieval
   * (fan-out: registers its stream consumer), creates leases for its shards, and balances at once;
   * from then on its leases count in this worker's even share. Before `start()`, the stream is
   * added by it. Rejects with a `ConfigError` for a stream already read, and with the
   * `KclCompatibilityError` `start()` would give (`KCL_AT_TIMESTAMP_UNKNOWN`) when the stream's
   * leases are at the KCL's `AT_TIMESTAMP` sentinel and its `initialPosition` is no
   * `{ timestamp }`: then nothing of it has started and the other streams go on.
   */
  async addStream(spec: StreamSpec): Promise<void> {
    if (!this.streamRegistry)
      throw new ConfigError(
        'addStream needs a consumer created with streams (a consumer of one streamName/streamArn keeps its lease table single-stream)',
      );
    checkStreamSpec(spec, 'addStream');
    if (!this.startPromise) {
      this.pendingStreams.push(spec);
      return;
    }
    await this.startPromise;
    if (!this.running) throw new ConfigError('addStream: the consumer is stopped');
    if (!spec.processor && !this.processor)
      throw new ConfigError('addStream: the stream needs a processor (the consumer has none)');
    const stream = await this.resolveStream(spec);
    if (this.streamRegistry.get(stream.id))
      throw new ConfigError(
        `addStream: stream ${stream.streamName} (${stream.id}) is already read`,
      );
    // The table was checked at start() for the streams read then; the leases this stream already
    // has (a Java application's, or an earlier reading's) meet its own settings only now. Refused
    // here, nothing of it has started, and the other streams go on.
    const listed = await this.table.list();
    checkStreamLeases({
      tableName: this.table.tableName,
      leases: listed.filter((lease) => streamIdOfLease(lease) === stream.id),
      initialPositionOf: () => stream.initialPosition,
      where: `addStream's initialPosition for stream ${stream.streamName}`,
    });
    await this.startStream(stream);
    // The listing just read serves the stream's first shard sync too (no second scan).
    const synced = this.syncing.then(async () => this.syncStream(stream, listed));
    this.syncing = synced;
    await synced;
    await this.coordinator?.takePass();
    stream.logger.info({ streamIdentifier: stream.id }, 'stream added');
  }

  /**
   * Stops reading a stream (consumers of `streams` only; by name, ARN or stream identifier): no
   * lease of it is taken any more, and each of its shards this worker holds ends as at `stop()`
   * (the batch in flight finishes, `shutdownRequested`, the final checkpoint, the lease released
   * so a worker still reading the stream takes it at once). Its leases stay in the table, as the
   * KCL's default `FormerStreamsLeasesDeletionStrategy.NoLeaseDeletionStrategy` keeps them: adding
   * the stream again continues from its checkpoints.
   */
  async removeStream(nameOrArn: string): Promise<void> {
    if (!this.streamRegistry)
      throw new ConfigError('removeStream needs a consumer created with streams');
    if (!this.startPromise) {
      const i = this.pendingStreams.findIndex(
        (spec) => spec.streamName === nameOrArn || spec.streamArn === nameOrArn,
      );
      if (i < 0) throw new ConfigError(`removeStream: start the consumer first (${nameOrArn})`);
      this.pendingStreams.splice(i, 1);
      return;
    }
    await this.startPromise;
    const stream = this.streamRegistry.find(nameOrArn);
    if (!stream)
      throw new ConfigError(`removeStream: stream ${nameOrArn} is not read by this consumer`);
    // Out of the registry first: from here no lease of it is ready, so none is taken.
    this.streamRegistry.delete(stream.id);
    const workers = [...this.workers.values()].filter(
      (w) => streamIdOfLease({ leaseKey: w.leaseKey } as Lease) === stream.id,
    );
    await Promise.all(
      workers.map(async (worker) => {
        await this.stopWorker(worker);
        this.coordinator?.drop(worker.leaseKey);
        if (this.workers.get(worker.leaseKey) === worker) this.workers.delete(worker.leaseKey);
        this.finished.delete(worker.leaseKey);
      }),
    );
    await stream.retrieval.stop().catch(() => {});
    stream.logger.info(
      { shards: workers.length },
      'stream removed: its shards stopped, their leases released and kept in the table',
    );
  }

  /**
   * One shard's graceful stop (`stop()`, `removeStream`): its batch, `shutdownRequested`, the
   * final checkpoint, then the lease released so another worker takes it at once.
   */
  private async stopWorker(worker: ShardWorker): Promise<void> {
    await worker.shutdown('stop');
    const lease = this.coordinator?.heldLeases().find((l) => l.leaseKey === worker.leaseKey);
    if (
      lease &&
      worker.lifecycle.state === 'stopped' &&
      !this.finished.has(worker.leaseKey) &&
      worker.status().leaseHeld
    ) {
      // No renewal of ours may race the release.
      this.coordinator?.drop(worker.leaseKey);
      await this.table.release(lease, this.workerId).catch((error: unknown) => {
        if (!(error instanceof LeaseConflict))
          this.logger.warn({ shardId: worker.leaseKey, err: error }, 'releasing a lease failed');
      });
    }
  }

  /**
   * Stops gracefully: no new leases; each shard finishes its batch in flight, the processor's
   * `shutdownRequested` runs, what was delivered is checkpointed, and the lease is released so
   * another worker takes it at once. Afterwards no timer, socket or listener of ours is left.
   */
  stop(options: StopOptions = {}): Promise<void> {
    this.stopPromise ??= this.doStop(options);
    return this.stopPromise;
  }

  private async doStop(options: StopOptions): Promise<void> {
    await this.startPromise?.catch(() => {});
    this.running = false;
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.signalHandler) {
      process.removeListener('SIGTERM', this.signalHandler);
      process.removeListener('SIGINT', this.signalHandler);
    }
    await this.coordinator?.stop();
    await this.syncing;
    const all = Promise.all([...this.workers.values()].map((worker) => this.stopWorker(worker)));
    const waits: Promise<unknown>[] = [
      all,
      new Promise((resolve) => setTimeout(resolve, options.timeoutMs ?? 30_000).unref()),
    ];
    if (options.signal)
      waits.push(
        new Promise((resolve) =>
          options.signal!.addEventListener('abort', resolve, { once: true }),
        ),
      );
    await Promise.race(waits);
    // The released leases are taken at once by workers that would otherwise wait for their slot.
    await this.coordinator?.wakeFleet().catch(() => {});
    for (const worker of this.workers.values()) worker.loseLease(); // anything still running stops now
    this.stopController.abort(new Error('consumer stopped'));
    await this.retrieval.stop().catch(() => {});
    for (const stream of this.streamRegistry?.list() ?? [])
      await stream.retrieval.stop().catch(() => {});
    await this.deadLetter?.close();
    this.iteratorWaiter?.();
    this.logger.info('consumer stopped');
    // With handleSignals, this is how an application learns it may close its own clients.
    this.emit('stopped');
  }

  /**
   * Per-shard health: lease held, last read, lag, errors, stalls, slow `processRecords` calls and
   * out-of-range aggregates.
   */
  health(): ConsumerHealth {
    const shards = [...this.workers.values()].map((w) => w.status());
    return {
      workerId: this.workerId,
      running: this.running,
      healthy:
        this.running &&
        shards.every(
          (s) =>
            s.lastError === undefined &&
            !s.deadLetterFailing &&
            !s.slowProcessor &&
            (s.state !== 'processing' ||
              s.stalls === 0 ||
              (s.lastReadAt ?? 0) > Date.now() - this.options.stallTimeoutMillis),
        ),
      shards,
    };
  }

  /**
   * Shard ids this worker is processing now; for a consumer of `streams`, their lease keys
   * (`account:stream:creationEpoch:shardId`: shard ids repeat across streams).
   */
  ownedShards(): string[] {
    return [...this.workers.values()]
      .filter((w) =>
        ['initializing', 'processing', 'waiting-for-handoff'].includes(w.lifecycle.state),
      )
      .map((w) => w.leaseKey);
  }

  /**
   * The consumer as an async iterator: each batch of each owned shard, one at a time; asking for
   * the next batch marks the previous one processed (and, with autoCheckpoint, checkpointed).
   * Breaking out of the loop stops the consumer.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<IteratedBatch> {
    if (this.processor)
      throw new ConfigError(
        'this consumer has a processor; iterate a consumer created without one',
      );
    const queue: { batch: IteratedBatch; done: () => void }[] = [];
    this.iteratorQueue = queue;
    this.processor = {
      processRecords: (batch, checkpointer) =>
        new Promise<void>((done) => {
          queue.push({ batch: { ...batch, checkpointer }, done });
          this.iteratorWaiter?.();
        }),
    };
    await this.start();
    let previous: (() => void) | undefined;
    try {
      for (;;) {
        previous?.();
        previous = undefined;
        while (queue.length === 0) {
          if (!this.running && this.stopPromise) return;
          await new Promise<void>((resolve) => (this.iteratorWaiter = resolve));
          this.iteratorWaiter = undefined;
        }
        const next = queue.shift()!;
        previous = next.done;
        yield next.batch;
      }
    } finally {
      previous?.();
      for (const item of queue.splice(0)) item.done();
      await this.stop();
    }
  }

  private metric(event: ConsumerMetricEvent): void {
    try {
      this.raw.onMetric?.(event);
    } catch {
      // a faulty metrics hook must not break processing
    }
    if (this.listenerCount(event.type) > 0) this.emit(event.type, event);
  }

  private startWorker(lease: Lease, waitForHandoff: boolean): void {
    const stream = this.streamOf(lease);
    if (!stream) {
      // Its stream was removed while the take was in flight: give the lease back.
      this.coordinator?.drop(lease.leaseKey);
      void this.table.release(lease, this.workerId).catch(() => {});
      return;
    }
    const multi = this.streamRegistry !== undefined;
    const previous = this.workers.get(lease.leaseKey);
    if (previous && previous.lifecycle.state !== 'stopped') previous.loseLease();
    const worker = new ShardWorker(
      {
        lease,
        workerId: this.workerId,
        table: this.table,
        retrieval: stream.retrieval,
        processor: stream.processor ?? this.processor!,
        logger: stream.logger,
        initialPosition: stream.initialPosition,
        autoCheckpoint: this.options.autoCheckpoint,
        checkpointIntervalMillis: this.options.checkpointIntervalMillis,
        checkpointMaxRecords: this.options.checkpointMaxRecords,
        stallTimeoutMillis: this.options.stallTimeoutMillis,
        dropOutOfRangeAggregates: this.options.dropOutOfRangeAggregates,
        onProcessorError: this.raw.onProcessorError,
        onPoisonRecord: this.raw.onPoisonRecord,
        maxConcurrencyPerShard: this.options.maxConcurrencyPerShard,
        deadLetter: this.deadLetter,
        retryBudget: this.options.retryBudget,
        bisectBatchOnError: this.options.bisectBatchOnError,
        deadLetterSource: {
          streamName: stream.streamName,
          applicationName: this.options.applicationName,
          streamArn: stream.streamArn,
        },
        ...(multi
          ? { stream: { streamName: stream.streamName, streamArn: stream.streamArn } }
          : {}),
        metric: multi
          ? (e) => this.metric({ ...e, streamName: stream.streamName })
          : (e) => this.metric(e),
        onShardEnded: (shardId) => {
          this.finished.add(shardId);
          this.coordinator?.drop(shardId);
          // Children may be ready now: sync and balance without waiting for the timers.
          this.syncing = this.syncing
            .then(() => this.syncShards())
            .then(() => this.coordinator?.takePass());
        },
      },
      waitForHandoff,
    );
    this.workers.set(lease.leaseKey, worker);
    void worker.done.then(() => {
      if (this.workers.get(lease.leaseKey) === worker && !this.running) return;
      if (
        worker.lifecycle.state === 'stopped' &&
        this.workers.get(lease.leaseKey) === worker &&
        !worker.status().leaseHeld
      ) {
        this.coordinator?.drop(lease.leaseKey);
      }
    });
  }

  /** Another worker asked for this shard: finish, and hand over with the final checkpoint. */
  private async handOff(shardId: string): Promise<void> {
    await this.handoff?.handOver(shardId, this.workers.get(shardId));
    // We renewed the lease through the hand-off (so it did not expire); it is the new owner's now.
    this.coordinator?.drop(shardId);
  }

  private async syncShards(): Promise<void> {
    if (!this.running) return;
    let leases: Lease[];
    try {
      leases = await this.leases();
    } catch (error) {
      this.logger.warn({ err: error }, 'shard sync failed; will retry');
      return;
    }
    // Per stream, as the KCL runs a ShardSyncTaskManager per StreamConfig.
    for (const stream of this.consumedStreams()) await this.syncStream(stream, leases);
  }

  /**
   * The taker's last scan when it is fresh (no read of its own), else an eventually consistent
   * one: a lease created meanwhile costs a create that finds it (creates are conditional), and
   * cleanup deletes are conditional on what was read. Fresh: no older than the taker's own
   * settled period, which grows with the fleet (shared scans).
   */
  private async leases(): Promise<Lease[]> {
    const recent = this.coordinator?.lastListing();
    return recent && Date.now() - recent.at < this.coordinator!.listingMaxAgeMillis()
      ? recent.leases
      : this.table.list({ consistent: false });
  }

  /**
   * One stream's shard sync: leases for its new shards, then its lease cleanup. With `streams`
   * it works on the stream's leases keyed by shard id (`shardView`) and stores new ones in the
   * KCL's multi-stream form.
   */
  private async syncStream(stream: ConsumedStream, all: readonly Lease[]): Promise<void> {
    try {
      const shards = await listAllShards(this.raw.kinesisClient, stream.target);
      const multi = this.streamRegistry !== undefined;
      const leases = multi
        ? all.filter((l) => streamIdOfLease(l) === stream.id).map(shardView)
        : all;
      const existing = new Set(leases.map((l) => l.leaseKey));
      for (const fresh of leasesForNewShards(shards, existing, stream.initialPosition)) {
        const lease = multi ? toMultiStreamLease(fresh, stream.id) : fresh;
        if (await this.table.create(lease))
          stream.logger.info(
            { shardId: fresh.leaseKey, checkpoint: lease.checkpoint },
            'lease created for new shard',
          );
      }
      await stream.cleaner.run(leases, shards);
    } catch (error) {
      stream.logger.warn({ err: error }, 'shard sync failed; will retry');
    }
  }
}

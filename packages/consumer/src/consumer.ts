import { EventEmitter } from 'node:events';
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { listAllShards } from '@shardline/common/list-shards';
import type { Logger } from 'pino';
import { ConfigError } from './errors';
import { createDestination, type DeadLetterDestination } from './dead-letter/destination';
import { GracefulHandoff } from './handoff/graceful-handoff';
import { isFinished, type Lease } from './leases/lease';
import { checkLeaseTableCompatibility } from './leases/kcl-compat';
import { LeaseCleaner } from './leases/lease-cleanup';
import { LeaseCoordinator } from './leases/lease-coordinator';
import { LeaseConflict, LeaseTable } from './leases/lease-table';
import { consumerLogger } from './logger';
import type { ConsumerMetricEvent } from './metrics';
import {
  resolveConsumerOptions,
  type ConsumerOptions,
  type ResolvedConsumerOptions,
} from './options';
import type { Checkpointer, RecordBatch, ShardProcessor } from './processor';
import { createFanoutRetrieval } from './retrieval/fanout/index';
import { createPollingRetrieval } from './retrieval/polling/index';
import type { Retrieval } from './retrieval/types';
import { leasesForNewShards, parentsDone } from './shard-sync';
import { ShardWorker, type ShardHealth } from './shard-worker';

/** Options of `stop`. */
export interface StopOptions {
  /** How long shards may take to finish their batch and checkpoint. Default 30,000 ms; then they are abandoned (their leases expire). */
  timeoutMs?: number;
  signal?: AbortSignal;
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
    this.retrieval =
      this.options.retrieval.mode === 'fanout'
        ? createFanoutRetrieval({
            ...this.options.retrieval,
            onReadError: (shardId, code) => {
              this.metric({ type: 'readError', shardId, code });
              if (this.options.retrieval.mode === 'fanout')
                this.options.retrieval.onReadError?.(shardId, code);
            },
          })
        : createPollingRetrieval({
            maxRecords: this.options.maxRecords,
            idleTimeBetweenReadsMillis: this.options.idleTimeBetweenReadsMillis,
            onReadError: (shardId, code) => this.metric({ type: 'readError', shardId, code }),
          });
  }

  /** Creates the lease table if needed, finds the shards, and starts taking leases. */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    if (!this.processor)
      throw new ConfigError('a processor is required (or iterate the consumer with for await)');
    const o = this.options;
    const summary = await this.raw.kinesisClient.send(
      new DescribeStreamSummaryCommand({
        ...(o.streamName ? { StreamName: o.streamName } : {}),
        ...(o.streamArn ? { StreamARN: o.streamArn } : {}),
      }),
    );
    const streamArn = summary.StreamDescriptionSummary!.StreamARN!;
    this.streamArn = streamArn;
    this.streamName = summary.StreamDescriptionSummary!.StreamName!;
    await this.table.ensure();
    // A table Java KCL workers use or left: refuse what cannot be shared before taking anything.
    await checkLeaseTableCompatibility({
      client: this.raw.dynamoDBClient,
      table: this.table,
      applicationName: o.applicationName,
      initialPosition: o.initialPosition,
      logger: this.logger,
    });
    await this.retrieval.start({
      kinesisClient: this.raw.kinesisClient,
      streamName: this.streamName,
      streamArn,
      logger: this.logger,
      signal: this.stopController.signal,
    });
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
      logger: this.logger,
      metric: (e) => this.metric(e),
      ready: (lease, all) => !isFinished(lease) && parentsDone(lease, all),
      onAcquired: (lease, wait) => this.startWorker(lease, wait),
      onHandoffComplete: (lease) => this.workers.get(lease.leaseKey)?.handoffComplete(lease),
      onHandoffRequested: (shardId) => void this.handOff(shardId),
      onLost: (shardId) => this.workers.get(shardId)?.loseLease(),
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
    this.logger.info({ stream: this.streamName, table: o.leaseTableName }, 'consumer started');
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
    const all = Promise.all(
      [...this.workers.values()].map(async (worker) => {
        await worker.shutdown('stop');
        const lease = this.coordinator?.heldLeases().find((l) => l.leaseKey === worker.shardId);
        if (
          lease &&
          worker.lifecycle.state === 'stopped' &&
          !this.finished.has(worker.shardId) &&
          worker.status().leaseHeld
        ) {
          await this.table.release(lease, this.workerId).catch((error: unknown) => {
            if (!(error instanceof LeaseConflict))
              this.logger.warn({ shardId: worker.shardId, err: error }, 'releasing a lease failed');
          });
        }
      }),
    );
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
    for (const worker of this.workers.values()) worker.loseLease(); // anything still running stops now
    this.stopController.abort(new Error('consumer stopped'));
    await this.retrieval.stop().catch(() => {});
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

  /** Shard ids this worker is processing now. */
  ownedShards(): string[] {
    return [...this.workers.values()]
      .filter((w) =>
        ['initializing', 'processing', 'waiting-for-handoff'].includes(w.lifecycle.state),
      )
      .map((w) => w.shardId);
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
    const previous = this.workers.get(lease.leaseKey);
    if (previous && previous.lifecycle.state !== 'stopped') previous.loseLease();
    const worker = new ShardWorker(
      {
        lease,
        workerId: this.workerId,
        table: this.table,
        retrieval: this.retrieval,
        processor: this.processor!,
        logger: this.logger,
        initialPosition: this.options.initialPosition,
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
          streamName: this.streamName ?? this.options.streamName ?? '',
          applicationName: this.options.applicationName,
          ...(this.streamArn ? { streamArn: this.streamArn } : {}),
        },
        metric: (e) => this.metric(e),
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
    try {
      const o = this.options;
      const shards = await listAllShards(this.raw.kinesisClient, {
        streamName: this.streamName ?? o.streamName,
        streamArn: o.streamArn,
      });
      // The taker's last scan when it is fresh (no read of its own), else an eventually
      // consistent one: a lease created meanwhile costs a create that finds it (creates are
      // conditional), and cleanup deletes are conditional on what was read.
      const recent = this.coordinator?.lastListing();
      const leases =
        recent && Date.now() - recent.at < o.failoverTimeMillis
          ? recent.leases
          : await this.table.list({ consistent: false });
      const existing = new Set(leases.map((l) => l.leaseKey));
      for (const lease of leasesForNewShards(shards, existing, o.initialPosition)) {
        if (await this.table.create(lease))
          this.logger.info(
            { shardId: lease.leaseKey, checkpoint: lease.checkpoint },
            'lease created for new shard',
          );
      }
      await this.leaseCleanup.run(leases, shards);
    } catch (error) {
      this.logger.warn({ err: error }, 'shard sync failed; will retry');
    }
  }
}

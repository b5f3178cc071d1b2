import type { Logger } from 'pino';
import { ShardCheckpointer } from './checkpoint/checkpointer';
import { isSentinel, type ExtendedSequence } from './checkpoint/sequence';
import { LeaseLostError, type PoisonRecordError } from './errors';
import type { Lease } from './leases/lease';
import type { LeaseTable } from './leases/lease-table';
import type { ConsumerMetricEvent } from './metrics';
import type { ConsumerOptions, InitialPosition, ProcessorErrorAction } from './options';
import type { RecordBatch, ShardProcessor, ShutdownReason } from './processor';
import { abortableSleep, errorName } from './retrieval/backoff';
import type { Retrieval, ShardReader, StartPosition } from './retrieval/types';
import { decodeRecords, type OutOfRangeAggregate } from './record-decoder';
import { ShardLifecycle, type ShardState } from './shard-lifecycle';

export interface ShardWorkerDeps {
  lease: Lease;
  workerId: string;
  table: LeaseTable;
  retrieval: Retrieval;
  processor: ShardProcessor;
  logger: Logger;
  initialPosition: InitialPosition;
  autoCheckpoint: boolean;
  stallTimeoutMillis: number;
  dropOutOfRangeAggregates: boolean;
  onProcessorError: ConsumerOptions['onProcessorError'];
  onPoisonRecord: ConsumerOptions['onPoisonRecord'];
  metric: (event: ConsumerMetricEvent) => void;
  /** The shard ended and SHARD_END is checkpointed: look for its children. */
  onShardEnded: (shardId: string, children: string[]) => void;
}

/** Health of one shard, for readiness probes. */
export interface ShardHealth {
  shardId: string;
  state: ShardState;
  leaseHeld: boolean;
  /** Last time a read returned (records or not). */
  lastReadAt: number | undefined;
  millisBehindLatest: number | undefined;
  recordsProcessed: number;
  /** Times the shard's reader returned nothing for `stallTimeoutMillis` and was restarted. */
  stalls: number;
  /**
   * True while a `processRecords` call has been running longer than `stallTimeoutMillis`: the
   * application is slow (or stuck), not the reader, and nothing is restarted.
   */
  slowProcessor: boolean;
  /** `processRecords` calls that ran longer than `stallTimeoutMillis` (`slowProcessor` events). */
  slowBatches: number;
  /**
   * Aggregates read on this shard holding user records that hash outside its range (see
   * `dropOutOfRangeAggregates`).
   */
  outOfRangeAggregates: number;
  /** User records in those aggregates: delivered, or dropped with `dropOutOfRangeAggregates`. */
  outOfRangeRecords: number;
  lastError: string | undefined;
}

/** At most one out-of-range warning per shard in this interval; the counters say the rest. */
const OUT_OF_RANGE_WARNING_INTERVAL_MS = 60_000;

/** A `processRecords` call in flight. */
interface ProcessorCall {
  since: number;
  records: number;
  /** A `slowProcessor` event was sent for it. */
  reported: boolean;
}

class StallError extends Error {}
class StopReading extends Error {}

/**
 * One shard's processing on this worker: read, decode, hand to the processor, checkpoint, in
 * order, until the shard ends, the lease goes, or the worker stops or hands the shard over.
 */
export class ShardWorker {
  readonly shardId: string;
  readonly lifecycle: ShardLifecycle;
  readonly checkpointer: ShardCheckpointer;
  readonly done: Promise<void>;
  private readonly stopController = new AbortController();
  private readController: AbortController | undefined;
  private shutdownReason: ShutdownReason | undefined;
  private leaseLost = false;
  private reader: ShardReader | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private health: Omit<ShardHealth, 'slowProcessor'>;
  /** When the pending `reader.next()` began; undefined while no read is pending. */
  private readingSince: number | undefined;
  /** The `processRecords` call in flight, if any. */
  private processing: ProcessorCall | undefined;
  private outOfRangeWarnedAt: number | undefined;
  private startDone!: () => void;
  private readonly started: Promise<void>;

  constructor(
    private readonly d: ShardWorkerDeps,
    waitForHandoff: boolean,
  ) {
    this.shardId = d.lease.leaseKey;
    const initial: ExtendedSequence | string = isSentinel(d.lease.checkpoint)
      ? d.lease.checkpoint
      : {
          sequenceNumber: d.lease.checkpoint,
          subSequenceNumber: d.lease.checkpointSubSequenceNumber,
        };
    this.checkpointer = new ShardCheckpointer(this.shardId, d.table, d.workerId, initial, () =>
      d.metric({ type: 'checkpoint', shardId: this.shardId }),
    );
    this.lifecycle = new ShardLifecycle(
      waitForHandoff ? 'waiting-for-handoff' : 'initializing',
      (from, to) => d.logger.debug({ shardId: this.shardId, from, to }, 'shard state'),
    );
    this.health = {
      shardId: this.shardId,
      state: this.lifecycle.state,
      leaseHeld: true,
      lastReadAt: undefined,
      millisBehindLatest: undefined,
      recordsProcessed: 0,
      stalls: 0,
      slowBatches: 0,
      outOfRangeAggregates: 0,
      outOfRangeRecords: 0,
      lastError: undefined,
    };
    this.started = new Promise((resolve) => (this.startDone = resolve));
    if (!waitForHandoff) this.startDone();
    this.done = this.run().catch((error: unknown) => {
      d.logger.error({ shardId: this.shardId, err: error }, 'shard worker failed');
    });
  }

  /** The previous owner finished its hand-off: start reading. */
  handoffComplete(lease: Lease): void {
    this.d.lease = lease;
    this.checkpointer.reset(
      isSentinel(lease.checkpoint)
        ? lease.checkpoint
        : {
            sequenceNumber: lease.checkpoint,
            subSequenceNumber: lease.checkpointSubSequenceNumber,
          },
    );
    if (this.lifecycle.to('initializing')) this.startDone();
  }

  /** The lease is gone: stop at once, tell the processor, never checkpoint again. */
  loseLease(): void {
    if (this.leaseLost) return;
    this.leaseLost = true;
    this.checkpointer.disabled = true;
    this.health.leaseHeld = false;
    this.stopController.abort(new LeaseLostError(this.shardId));
    this.readController?.abort(new LeaseLostError(this.shardId));
    this.startDone();
  }

  /** Finish the batch in flight, let the processor checkpoint, checkpoint what was delivered, stop. */
  shutdown(reason: ShutdownReason): Promise<void> {
    this.shutdownReason ??= reason;
    if (reason === 'handoff') this.checkpointer.handingOff = true;
    this.stopController.abort(new StopReading());
    this.readController?.abort(new StopReading());
    this.startDone();
    return this.done;
  }

  status(): ShardHealth {
    const p = this.processing;
    return {
      ...this.health,
      state: this.lifecycle.state,
      slowProcessor: p !== undefined && Date.now() - p.since > this.d.stallTimeoutMillis,
    };
  }

  private async run(): Promise<void> {
    await this.started;
    const { d } = this;
    try {
      if (this.stopController.signal.aborted) return;
      const position = this.startPosition();
      if (!position) {
        // Already at SHARD_END: nothing to read; the coordinator drops the lease.
        this.lifecycle.to('processing');
        this.lifecycle.to('shard-ended');
        return;
      }
      await d.processor.initialize?.({
        shardId: this.shardId,
        checkpoint: this.checkpointer.lastCheckpoint,
      });
      if (!this.lifecycle.to('processing')) return;
      this.startWatchdog();
      this.reader = d.retrieval.createReader(this.shardId, position);
      let after = position.type === 'AT_SEQUENCE_NUMBER' ? this.resumePoint() : undefined;
      const hashRange =
        d.lease.startingHashKey && d.lease.endingHashKey
          ? { start: BigInt(d.lease.startingHashKey), end: BigInt(d.lease.endingHashKey) }
          : undefined;

      while (!this.stopController.signal.aborted) {
        this.readController = new AbortController();
        const onStop = () => this.readController?.abort(this.stopController.signal.reason);
        this.stopController.signal.addEventListener('abort', onStop, { once: true });
        let batch;
        try {
          this.readingSince = Date.now();
          batch = await this.reader.next(this.readController.signal);
        } catch (error) {
          if (this.stopController.signal.aborted) break;
          if (this.readController.signal.reason instanceof StallError) {
            await this.restartReader();
            continue;
          }
          const code = errorName(error);
          this.health.lastError = `${code}: ${(error as Error).message}`;
          d.metric({ type: 'readError', shardId: this.shardId, code });
          d.logger.error(
            { shardId: this.shardId, code },
            'reading the shard failed; restarting its reader from the last position',
          );
          await abortableSleep(1000, this.stopController.signal).catch(() => {});
          await this.restartReader();
          continue;
        } finally {
          this.readingSince = undefined;
          this.stopController.signal.removeEventListener('abort', onStop);
        }
        this.health.lastReadAt = Date.now();
        this.health.millisBehindLatest = batch.millisBehindLatest;

        const decoded = decodeRecords(batch.records, {
          shardId: this.shardId,
          ...(after ? { after } : {}),
          ...(hashRange ? { hashRange } : {}),
          dropOutOfRange: d.dropOutOfRangeAggregates,
        });
        if (batch.records.length > 0) after = undefined;
        for (const a of decoded.outOfRange) this.outOfRangeAggregate(a);
        for (const p of decoded.poisoned) await this.poison(p.error, p.record);
        if (decoded.records.length > 0) {
          const userBatch: RecordBatch = { shardId: this.shardId, records: decoded.records };
          if (batch.millisBehindLatest !== undefined)
            userBatch.millisBehindLatest = batch.millisBehindLatest;
          const processed = await this.process(userBatch);
          if (!processed) break; // lease lost while retrying
          const last = decoded.records[decoded.records.length - 1]!;
          this.checkpointer.lastDelivered = {
            sequenceNumber: last.sequenceNumber,
            subSequenceNumber: last.subSequenceNumber,
          };
          this.health.recordsProcessed += decoded.records.length;
          d.metric({
            type: 'batch',
            shardId: this.shardId,
            records: decoded.records.length,
            ...(batch.millisBehindLatest !== undefined
              ? { millisBehindLatest: batch.millisBehindLatest }
              : {}),
          });
          if (d.autoCheckpoint && !this.leaseLost)
            await this.checkpointer
              .checkpoint()
              .catch((error: unknown) => this.onCheckpointError(error));
        }
        if (batch.shardEnded) {
          await this.endShard((batch.childShards ?? []).map((c) => c.shardId));
          return;
        }
      }
      await this.finish();
    } catch (error) {
      if (error instanceof LeaseLostError || this.leaseLost) {
        await this.finish();
        return;
      }
      throw error;
    } finally {
      this.stopWatchdog();
      await this.reader?.close().catch(() => {});
    }
  }

  /** Lease lost or shutdown: the processor hears about it once. */
  private async finish(): Promise<void> {
    const d = this.d;
    if (this.leaseLost) {
      this.lifecycle.to('lease-lost');
      d.metric({ type: 'leaseLost', shardId: this.shardId });
      await Promise.resolve(d.processor.leaseLost?.({ shardId: this.shardId })).catch(
        (error: unknown) => d.logger.warn({ shardId: this.shardId, err: error }, 'leaseLost threw'),
      );
      this.lifecycle.to('stopped');
      return;
    }
    const reason = this.shutdownReason ?? 'stop';
    this.lifecycle.to('shutting-down');
    try {
      await d.processor.shutdownRequested?.({ shardId: this.shardId, reason }, this.checkpointer);
      // Graceful: whatever was delivered is checkpointed, so the next owner starts right after it
      // (with autoCheckpoint off, the processor's own checkpoints are the contract).
      if (d.autoCheckpoint && this.checkpointer.behind) await this.checkpointer.checkpoint();
    } catch (error) {
      this.onCheckpointError(error);
    }
    this.lifecycle.to('stopped');
  }

  private async endShard(children: string[]): Promise<void> {
    const d = this.d;
    this.lifecycle.to('shard-ended');
    this.checkpointer.atShardEnd = true;
    await d.table
      .setChildren(this.shardId, children)
      .catch((error: unknown) =>
        d.logger.warn({ shardId: this.shardId, err: error }, 'recording child shards failed'),
      );
    try {
      await d.processor.shardEnded?.(
        { shardId: this.shardId, childShardIds: children },
        this.checkpointer,
      );
      if (this.checkpointer.lastCheckpoint !== 'SHARD_END') {
        if (d.processor.shardEnded)
          d.logger.warn(
            { shardId: this.shardId },
            'shardEnded did not checkpoint; writing SHARD_END so child shards can start',
          );
        await this.checkpointer.checkpoint();
      }
      d.metric({ type: 'shardEnded', shardId: this.shardId });
      d.onShardEnded(this.shardId, children);
    } catch (error) {
      this.onCheckpointError(error);
    }
    this.lifecycle.to('stopped');
  }

  /** Runs processRecords until it succeeds, the processor policy says skip, or the lease goes. */
  private async process(batch: RecordBatch): Promise<boolean> {
    const d = this.d;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.callProcessRecords(batch);
        this.health.lastError = undefined;
        return true;
      } catch (error) {
        if (this.leaseLost) return false;
        this.health.lastError = `processor: ${(error as Error)?.message ?? String(error)}`;
        d.metric({ type: 'processorError', shardId: this.shardId, attempt });
        d.logger.error({ shardId: this.shardId, attempt, err: error }, 'processRecords threw');
        let action: ProcessorErrorAction = 'retry';
        if (d.onProcessorError) action = await d.onProcessorError(error, batch, attempt);
        if (action === 'skip') return true;
        await abortableSleep(
          Math.min(30_000, 200 * 2 ** Math.min(attempt, 8)),
          this.stopController.signal,
        ).catch(() => {});
        if (this.stopController.signal.aborted && !this.leaseLost && this.shutdownReason)
          return false;
        if (this.leaseLost) return false;
      }
    }
  }

  /** One `processRecords` call, timed for the watchdog (a retry's backoff is not part of it). */
  private async callProcessRecords(batch: RecordBatch): Promise<void> {
    this.processing = { since: Date.now(), records: batch.records.length, reported: false };
    try {
      await this.d.processor.processRecords(batch, this.checkpointer);
    } finally {
      this.processorReturned();
    }
  }

  /** Reports a slow call the watchdog had no tick to see, so each slow call is one event. */
  private processorReturned(): void {
    const p = this.processing;
    this.processing = undefined;
    if (!p) return;
    const ranForMs = Date.now() - p.since;
    if (!p.reported && ranForMs > this.d.stallTimeoutMillis) this.reportSlowProcessor(p, ranForMs);
    if (p.reported)
      this.d.logger.info({ shardId: this.shardId, ranForMs }, 'slow processRecords call returned');
  }

  private reportSlowProcessor(p: ProcessorCall, runningForMs: number): void {
    p.reported = true;
    this.health.slowBatches++;
    this.d.metric({
      type: 'slowProcessor',
      shardId: this.shardId,
      runningForMs,
      records: p.records,
    });
    this.d.logger.warn(
      {
        shardId: this.shardId,
        runningForMs,
        records: p.records,
        stallTimeoutMillis: this.d.stallTimeoutMillis,
      },
      'processRecords is running longer than stallTimeoutMillis; the shard waits for it (its reader is not stalled, nothing is restarted)',
    );
  }

  /** Counts an out-of-range aggregate; warns the first time a shard sees one, then rarely. */
  private outOfRangeAggregate(a: OutOfRangeAggregate): void {
    const d = this.d;
    this.health.outOfRangeAggregates++;
    this.health.outOfRangeRecords += a.records;
    d.metric({ type: 'outOfRangeAggregate', shardId: this.shardId, ...a });
    const now = Date.now();
    if (
      this.outOfRangeWarnedAt !== undefined &&
      now - this.outOfRangeWarnedAt < OUT_OF_RANGE_WARNING_INTERVAL_MS
    )
      return;
    this.outOfRangeWarnedAt = now;
    // Counts and positions only: the records' keys and data stay out of the log.
    d.logger.warn(
      {
        shardId: this.shardId,
        sequenceNumber: a.sequenceNumber,
        records: a.records,
        outside: a.outside,
        outOfRangeAggregates: this.health.outOfRangeAggregates,
        outOfRangeRecords: this.health.outOfRangeRecords,
      },
      `${a.dropped ? 'dropped' : 'delivering'} an aggregate holding user records that hash outside this shard ` +
        '(written by aws-kinesis-agg or a similar aggregator, or re-sent by a producer after resharding); ' +
        (a.dropped
          ? 'dropOutOfRangeAggregates is true (the KCL behaviour); set it to false (the default) to deliver them. '
          : 'set dropOutOfRangeAggregates: true to drop such aggregates, as the KCL does. ') +
        'Counted in health() and the outOfRangeAggregate metric; logged at most once a minute per shard',
    );
  }

  private async poison(
    error: PoisonRecordError,
    record: { shardId: string; partitionKey: string; sequenceNumber: string; data: Uint8Array },
  ): Promise<void> {
    const d = this.d;
    d.metric({
      type: 'poisonRecord',
      shardId: this.shardId,
      code: (error.cause as { code?: string })?.code ?? error.code,
    });
    if (d.onPoisonRecord) {
      try {
        await d.onPoisonRecord(error, record);
      } catch (hookError) {
        d.logger.error(
          { shardId: this.shardId, sequenceNumber: record.sequenceNumber, err: hookError },
          'onPoisonRecord threw; the poison record was skipped',
        );
      }
    } else {
      d.logger.error(
        {
          shardId: this.shardId,
          sequenceNumber: record.sequenceNumber,
          code: error.code,
          reason: error.message,
        },
        'poison record skipped',
      );
    }
  }

  private onCheckpointError(error: unknown): void {
    if (error instanceof LeaseLostError) {
      this.loseLease();
      return;
    }
    this.health.lastError = `checkpoint: ${(error as Error).message}`;
    this.d.logger.warn({ shardId: this.shardId, err: error }, 'checkpoint failed');
  }

  private resumePoint(): ExtendedSequence | undefined {
    const last = this.checkpointer.lastCheckpoint;
    return typeof last === 'string' ? undefined : last;
  }

  private startPosition(): StartPosition | undefined {
    const last = this.checkpointer.lastDelivered ?? this.checkpointer.lastCheckpoint;
    if (typeof last !== 'string')
      return { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: last.sequenceNumber };
    switch (last) {
      case 'SHARD_END':
        return undefined;
      case 'TRIM_HORIZON':
        return { type: 'TRIM_HORIZON' };
      case 'LATEST':
        return { type: 'LATEST' };
      case 'AT_TIMESTAMP': {
        const p = this.d.initialPosition;
        return typeof p === 'object'
          ? { type: 'AT_TIMESTAMP', timestamp: p.timestamp }
          : { type: 'TRIM_HORIZON' };
      }
      default:
        return { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: last };
    }
  }

  /** A new reader from the last delivered record (or the checkpoint). */
  private async restartReader(): Promise<void> {
    await this.reader?.close().catch(() => {});
    const last = this.checkpointer.lastDelivered;
    const position: StartPosition | undefined = last
      ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last.sequenceNumber }
      : this.startPosition();
    if (!position) return;
    this.reader = this.d.retrieval.createReader(this.shardId, position);
  }

  /**
   * Tells a stalled reader from a slow processor. Only a read pending too long is a stall, and
   * only that is restarted: while `processRecords` runs no read is pending (the reader is pulled
   * after the batch), so aborting the read would hit nothing, and a long call is reported as what
   * it is instead.
   */
  private startWatchdog(): void {
    const period = Math.max(250, Math.floor(this.d.stallTimeoutMillis / 4));
    this.watchdog = setInterval(() => {
      const now = Date.now();
      const p = this.processing;
      if (p && !p.reported && now - p.since > this.d.stallTimeoutMillis)
        this.reportSlowProcessor(p, now - p.since);
      if (this.readingSince === undefined || this.lifecycle.state !== 'processing') return;
      const silent = now - this.readingSince;
      if (silent > this.d.stallTimeoutMillis) {
        this.health.stalls++;
        this.d.metric({ type: 'stall', shardId: this.shardId, silentForMs: silent });
        this.d.logger.warn(
          { shardId: this.shardId, silentForMs: silent },
          'shard reader stalled: no read returned; restarting it',
        );
        this.readingSince = undefined; // one report per stalled read
        this.readController?.abort(new StallError('stalled'));
      }
    }, period);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }
}

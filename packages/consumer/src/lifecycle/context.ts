import type { Logger } from 'pino';
import type { ShardCheckpointer } from '../checkpoint/checkpointer';
import type { ExtendedSequence } from '../checkpoint/sequence';
import { LeaseLostError } from '../errors';
import type { Lease } from '../leases/lease';
import type { LeaseTable } from '../leases/lease-table';
import type { ConsumerMetricEvent } from '../metrics';
import type { ConsumerOptions, InitialPosition } from '../options';
import type { ShardProcessor, ShutdownReason } from '../processor';
import type { Retrieval, ShardReader } from '../retrieval/types';
import type { DeadLetterDestination } from '../dead-letter/destination';
import type { DeadLetterSource } from '../dead-letter/format';
import type { ResolvedRetryBudget } from '../processing/retry-budget';
import type { Clock } from './clock';
import type { ShardLifecycle, ShardState } from './shard-lifecycle';

/** What one shard's processing is wired to. */
export interface ShardWorkerDeps {
  lease: Lease;
  workerId: string;
  table: LeaseTable;
  retrieval: Retrieval;
  processor: ShardProcessor;
  logger: Logger;
  initialPosition: InitialPosition;
  autoCheckpoint: boolean;
  /** With `autoCheckpoint`: at most one write per this time (0: every batch). Default 0. */
  checkpointIntervalMillis?: number;
  /** With an interval: write once this many records wait. Default: no bound by count. */
  checkpointMaxRecords?: number;
  stallTimeoutMillis: number;
  dropOutOfRangeAggregates: boolean;
  onProcessorError: ConsumerOptions['onProcessorError'];
  onPoisonRecord: ConsumerOptions['onPoisonRecord'];
  metric: (event: ConsumerMetricEvent) => void;
  /** The shard ended and SHARD_END is checkpointed: look for its children. */
  onShardEnded: (shardId: string, children: string[]) => void;
  /** Time for the stall watchdog and the slow-processor timing; the system clock by default. */
  clock?: Clock;
  /** Records of the shard processed at once (`processRecord`); 1 by default. */
  maxConcurrencyPerShard?: number;
  /** Where records whose `retryBudget` is spent go; none by default (retry forever). */
  deadLetter?: DeadLetterDestination;
  /** With `deadLetter`: the budget (defaults when absent). */
  retryBudget?: ResolvedRetryBudget;
  /** With `deadLetter` and `processRecords`: bisect a failing batch. Default true. */
  bisectBatchOnError?: boolean;
  /** What dead-letter records name as their source (the shard id is added). */
  deadLetterSource?: Omit<DeadLetterSource, 'shardId'>;
  /**
   * A consumer of `streams`: the lease's stream, named in batches, processor calls and health.
   * The lease key is then `account:stream:creationEpoch:shardId`; the reader gets the shard id.
   */
  stream?: ConsumedStreamName;
}

/** Which stream a shard belongs to (consumers of `streams`). */
export interface ConsumedStreamName {
  streamName: string;
  streamArn: string;
}

/** Health of one shard, for readiness probes. */
export interface ShardHealth {
  shardId: string;
  /** Consumers of `streams`: the shard's stream (shard ids repeat across streams). */
  streamName?: string;
  /** Consumers of `streams`: the lease key, `account:stream:creationEpoch:shardId`. */
  leaseKey?: string;
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
  /** Records the dead-letter destination acknowledged (their retry budget was spent). */
  deadLettered: number;
  /**
   * True while sending to the dead-letter destination fails: the shard is stopped there (nothing
   * further is processed or checkpointed) and tries the destination again with backoff.
   */
  deadLetterFailing: boolean;
  lastError: string | undefined;
}

/** A `processRecords` call in flight. */
export interface ProcessorCall {
  since: number;
  records: number;
  /** A `slowProcessor` event was sent for it. */
  reported: boolean;
}

/** The abort reason of a read the stall watchdog gave up on. */
export class StallError extends Error {}
/** The abort reason of a graceful shutdown (stop or hand-off). */
export class StopReading extends Error {}

/**
 * The state one shard's tasks share: the deps, the checkpointer, the state machine, the health
 * counters, the reader and its pending read. Each task (initialize, process, shard-end, shutdown,
 * the watchdog) reads and writes only what it needs here, and the driver runs them in order.
 */
export class ShardContext {
  /** The shard id the reader reads, the processor sees and health reports. */
  readonly shardId: string;
  /** The lease's key in the table: the shard id, or its multi-stream key. */
  readonly leaseKey: string;
  /** `{ streamName, streamArn }` for consumers of `streams`, else empty: spread into what the processor gets. */
  readonly streamFields: Partial<ConsumedStreamName>;
  readonly clock: Clock;
  /** Aborted on a graceful shutdown (`StopReading`) or a lost lease (`LeaseLostError`). */
  readonly stop = new AbortController();
  /** The pending read's controller: aborted by a stop, a lost lease or the watchdog. */
  readController: AbortController | undefined;
  reader: ShardReader | undefined;
  shutdownReason: ShutdownReason | undefined;
  leaseLost = false;
  /** When the pending `reader.next()` began; undefined while no read is pending. */
  readingSince: number | undefined;
  /** The `processRecords` call in flight, if any. */
  processing: ProcessorCall | undefined;
  outOfRangeWarnedAt: number | undefined;
  readonly health: Omit<ShardHealth, 'slowProcessor' | 'state'>;

  constructor(
    readonly d: ShardWorkerDeps,
    readonly checkpointer: ShardCheckpointer,
    readonly lifecycle: ShardLifecycle,
    clock: Clock,
  ) {
    this.leaseKey = d.lease.leaseKey;
    this.shardId = d.stream ? (d.lease.shardId ?? d.lease.leaseKey) : d.lease.leaseKey;
    this.streamFields = d.stream
      ? { streamName: d.stream.streamName, streamArn: d.stream.streamArn }
      : {};
    this.clock = clock;
    this.health = {
      shardId: this.shardId,
      ...(d.stream ? { streamName: d.stream.streamName, leaseKey: this.leaseKey } : {}),
      leaseHeld: true,
      lastReadAt: undefined,
      millisBehindLatest: undefined,
      recordsProcessed: 0,
      stalls: 0,
      slowBatches: 0,
      outOfRangeAggregates: 0,
      outOfRangeRecords: 0,
      deadLettered: 0,
      deadLetterFailing: false,
      lastError: undefined,
    };
  }

  /**
   * What a lease lost without a sign of another owner (renewals failing past
   * `failoverTimeMillis`) may still write once, conditional on this worker still being its owner:
   * what was delivered beyond the last checkpoint (see `shutdownShard`).
   */
  finalCheckpoint: ExtendedSequence | undefined;

  /**
   * The lease is gone: stop at once; the processor never checkpoints again. `mayStillHold`: no
   * other owner was seen (the renewals failed), so the shutdown task tries one final conditional
   * checkpoint of what was delivered. Idempotent.
   */
  loseLease(mayStillHold = false): void {
    if (this.leaseLost) return;
    if (mayStillHold && this.d.autoCheckpoint) this.finalCheckpoint = this.checkpointer.pending;
    this.leaseLost = true;
    this.checkpointer.disable();
    this.health.leaseHeld = false;
    this.stop.abort(new LeaseLostError(this.shardId));
    this.readController?.abort(new LeaseLostError(this.shardId));
  }

  /** A graceful shutdown: the first reason asked for wins. */
  requestShutdown(reason: ShutdownReason): void {
    this.shutdownReason ??= reason;
    if (reason === 'handoff') this.checkpointer.beginHandoff();
    this.stop.abort(new StopReading());
    this.readController?.abort(new StopReading());
  }

  /** A refused checkpoint means a lost lease; any other failure is reported and processing goes on. */
  onCheckpointError(error: unknown): void {
    if (error instanceof LeaseLostError) {
      this.loseLease();
      return;
    }
    this.health.lastError = `checkpoint: ${(error as Error).message}`;
    this.d.logger.warn({ shardId: this.shardId, err: error }, 'checkpoint failed');
  }
}

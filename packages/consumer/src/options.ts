import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { checkStreamTarget, ConfigError, configInteger as int } from '@shardline/aggregation';
import type { Logger } from 'pino';
import type { PoisonRecordError } from './errors';
import type { ConsumerMetricEvent } from './metrics';
import type { ConsumerRecord, RecordBatch, ShardProcessor } from './processor';
import type { FanoutRetrievalOptions } from './retrieval/fanout/index';
import { READ_AHEAD_DEFAULTS, type ReadAheadLimits } from './retrieval/polling/read-ahead-buffer';
import { parseStreamIdentifier } from './streams/stream-identifier';
import type { DeadLetterRecord } from './dead-letter/format';
import { DEFAULT_MAX_CLOCK_SKEW_MILLIS } from './leases/lease-taker';
import type { KinesisDeadLetterOptions } from './dead-letter/kinesis-destination';
import {
  resolveRetryBudget,
  type ResolvedRetryBudget,
  type RetryBudgetOptions,
} from './processing/retry-budget';

/** Where a shard with no checkpoint starts. */
export type InitialPosition = 'TRIM_HORIZON' | 'LATEST' | { timestamp: Date };

/**
 * One stream of a consumer of many (`streams`, `addStream`), as the KCL's `StreamConfig`: the
 * stream by name or ARN (exactly one), and where its shards without a checkpoint start.
 */
export interface StreamSpec {
  streamName?: string;
  /** The stream's ARN (the account in its identifier is the ARN's). */
  streamArn?: string;
  /** Where this stream's shards without a checkpoint start. Default: the consumer's `initialPosition`. */
  initialPosition?: InitialPosition;
  /** This stream's processor. Default: the consumer's `processor`. */
  processor?: ShardProcessor;
  /**
   * The KCL stream identifier its leases are keyed by, `account:stream:creationEpoch`, for a
   * table a Java application wrote with another creation epoch than the stream's (it passed its
   * own to `StreamIdentifier.multiStreamInstance`). Default: the stream's account and
   * `StreamCreationTimestamp` in seconds, from `DescribeStreamSummary`.
   */
  streamIdentifier?: string;
}

/**
 * `checkpointIntervalMillis`'s default: one checkpoint write per shard per 5 s, chosen by
 * measurement (see the option and "Checkpoint cadence" in the README).
 */
export const DEFAULT_CHECKPOINT_INTERVAL_MILLIS = 5_000;

/** What to do after the processor threw on a batch. */
export type ProcessorErrorAction = 'retry' | 'skip';

/**
 * Where records go once their retry budget is spent: a Kinesis stream (written through
 * Shardline's producer, one dead-letter record per Kinesis record), or a function of yours (SQS,
 * S3, anything) that resolves once the records are safe. The format is `DeadLetterRecord`.
 */
export type DeadLetterOptions =
  | { kinesis: KinesisDeadLetterOptions }
  | { send: (records: readonly DeadLetterRecord[]) => unknown };

/**
 * Bounds of polling read-ahead (`readAhead`): a read starts while what was read and not yet
 * handed to the processor is under every bound (or is nothing), as the KCL's prefetch counters;
 * so batches never exceed `maxBatches`, records and bytes exceed theirs by at most one GetRecords
 * response. Defaults are the KCL's `SimpleRecordsFetcherFactory` ones.
 */
export interface ReadAheadOptions {
  /** Batches (GetRecords responses) held. Default 3 (`maxPendingProcessRecordsInput`). */
  maxBatches?: number;
  /** Kinesis records held (an aggregate counts as one). Default 30,000 (`maxRecordsCount`). */
  maxRecords?: number;
  /** Bytes of record data held. Default 8 MiB (`maxByteSize`). */
  maxBytes?: number;
}

/** Options of `new Consumer(...)`. Defaults follow the KCL's. */
export interface ConsumerOptions {
  /** Stream to read. Exactly one of `streamName`, `streamArn` or `streams` is required. */
  streamName?: string;
  streamArn?: string;
  /**
   * Many streams in one consumer, as the KCL's `MultiStreamTracker`: one lease table for all of
   * them, with the KCL's multi-stream lease keys (`account:stream:creationEpoch:shardId`, and the
   * `streamName` / `shardId` attributes), even for a list of one; one balancing over the leases
   * of every stream; shard sync, lease cleanup and reading per stream. Streams can be added and
   * removed at run time (`addStream`, `removeStream`). A KCL multi-stream application's table
   * is continued from its checkpoints. See "Many streams" in the README.
   */
  streams?: StreamSpec[];
  /** Names the application; the lease table is named after it. Workers of one application share shards. */
  applicationName: string;
  kinesisClient: KinesisClient;
  dynamoDBClient: DynamoDBClient;
  /** The application's processor. Required unless the consumer is used as an async iterator. */
  processor?: ShardProcessor;
  /** Where a shard without a checkpoint starts. Default `LATEST` (the KCL's). */
  initialPosition?: InitialPosition;
  /** Lease table name. Default: `applicationName`. */
  leaseTableName?: string;
  /** This worker's id in the lease table. Default: `<hostname>-<pid>-<random>`. */
  workerId?: string;
  /** A lease whose counter has not moved for this long is expired and can be taken. Default 10,000 ms. */
  failoverTimeMillis?: number;
  /**
   * How long a worker that asked for a lease waits for the previous owner to finish its batch,
   * checkpoint and hand over, before it takes the lease and goes on from the owner's last
   * checkpoint (records the previous owner delivered after it are then delivered again). Default
   * 30,000 ms, the KCL's `gracefulLeaseHandoffTimeoutMillis`. A live owner under load can take
   * longer than `failoverTimeMillis` to hand over, which is why this is a separate, longer wait;
   * an owner that stops renewing (it died) is taken over once its lease is `failoverTimeMillis`
   * old, sooner. A KCL 2.x owner never hands over: it loses the lease at this timeout. In a fleet
   * shared with Java KCL 3 workers, use the same value as they do.
   */
  gracefulLeaseHandoffTimeoutMillis?: number;
  /** Most leases this worker holds. Default unlimited. */
  maxLeasesForWorker?: number;
  /**
   * Most leases stolen per balancing pass. Default: no limit beyond what this worker is short of
   * its even share (and never more than a victim holds above it), so a joining worker gets its
   * share in one pass. The KCL's default is 1; set 1 to balance at the KCL's pace (a fleet shared
   * with KCL workers balances either way: both steal only from workers above the same target).
   */
  maxLeasesToStealAtOneTime?: number;
  /**
   * How often this worker scans the lease table once the fleet is settled (no lease free, expired
   * or in a hand-off, every worker at an even share), each worker on its own. Unset (the
   * default), the settled fleet shares its scans instead: one scan per `SHARED_SLOT_FACTOR` (1.25)
   * × (`failoverTimeMillis` + 25) for the whole fleet, the workers taking turns, each probing its
   * predecessor's slot with one read of a lease (a lone worker scans every `3 *
   * (failoverTimeMillis + 25)`, `LONE_WORKER_SLOTS`, and probes nothing), and a worker that
   * finds something to do wakes the others. Set, every worker scans every this many ms, with no
   * probe: about W times the default fleet's reads for W workers, and a dead worker's leases found
   * up to this long after they expire. While unsettled a worker
   * scans every `failoverTimeMillis / 2` either way. See "Lease table cost" in the README.
   */
  leaseTakerIntervalMillis?: number;
  /**
   * How far apart the clocks of the fleet's hosts may be. Each renewal stamps the lease with the
   * owner's clock, and another worker judges it expired once `failoverTimeMillis` + this has
   * passed by its own clock since, in one look. Default 1000. If clocks drift further, a worker
   * whose clock runs ahead may take a live owner's lease early: the take is conditional (it loses
   * if the owner renewed meanwhile), and an owner that lost it stops at its next renewal, as after
   * any expired-lease take; records after its last checkpoint may then be read twice. Leases that
   * KCL workers renew are judged without stamps (two looks a failover apart, by one clock).
   */
  maxClockSkewMillis?: number;
  /**
   * Deleting leases nothing needs any more, as the KCL's `LeaseCleanupManager` does, at shard
   * syncs, each kind at most once per its interval. Default: both on, at the KCL's intervals.
   */
  leaseCleanup?: {
    /**
     * Delete a `SHARD_END` lease once every child shard's lease has started (its checkpoint is
     * past `TRIM_HORIZON`) and its own parents' leases are gone. The KCL's
     * `cleanupLeasesUponShardCompletion`. Default true.
     */
    completedLeases?: boolean;
    /**
     * Delete a lease whose shard two shard syncs in a row did not list (past the stream's
     * retention). Default true.
     */
    garbageLeases?: boolean;
    /** Least time between looks for finished leases to delete. Default 300,000 ms (the KCL's `completedLeaseCleanupIntervalMillis`). */
    completedLeaseCleanupIntervalMillis?: number;
    /** Least time between looks for leases of shards gone. Default 1,800,000 ms (the KCL's `garbageLeaseCleanupIntervalMillis`). */
    garbageLeaseCleanupIntervalMillis?: number;
  };
  /** How often shards are listed to find new ones. Default 60,000 ms. */
  shardSyncIntervalMillis?: number;
  /** Polling: most records per GetRecords. Default 10,000. */
  maxRecords?: number;
  /** Polling: wait after a read that returned nothing. Default 1,000 ms. */
  idleTimeBetweenReadsMillis?: number;
  /**
   * Polling: read a caught-up shard less often (the KCL's
   * `PollingConfig.millisBehindLatestThresholdForReducedTps`, KCL PR #1495). After a GetRecords
   * whose `MillisBehindLatest` is below this threshold, the next GetRecords of the shard is made
   * no earlier than this many milliseconds after that one returned; the other waits
   * (`idleTimeBetweenReadsMillis` after an empty read, the 200 ms between reads) still hold, and
   * the longest wins, as in the KCL's `KinesisSleepTimeController`. A read at or above the
   * threshold (a shard behind) is followed by the next at full speed.
   *
   * Each GetRecords costs about 1 ms of CPU in the AWS SDK, so a worker holding 1000 idle or
   * caught-up shards spends about a core on reads alone; a shard receiving a trickle of records
   * never waits the idle time (its reads are not empty) and is read 5 times a second. A threshold
   * of, say, 1,000 ms reads such shards at most once a second (and bounds their delivery latency
   * near that) while a shard that falls behind is still drained as fast as Kinesis allows. Must be
   * below `stallTimeoutMillis` (the wait is a read pending). Default 0: off, as in the KCL.
   */
  millisBehindLatestThresholdForReducedTps?: number;
  /**
   * Polling: read the next batch while the processor works on the current one, so GetRecords
   * latency does not add to every batch (the KCL's prefetching, `PrefetchRecordsPublisher`). On
   * by default; `false` reads only after the processor returned. What is read ahead is bounded
   * (see {@link ReadAheadOptions}), is handed to the processor in order, and is never
   * checkpointed before it was: a lost lease, a hand-off or a stop drops it. Fan-out ignores it
   * (its stream is already pushed ahead). Default `true` (the KCL's bounds).
   */
  readAhead?: boolean | ReadAheadOptions;
  /** Checkpoint the last record of each batch the processor finished. Default true. */
  autoCheckpoint?: boolean;
  /**
   * With `autoCheckpoint`: at most one checkpoint write per shard in this time, written after the
   * first read (records or not) once the interval has passed; `0`: after every batch, as a KCL
   * application that checkpoints each batch. Default 5,000 ms
   * (`DEFAULT_CHECKPOINT_INTERVAL_MILLIS`).
   *
   * Why 5 s: measured on a busy polled shard (`bench/checkpoint-cadence.bench.ts`, 5 reads/s,
   * about 8,000 user records/s), a checkpoint per batch is a DynamoDB write per read (up to
   * 18,000 per shard-hour) and a third of the consumer's CPU per record; at 5 s it is about 700
   * writes (fewer than the lease's own renewals, 1,080 at the default failover) and the CPU per
   * record is that of no checkpoint at all (1.5–1.6× the records per CPU-second of a write per
   * batch; 1 s already gives 1.35–1.5×, 30 s no more than 5 s within the noise). What it
   * costs: a crash (kill -9, out of memory) delivers again what the shard delivered since its
   * last checkpoint, at most one interval plus the batch in flight — about 5.5 s of records,
   * half the `failoverTimeMillis` pause the crash costs anyway. Stop, hand-off and shard end
   * always write what was delivered whatever the interval; a lease lost to failing renewals
   * tries once (conditional on still owning it); a lease another worker took writes nothing.
   */
  checkpointIntervalMillis?: number;
  /**
   * With `checkpointIntervalMillis`: also write as soon as this many records wait for their
   * checkpoint, bounding the records delivered again after a crash by count too. Default: no
   * bound by count — a count writes most often when batches are largest (catching up), which is
   * when the CPU a write costs matters most; the interval bounds the replay in time.
   */
  checkpointMaxRecords?: number;
  /**
   * A shard whose reader returns nothing (not even an empty read) for this long while the lease is
   * held is reported (`stall` event, log, metric) and its reader restarted. Default 60,000 ms.
   * A `processRecords` call running longer than this is not a stall (no read is pending while it
   * runs): it is reported as a slow processor (`slowProcessor` event, `health()`, a warning) and
   * nothing is restarted.
   */
  stallTimeoutMillis?: number;
  /** Retrieval: polling (default) or enhanced fan-out. */
  retrieval?: { mode: 'polling' } | FanoutRetrievalOptions;
  /**
   * What to do with an aggregate read on a shard whose hash range does not hold all of its user
   * records. aws-kinesis-agg (and modules built on it: Lambda functions, fluent-bit) writes every
   * aggregate of several partition keys this way, sending it with its first record's key; a
   * KPL-style producer does it when it puts with a stale shard map during resharding, and then
   * re-sends those records to their right shards.
   *
   * Default `false`: every user record is delivered, so nothing such writers wrote is lost; the
   * cost is a duplicate of the records a KPL-style producer re-sent (at-least-once allows it).
   * `true`: the whole aggregate is dropped, as the KCL does, which removes that duplicate and
   * loses every record aws-kinesis-agg-style writers put in such aggregates.
   *
   * Either way each one is counted: an `outOfRangeAggregate` event, `outOfRangeAggregates` and
   * `outOfRangeRecords` in the shard's `health()`, and a warning log line (the first on a shard,
   * then at most one a minute per shard).
   */
  dropOutOfRangeAggregates?: boolean;
  /**
   * Most records of one shard processed at once. Default 1 (one batch, or one record, at a time).
   * Above 1 the processor must have `processRecord` (a `ConfigError` with code
   * `PROCESS_RECORD_REQUIRED` otherwise): up to this many records of a shard run at once, records
   * with the same partition key strictly one after another in sequence order, and the checkpoint
   * only moves to a position below which every record has completed. The next batch is read once
   * every record of the current one has completed (or was dead-lettered).
   */
  maxConcurrencyPerShard?: number;
  /**
   * Where failing records go once `retryBudget` is spent; the shard then moves past them. A
   * dead-lettered record is checkpointed past only after the destination acknowledged it; if the
   * destination fails, the shard stops there (`deadLetterFailing` in `health()`, a
   * `deadLetterFailed` event per failed try) and tries again with backoff, never skipping.
   * Default none: failing records are retried forever (or as `onProcessorError` says).
   */
  deadLetter?: DeadLetterOptions;
  /**
   * How long failing records are retried (with backoff) before they are dead-lettered. Only with
   * `deadLetter`. Default `{ maxAttempts: 3 }`, backoff from 200 ms to 30 s with full jitter.
   */
  retryBudget?: RetryBudgetOptions;
  /**
   * With `deadLetter` and `processRecords`: split a failing batch in two, and each failing half
   * again, until the failing records are alone, as Lambda's `BisectBatchOnFunctionError` does; only
   * they are retried under the budget and dead-lettered. Records of a half that then succeeds are
   * delivered again (at least once). `false` retries and dead-letters the whole batch. Default true.
   */
  bisectBatchOnError?: boolean;
  /**
   * Called when the processor throws on a batch (with `processRecord`: a batch of that one
   * record). Return `'retry'` (default: retried with backoff, forever, loudly; with `deadLetter`,
   * until `retryBudget` is spent) or `'skip'` to move on (after sending the batch somewhere safe).
   */
  onProcessorError?: (
    error: unknown,
    batch: RecordBatch,
    attempt: number,
  ) => ProcessorErrorAction | Promise<ProcessorErrorAction>;
  /**
   * Called for a record that cannot be decoded (corrupt aggregate, bad compression envelope),
   * which is then skipped. Default: logged at error level.
   */
  onPoisonRecord?: (
    error: PoisonRecordError,
    record: Pick<ConsumerRecord, 'partitionKey' | 'sequenceNumber' | 'data'> & { shardId: string },
  ) => void | Promise<void>;
  /** Stop gracefully on SIGTERM and SIGINT. Default false. */
  handleSignals?: boolean;
  /** pino logger; default silent. Payloads and credentials are never logged. */
  logger?: Logger;
  /** Called for every metric event. Must be cheap. */
  onMetric?: (event: ConsumerMetricEvent) => void;
}

export interface ResolvedConsumerOptions {
  streamName: string | undefined;
  streamArn: string | undefined;
  /** Set exactly when `streams` is. */
  streams: StreamSpec[] | undefined;
  applicationName: string;
  leaseTableName: string;
  workerId: string;
  initialPosition: InitialPosition;
  failoverTimeMillis: number;
  gracefulLeaseHandoffTimeoutMillis: number;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  leaseTakerIntervalMillis: number | undefined;
  maxClockSkewMillis: number;
  leaseCleanup: ResolvedLeaseCleanup;
  shardSyncIntervalMillis: number;
  maxRecords: number;
  idleTimeBetweenReadsMillis: number;
  /** 0 when off. */
  millisBehindLatestThresholdForReducedTps: number;
  /** Polling read-ahead bounds, or false when off. */
  readAhead: ReadAheadLimits | false;
  autoCheckpoint: boolean;
  checkpointIntervalMillis: number;
  checkpointMaxRecords: number;
  stallTimeoutMillis: number;
  retrieval: { mode: 'polling' } | FanoutRetrievalOptions;
  dropOutOfRangeAggregates: boolean;
  maxConcurrencyPerShard: number;
  /** Set exactly when `deadLetter` is. */
  retryBudget: ResolvedRetryBudget | undefined;
  deadLetter: DeadLetterOptions | undefined;
  bisectBatchOnError: boolean;
}

export function resolveConsumerOptions(
  options: ConsumerOptions,
  iteratorMode = false,
): ResolvedConsumerOptions {
  if (options === null || typeof options !== 'object')
    throw new ConfigError('Consumer options must be an object');
  const { streamName, streamArn } = options;
  const streams = options.streams === undefined ? undefined : checkStreamSpecs(options);
  if (!streams) checkStreamTarget(options, 'Consumer');
  if (
    typeof options.applicationName !== 'string' ||
    !/^[a-zA-Z0-9_.-]{3,255}$/.test(options.applicationName)
  ) {
    throw new ConfigError(
      `applicationName ${JSON.stringify(options.applicationName)} must be 3-255 characters of [a-zA-Z0-9_.-] (it names the lease table)`,
    );
  }
  if (
    !options.kinesisClient ||
    typeof (options.kinesisClient as { send?: unknown }).send !== 'function'
  )
    throw new ConfigError('kinesisClient (an SDK v3 KinesisClient) is required');
  if (
    !options.dynamoDBClient ||
    typeof (options.dynamoDBClient as { send?: unknown }).send !== 'function'
  )
    throw new ConfigError('dynamoDBClient (an SDK v3 DynamoDBClient) is required');
  if (
    !iteratorMode &&
    options.processor !== undefined &&
    typeof options.processor.processRecords !== 'function' &&
    typeof options.processor.processRecord !== 'function'
  ) {
    throw new ConfigError(
      'processor.processRecords (or processor.processRecord) must be a function',
    );
  }
  const processing = resolveProcessing(options, iteratorMode);
  const initialPosition = options.initialPosition ?? 'LATEST';
  checkInitialPosition(initialPosition, 'initialPosition');
  const failoverTimeMillis = int(
    options.failoverTimeMillis,
    'failoverTimeMillis',
    10_000,
    300,
    3_600_000,
  );
  const idle = int(
    options.idleTimeBetweenReadsMillis,
    'idleTimeBetweenReadsMillis',
    1000,
    0,
    300_000,
  );
  const stallTimeoutMillis = int(
    options.stallTimeoutMillis,
    'stallTimeoutMillis',
    60_000,
    1000,
    3_600_000,
  );
  if (stallTimeoutMillis <= idle)
    throw new ConfigError(
      `stallTimeoutMillis (${stallTimeoutMillis}) must be longer than idleTimeBetweenReadsMillis (${idle})`,
    );
  const reducedTpsThreshold = int(
    options.millisBehindLatestThresholdForReducedTps,
    'millisBehindLatestThresholdForReducedTps',
    0,
    0,
    300_000,
  );
  // The wait it adds is a read pending: as long as the stall timeout, every caught-up shard's
  // reader would be restarted as stalled.
  if (stallTimeoutMillis <= reducedTpsThreshold)
    throw new ConfigError(
      `stallTimeoutMillis (${stallTimeoutMillis}) must be longer than millisBehindLatestThresholdForReducedTps (${reducedTpsThreshold})`,
    );
  const retrieval = options.retrieval ?? { mode: 'polling' as const };
  if (retrieval.mode !== 'polling' && retrieval.mode !== 'fanout')
    throw new ConfigError(`retrieval.mode must be 'polling' or 'fanout'`);
  if (
    retrieval.mode === 'fanout' &&
    (typeof retrieval.consumerName !== 'string' ||
      !/^[a-zA-Z0-9_.-]{1,128}$/.test(retrieval.consumerName))
  ) {
    throw new ConfigError(
      'retrieval.consumerName must name the stream consumer (1-128 characters of [a-zA-Z0-9_.-])',
    );
  }
  // Checked, not coerced: a string from an environment variable must not pick a behaviour silently.
  if (![undefined, true, false].includes(options.dropOutOfRangeAggregates))
    throw new ConfigError(
      `dropOutOfRangeAggregates must be true or false, got ${JSON.stringify(options.dropOutOfRangeAggregates)}`,
    );
  return {
    streamName,
    streamArn,
    streams,
    applicationName: options.applicationName,
    leaseTableName: options.leaseTableName ?? options.applicationName,
    workerId: options.workerId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    initialPosition,
    failoverTimeMillis,
    gracefulLeaseHandoffTimeoutMillis: int(
      options.gracefulLeaseHandoffTimeoutMillis,
      'gracefulLeaseHandoffTimeoutMillis',
      30_000,
      300,
      3_600_000,
    ),
    maxLeasesForWorker:
      options.maxLeasesForWorker === undefined
        ? Number.MAX_SAFE_INTEGER
        : int(options.maxLeasesForWorker, 'maxLeasesForWorker', 0, 1, Number.MAX_SAFE_INTEGER),
    maxLeasesToStealAtOneTime:
      options.maxLeasesToStealAtOneTime === undefined
        ? Number.MAX_SAFE_INTEGER
        : int(options.maxLeasesToStealAtOneTime, 'maxLeasesToStealAtOneTime', 1, 0, 1_000_000),
    leaseTakerIntervalMillis:
      options.leaseTakerIntervalMillis === undefined
        ? undefined
        : int(options.leaseTakerIntervalMillis, 'leaseTakerIntervalMillis', 0, 100, 3_600_000),
    maxClockSkewMillis: int(
      options.maxClockSkewMillis,
      'maxClockSkewMillis',
      DEFAULT_MAX_CLOCK_SKEW_MILLIS,
      0,
      3_600_000,
    ),
    leaseCleanup: resolveLeaseCleanup(options.leaseCleanup),
    shardSyncIntervalMillis: int(
      options.shardSyncIntervalMillis,
      'shardSyncIntervalMillis',
      60_000,
      100,
      86_400_000,
    ),
    maxRecords: int(options.maxRecords, 'maxRecords', 10_000, 1, 10_000),
    idleTimeBetweenReadsMillis: idle,
    millisBehindLatestThresholdForReducedTps: reducedTpsThreshold,
    readAhead: resolveReadAhead(options.readAhead),
    autoCheckpoint: options.autoCheckpoint ?? true,
    checkpointIntervalMillis: int(
      options.checkpointIntervalMillis,
      'checkpointIntervalMillis',
      DEFAULT_CHECKPOINT_INTERVAL_MILLIS,
      0,
      86_400_000,
    ),
    checkpointMaxRecords: int(
      options.checkpointMaxRecords,
      'checkpointMaxRecords',
      Number.MAX_SAFE_INTEGER,
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    stallTimeoutMillis,
    retrieval,
    dropOutOfRangeAggregates: options.dropOutOfRangeAggregates ?? false,
    ...processing,
  };
}

/** `readAhead`: `true` or absent is the KCL's bounds, `false` is off, an object overrides bounds. */
function resolveReadAhead(value: ConsumerOptions['readAhead']): ReadAheadLimits | false {
  if (value === false) return false;
  if (value === undefined || value === true) return { ...READ_AHEAD_DEFAULTS };
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(
      `readAhead must be true, false or { maxBatches?, maxRecords?, maxBytes? }, got ${JSON.stringify(value)}`,
    );
  const d = READ_AHEAD_DEFAULTS;
  return {
    maxBatches: int(value.maxBatches, 'readAhead.maxBatches', d.maxBatches, 1, 1000),
    maxRecords: int(value.maxRecords, 'readAhead.maxRecords', d.maxRecords, 1, 10_000_000),
    maxBytes: int(value.maxBytes, 'readAhead.maxBytes', d.maxBytes, 1, 1024 * 1024 * 1024),
  };
}

function checkInitialPosition(value: unknown, name: string): void {
  if (
    value !== 'TRIM_HORIZON' &&
    value !== 'LATEST' &&
    !(
      typeof value === 'object' &&
      value !== null &&
      (value as { timestamp?: unknown }).timestamp instanceof Date &&
      !Number.isNaN((value as { timestamp: Date }).timestamp.getTime())
    )
  ) {
    throw new ConfigError(
      `${name} must be 'TRIM_HORIZON', 'LATEST' or { timestamp: Date }, got ${JSON.stringify(value)}`,
    );
  }
}

/**
 * Checks one stream of `streams` (or of `addStream`): exactly one of `streamName`/`streamArn`,
 * a valid `initialPosition` and `processor` when given. `where` names it in errors.
 */
export function checkStreamSpec(spec: StreamSpec, where: string): void {
  if (spec === null || typeof spec !== 'object')
    throw new ConfigError(`${where} must be an object like { streamName } or { streamArn }`);
  checkStreamTarget(spec, where);
  if (spec.streamName !== undefined && spec.streamArn !== undefined)
    throw new ConfigError(`${where} needs one of streamName or streamArn, not both`);
  if (spec.initialPosition !== undefined)
    checkInitialPosition(spec.initialPosition, `${where}.initialPosition`);
  if (spec.streamIdentifier !== undefined) {
    const id =
      typeof spec.streamIdentifier === 'string'
        ? parseStreamIdentifier(spec.streamIdentifier)
        : undefined;
    if (!id)
      throw new ConfigError(
        `${where}.streamIdentifier ${JSON.stringify(spec.streamIdentifier)} is not account:stream:creationEpoch`,
      );
    if (spec.streamName !== undefined && id.streamName !== spec.streamName)
      throw new ConfigError(
        `${where}.streamIdentifier names stream ${id.streamName}, not ${spec.streamName}`,
      );
  }
  const p = spec.processor;
  if (
    p !== undefined &&
    (p === null ||
      (typeof p.processRecords !== 'function' && typeof p.processRecord !== 'function'))
  )
    throw new ConfigError(
      `${where}.processor.processRecords (or processRecord) must be a function`,
    );
}

/** `streams`: exactly one way to name what to read, and each entry valid. */
function checkStreamSpecs(options: ConsumerOptions): StreamSpec[] {
  if (options.streamName !== undefined || options.streamArn !== undefined)
    throw new ConfigError(
      'Consumer needs exactly one of streamName, streamArn or streams (streams lists every stream, each by streamName or streamArn)',
      'STREAM_REQUIRED',
    );
  if (!Array.isArray(options.streams) || options.streams.length === 0)
    throw new ConfigError(
      'streams must be a non-empty array of { streamName } or { streamArn }',
      'STREAM_REQUIRED',
    );
  options.streams.forEach((spec, i) => checkStreamSpec(spec, `streams[${i}]`));
  const seen = new Set<string>();
  for (const spec of options.streams) {
    const key = spec.streamName ?? spec.streamArn!;
    if (seen.has(key)) throw new ConfigError(`streams lists ${key} twice`);
    seen.add(key);
  }
  return [...options.streams];
}

/** `maxConcurrencyPerShard`, `deadLetter`, `retryBudget`, `bisectBatchOnError`. */
function resolveProcessing(
  options: ConsumerOptions,
  iteratorMode: boolean,
): Pick<
  ResolvedConsumerOptions,
  'maxConcurrencyPerShard' | 'retryBudget' | 'deadLetter' | 'bisectBatchOnError'
> {
  const maxConcurrencyPerShard = int(
    options.maxConcurrencyPerShard,
    'maxConcurrencyPerShard',
    1,
    1,
    10_000,
  );
  if (
    maxConcurrencyPerShard > 1 &&
    (iteratorMode || typeof options.processor?.processRecord !== 'function')
  ) {
    throw new ConfigError(
      `maxConcurrencyPerShard ${maxConcurrencyPerShard} needs a processor with processRecord(record, context): ` +
        'records of a shard run in parallel one at a time, which processRecords (a whole batch) and the async iterator cannot do',
      'PROCESS_RECORD_REQUIRED',
    );
  }
  const { deadLetter } = options;
  if (deadLetter !== undefined) {
    const kinesis = (deadLetter as { kinesis?: unknown })?.kinesis;
    const send = (deadLetter as { send?: unknown })?.send;
    if ((kinesis === undefined) === (send === undefined))
      throw new ConfigError(
        'deadLetter must be { kinesis: { streamName | streamArn, ... } } or { send: (records) => Promise<void> }',
      );
    if (send !== undefined && typeof send !== 'function')
      throw new ConfigError('deadLetter.send must be a function');
    if (kinesis !== undefined) {
      if (kinesis === null || typeof kinesis !== 'object')
        throw new ConfigError('deadLetter.kinesis must be an object');
      checkStreamTarget(kinesis, 'deadLetter.kinesis');
    }
  } else if (options.retryBudget !== undefined) {
    throw new ConfigError(
      'retryBudget needs a deadLetter destination: a spent budget sends the records there',
    );
  }
  if (![undefined, true, false].includes(options.bisectBatchOnError))
    throw new ConfigError(
      `bisectBatchOnError must be true or false, got ${JSON.stringify(options.bisectBatchOnError)}`,
    );
  return {
    maxConcurrencyPerShard,
    retryBudget: deadLetter ? resolveRetryBudget(options.retryBudget) : undefined,
    deadLetter,
    bisectBatchOnError: options.bisectBatchOnError ?? true,
  };
}

/** `leaseCleanup` with its defaults. */
export interface ResolvedLeaseCleanup {
  completedLeases: boolean;
  garbageLeases: boolean;
  completedLeaseCleanupIntervalMillis: number;
  garbageLeaseCleanupIntervalMillis: number;
}

function resolveLeaseCleanup(value: ConsumerOptions['leaseCleanup']): ResolvedLeaseCleanup {
  if (value !== undefined && (value === null || typeof value !== 'object'))
    throw new ConfigError(
      `leaseCleanup must be an object like { completedLeases, garbageLeases }, got ${JSON.stringify(value)}`,
    );
  const known = [
    'completedLeases',
    'garbageLeases',
    'completedLeaseCleanupIntervalMillis',
    'garbageLeaseCleanupIntervalMillis',
  ];
  for (const key of Object.keys(value ?? {}))
    if (!known.includes(key))
      throw new ConfigError(`leaseCleanup.${key} is not an option (${known.join(', ')})`);
  const flag = (name: 'completedLeases' | 'garbageLeases'): boolean => {
    const v = value?.[name];
    if (v === undefined) return true;
    if (v !== true && v !== false)
      throw new ConfigError(`leaseCleanup.${name} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  return {
    completedLeases: flag('completedLeases'),
    garbageLeases: flag('garbageLeases'),
    completedLeaseCleanupIntervalMillis: int(
      value?.completedLeaseCleanupIntervalMillis,
      'leaseCleanup.completedLeaseCleanupIntervalMillis',
      300_000,
      0,
      86_400_000,
    ),
    garbageLeaseCleanupIntervalMillis: int(
      value?.garbageLeaseCleanupIntervalMillis,
      'leaseCleanup.garbageLeaseCleanupIntervalMillis',
      1_800_000,
      0,
      86_400_000,
    ),
  };
}

/**
 * The seam between the consumer's coordinator and the ways of reading a shard. Polling
 * (GetRecords) and enhanced fan-out (SubscribeToShard) both implement it, so the coordinator,
 * the shard lifecycle and checkpointing never know which one is in use.
 *
 * The coordinator pulls: it asks for the next batch only after the processor has finished the
 * previous one, and "what was handed to the processor" is exact: it is everything `next()` has
 * returned, and nothing else. A reader may read ahead of the pulls, but only into a bounded
 * buffer that `next()` drains in order and `close()` drops (polling's `ReadAheadReader`, on by
 * default), so backpressure still holds (a full buffer stops reading; a fan-out reader stops
 * reading its HTTP/2 stream while nobody asks) and nothing read ahead is ever checkpointed.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';

/** A Kinesis record as the service returns it, before de-aggregation and decompression. */
export interface RawKinesisRecord {
  data: Uint8Array;
  partitionKey: string;
  sequenceNumber: string;
  explicitHashKey?: string;
  approximateArrivalTimestamp?: Date;
  encryptionType?: string;
}

/** Where a reader starts. Sequence-number positions come from checkpoints. */
export type StartPosition =
  | { type: 'TRIM_HORIZON' }
  | { type: 'LATEST' }
  | { type: 'AT_TIMESTAMP'; timestamp: Date }
  | { type: 'AT_SEQUENCE_NUMBER'; sequenceNumber: string }
  | { type: 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string };

/** A child shard reported when its parent ends. */
export interface ChildShardInfo {
  shardId: string;
  parentShards: string[];
  hashKeyRange?: { startingHashKey: string; endingHashKey: string };
}

/** One unit of work handed from a reader to the coordinator. */
export interface RetrievedBatch {
  /** Raw records in shard order; may be empty (an idle read or an event with no records). */
  records: RawKinesisRecord[];
  /** How far this shard's reader is behind the tip, when the service says. */
  millisBehindLatest?: number;
  /**
   * The position reading continues from after this batch: the last record's sequence number, or
   * (fan-out, no records) the event's ContinuationSequenceNumber. Absent when the shard ended.
   */
  continuationSequenceNumber?: string;
  /** True once the shard is closed and fully read: the coordinator runs `shardEnded`. */
  shardEnded: boolean;
  /** The children of an ended shard, when the service reports them. */
  childShards?: ChildShardInfo[];
}

/** Reads one shard for one lease holder. */
export interface ShardReader {
  readonly shardId: string;
  /**
   * The next batch. Resolves when records arrive or after an idle interval (possibly empty).
   * Retryable service errors are retried inside; a rejection is a typed, non-retryable error
   * (or the abort reason when `signal` aborts).
   */
  next(signal: AbortSignal): Promise<RetrievedBatch>;
  /** Stops reading and releases what the reader holds (iterators, subscriptions). Idempotent. */
  close(): Promise<void>;
}

/** What a retrieval strategy is given when the consumer starts. */
export interface RetrievalContext {
  kinesisClient: KinesisClient;
  streamName: string;
  /** Resolved by the consumer at start (DescribeStreamSummary); fan-out needs it. */
  streamArn: string;
  /**
   * How the consumer was given the stream: with `streamArn` set for one given by ARN
   * (`streamArn`, or a `streams` entry by ARN), else by name; absent counts as by name. Polling
   * names the stream this way (GetShardIterator's StreamARN or StreamName, and StreamARN on
   * GetRecords): a stream of another account, shared by a resource policy, is reached by its ARN
   * (the SDK also routes a request carrying an ARN to that account's endpoint), while a name
   * keeps a stream given by name on the endpoint it was always read at.
   */
  target?: { streamName?: string; streamArn?: string };
  logger: Logger;
  /** Aborted when the consumer stops. */
  signal: AbortSignal;
}

/** A way of reading shards: polling or enhanced fan-out. */
export interface Retrieval {
  readonly mode: 'polling' | 'fanout';
  /** Once per consumer start: e.g. register the fan-out consumer and wait until ACTIVE. */
  start(context: RetrievalContext): Promise<void>;
  /** A reader for a leased shard, from a checkpoint or the initial position. */
  createReader(shardId: string, position: StartPosition): ShardReader;
  /** Once per consumer stop: close shared sessions, optionally deregister. */
  stop(): Promise<void>;
}

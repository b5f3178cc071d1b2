import {
  CompressionError,
  CorruptAggregateError,
  decompress,
  deaggregate,
  hashKeyOf,
  type ShardlineError,
} from '@shardline/aggregation';
import { compareSequence, type ExtendedSequence } from './checkpoint/sequence';
import { PoisonRecordError } from './errors';
import type { ConsumerRecord } from './processor';
import type { RawKinesisRecord } from './retrieval/types';

/** A record that could not be decoded, with why. */
export interface Poisoned {
  error: PoisonRecordError;
  record: { shardId: string; partitionKey: string; sequenceNumber: string; data: Uint8Array };
}

export interface DecodeContext {
  shardId: string;
  /** Skip user records at or before this position (resuming inside an aggregate). */
  after?: ExtendedSequence;
  /** The shard's hash-key range, to find aggregates holding user records that hash outside it. */
  hashRange?: { start: bigint; end: bigint };
  /** Drop such aggregates whole, as the KCL does, instead of delivering them (the default). */
  dropOutOfRange?: boolean;
}

/**
 * An aggregate read on a shard whose hash range does not hold all of its user records: written by
 * an aggregator that does not group records by shard (aws-kinesis-agg, which sends an aggregate
 * with its first record's key), or by a KPL-style producer putting with a stale shard map.
 */
export interface OutOfRangeAggregate {
  sequenceNumber: string;
  /** User records in the aggregate. */
  records: number;
  /** Of those, how many hash outside the shard's range. */
  outside: number;
  /** True when the aggregate was dropped (`dropOutOfRange`), false when delivered. */
  dropped: boolean;
}

/**
 * Raw Kinesis records → the user records a processor sees: open a compression envelope around the
 * record, de-aggregate, open an envelope around each user record, skip what the checkpoint
 * already covers. A record that cannot be decoded is returned in `poisoned` (never thrown, never
 * dropped silently); the consumer hands it to `onPoisonRecord`. An aggregate holding user records
 * outside the shard's hash range is reported in `outOfRange`, delivered or (`dropOutOfRange`)
 * dropped: either way the consumer counts it.
 */
export function decodeRecords(
  raw: readonly RawKinesisRecord[],
  context: DecodeContext,
): { records: ConsumerRecord[]; poisoned: Poisoned[]; outOfRange: OutOfRangeAggregate[] } {
  const records: ConsumerRecord[] = [];
  const poisoned: Poisoned[] = [];
  const outOfRange: OutOfRangeAggregate[] = [];
  for (const r of raw) {
    let users;
    try {
      users = deaggregate({ ...r, data: decompress(r.data) }, { strict: true });
    } catch (error) {
      if (error instanceof CorruptAggregateError || error instanceof CompressionError) {
        poisoned.push(poison(context.shardId, r, error));
        continue;
      }
      throw error;
    }
    const range = context.hashRange;
    // A plain record is always on the shard its key hashes to (Kinesis routed it); only an
    // aggregate, routed by one key for many records, can hold records of other shards.
    const outside = range && users[0]?.aggregated ? countOutside(users, range) : 0;
    if (outside > 0) {
      // Delivered by default: at-least-once allows the duplicate a KPL-style wrong-shard re-send
      // makes, never a loss, and aws-kinesis-agg writes every multi-key aggregate this way.
      // Dropping (the KCL's choice) de-duplicates that re-send but loses such writers' records.
      const dropped = context.dropOutOfRange === true;
      outOfRange.push({
        sequenceNumber: r.sequenceNumber,
        records: users.length,
        outside,
        dropped,
      });
      if (dropped) continue;
    }
    for (const user of users) {
      if (context.after && compareSequence(user, context.after) <= 0) continue;
      let data: Uint8Array;
      try {
        data = decompress(user.data);
      } catch (error) {
        if (error instanceof CompressionError) {
          poisoned.push(
            poison(
              context.shardId,
              { ...r, data: user.data, partitionKey: user.partitionKey },
              error,
            ),
          );
          continue;
        }
        throw error;
      }
      const record: ConsumerRecord = {
        data,
        partitionKey: user.partitionKey,
        sequenceNumber: user.sequenceNumber,
        subSequenceNumber: user.subSequenceNumber,
        aggregated: user.aggregated,
      };
      if (user.explicitHashKey !== undefined) record.explicitHashKey = user.explicitHashKey;
      if (user.approximateArrivalTimestamp)
        record.approximateArrivalTimestamp = user.approximateArrivalTimestamp;
      records.push(record);
    }
  }
  return { records, poisoned, outOfRange };
}

function countOutside(
  users: readonly { partitionKey: string; explicitHashKey?: string }[],
  range: { start: bigint; end: bigint },
): number {
  let outside = 0;
  for (const u of users) {
    const h = hashKeyOf(u);
    if (h < range.start || h > range.end) outside++;
  }
  return outside;
}

function poison(shardId: string, r: RawKinesisRecord, error: ShardlineError): Poisoned {
  return {
    error: new PoisonRecordError(shardId, r.sequenceNumber, error),
    record: {
      shardId,
      partitionKey: r.partitionKey,
      sequenceNumber: r.sequenceNumber,
      data: r.data,
    },
  };
}

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
  /** The shard's hash-key range: aggregated user records outside it are dropped, as the KCL does. */
  hashRange?: { start: bigint; end: bigint };
}

/**
 * Raw Kinesis records → the user records a processor sees: open a compression envelope around the
 * record, de-aggregate, open an envelope around each user record, skip what the checkpoint
 * already covers. A record that cannot be decoded is returned in `poisoned` (never thrown, never
 * dropped silently); the consumer hands it to `onPoisonRecord`.
 */
export function decodeRecords(
  raw: readonly RawKinesisRecord[],
  context: DecodeContext,
): { records: ConsumerRecord[]; poisoned: Poisoned[]; outOfRange: number } {
  const records: ConsumerRecord[] = [];
  const poisoned: Poisoned[] = [];
  let outOfRange = 0;
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
    if (
      range &&
      users.length > 0 &&
      users[0]!.aggregated &&
      users.some((u) => {
        const h = hashKeyOf(u);
        return h < range.start || h > range.end;
      })
    ) {
      // An aggregate that landed on a shard some of its records do not hash into (sent with a
      // stale shard map during resharding): like the KCL, drop it whole. The producer re-sends
      // such aggregates' records, so delivering part of it would duplicate them.
      outOfRange += users.length;
      continue;
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

import type { DeaggregatedRecord, ShardlineError } from '@shardline/aggregation';
import { compareSequence, type ExtendedSequence } from './checkpoint/sequence';
import { unwrapRecord, type ChainOptions, type OutOfRange } from './decode-chain';
import { PoisonRecordError } from './errors';
import type { ConsumerRecord } from './processor';
import { traceContextOf } from './lambda/trace-context';
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
export interface OutOfRangeAggregate extends OutOfRange {
  sequenceNumber: string;
}

/**
 * Raw Kinesis records → the user records a processor sees, through the shared decode chain
 * (decode-chain.ts), skipping what the checkpoint already covers. A record that cannot be decoded
 * is returned in `poisoned` (never thrown, never dropped silently); the consumer hands it to
 * `onPoisonRecord`. An aggregate holding user records outside the shard's hash range is reported
 * in `outOfRange`, delivered or (`dropOutOfRange`) dropped: either way the consumer counts it.
 */
export function decodeRecords(
  raw: readonly RawKinesisRecord[],
  context: DecodeContext,
): { records: ConsumerRecord[]; poisoned: Poisoned[]; outOfRange: OutOfRangeAggregate[] } {
  const records: ConsumerRecord[] = [];
  const poisoned: Poisoned[] = [];
  const outOfRange: OutOfRangeAggregate[] = [];
  const after = context.after;
  const options: ChainOptions = {
    hashRange: context.hashRange,
    dropOutOfRange: context.dropOutOfRange,
    skip: after ? (user) => compareSequence(user, after) <= 0 : undefined,
  };
  for (const r of raw) {
    const report = unwrapRecord(r, options, {
      record(user, data) {
        // The chain's user record is fresh and has exactly the fields of a ConsumerRecord: it is
        // handed on as it is rather than copied, one object per record fewer.
        if (user.tags !== undefined) {
          records.push(copied(user, data));
          return;
        }
        const record: ConsumerRecord = user;
        if (data !== user.data) record.data = data;
        records.push(record);
      },
      poison(error, user) {
        poisoned.push(
          poison(
            context.shardId,
            user ? { ...r, data: user.data, partitionKey: user.partitionKey } : r,
            error,
          ),
        );
      },
    });
    if (report) outOfRange.push({ sequenceNumber: r.sequenceNumber, ...report });
  }
  return { records, poisoned, outOfRange };
}

/**
 * A record with a field a ConsumerRecord does not declare (an aggregate's tags): copied field by
 * field, so what processors see stays what ConsumerRecord says; a trace context among the tags
 * becomes its `traceContext`.
 */
function copied(user: DeaggregatedRecord, data: Uint8Array): ConsumerRecord {
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
  const traceContext = traceContextOf(user.tags!);
  if (traceContext) record.traceContext = traceContext;
  return record;
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

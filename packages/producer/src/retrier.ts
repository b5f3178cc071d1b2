import type { PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import type { KinesisRecord } from './kinesis-record';
import { classifyEntryError, type ErrorClass } from './retry-policy';

/** What to do with one Kinesis record after its PutRecords entry result. */
export type EntryDecision =
  | { kind: 'success'; record: KinesisRecord; shardId: string; sequenceNumber: string }
  /** Landed on another shard than predicted: a single record still succeeded; an aggregate must be re-sent. */
  | { kind: 'wrong-shard'; record: KinesisRecord; shardId: string; sequenceNumber: string }
  | { kind: 'failed'; record: KinesisRecord; code: string; message: string; class: ErrorClass };

/**
 * Pure: pairs each entry of a PutRecords call with its result. An aggregate that lands on a shard
 * other than the one its records hash into is unreadable by the KCL (it drops aggregates whose
 * records hash outside the shard), so it is reported for re-aggregation rather than success.
 */
export function decideEntries(
  batch: readonly KinesisRecord[],
  results: readonly PutRecordsResultEntry[],
): EntryDecision[] {
  if (results.length !== batch.length) {
    throw new Error(`PutRecords answered ${results.length} results for ${batch.length} entries`);
  }
  return batch.map((record, i) => {
    const result = results[i]!;
    if (result.ErrorCode) {
      return {
        kind: 'failed',
        record,
        code: result.ErrorCode,
        message: result.ErrorMessage ?? '',
        class: classifyEntryError(result.ErrorCode),
      };
    }
    if (!result.ShardId || !result.SequenceNumber) {
      return {
        kind: 'failed',
        record,
        code: 'MalformedResponse',
        message: 'result entry has neither an error nor a sequence number',
        class: 'retryable',
      };
    }
    if (result.ShardId !== record.shardId) {
      return {
        kind: 'wrong-shard',
        record,
        shardId: result.ShardId,
        sequenceNumber: result.SequenceNumber,
      };
    }
    return {
      kind: 'success',
      record,
      shardId: result.ShardId,
      sequenceNumber: result.SequenceNumber,
    };
  });
}

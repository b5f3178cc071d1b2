import type { KinesisRecord } from '../src/kinesis-record';
import { PendingRecord } from '../src/user-record';

/** A user record for stage tests: key, data and hash key as given, outcome kept for inspection. */
export function userRecord(
  partitionKey: string,
  data = 'x',
  hashKey = 0n,
  times: { acceptedAt?: number; deadline?: number } = {},
): PendingRecord & { outcome?: unknown } {
  const bytes = Buffer.from(data);
  const r: PendingRecord & { outcome?: unknown } = new PendingRecord(
    partitionKey,
    undefined,
    bytes,
    hashKey,
    bytes.length + partitionKey.length,
    times.acceptedAt ?? 0,
    times.deadline ?? 30_000,
    (result) => (r.outcome = result),
    (error) => (r.outcome = error),
  );
  return r;
}

/** A Kinesis record of the given user records for `shardId` (as the aggregate stage would make). */
export function kinesisRecord(
  shardId: string,
  records: PendingRecord[],
  bytes = records.reduce((n, r) => n + r.bufferedBytes, 0),
): KinesisRecord {
  return {
    shardId,
    partitionKey: records.length > 1 ? 'a' : records[0]!.partitionKey,
    explicitHashKey: undefined,
    data: new Uint8Array(bytes),
    bytes,
    records,
    aggregated: records.length > 1,
  };
}

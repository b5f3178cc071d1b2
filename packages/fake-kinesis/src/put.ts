import type { Backend, PartialFailure } from './backend';
import { ServiceError } from './service-error';
import {
  nextSequence,
  routeRecord,
  type ShardState,
  type StoredRecord,
  type StreamState,
} from './streams';

interface Entry {
  PartitionKey?: unknown;
  ExplicitHashKey?: unknown;
  Data?: unknown;
}

type Written = { shard: ShardState; sequenceNumber: string } | { code: string; message: string };

const EMPTY = Buffer.alloc(0);

/** PutRecords: each entry stored or failed on its own, as the service answers. */
export function putRecords(
  backend: Backend,
  input: Record<string, unknown>,
  partial?: PartialFailure,
): string {
  const stream = backend.streams.of(input);
  const entries = (input.Records ?? []) as Entry[];
  if (entries.length === 0 || entries.length > 500)
    throw new ServiceError('ValidationException', 'Records must have between 1 and 500 entries');
  for (const e of entries) validateEntry(backend, e);
  const now = Date.now();
  let failed = 0;
  const parts: string[] = [];
  for (const entry of entries) {
    let result: Written;
    if (partial && backend.random() < partial.fraction)
      result = { code: partial.code, message: 'injected entry failure' };
    else result = write(backend, stream, entry, now);
    if ('code' in result) {
      failed++;
      backend.stats.entriesFailed[result.code] =
        (backend.stats.entriesFailed[result.code] ?? 0) + 1;
      parts.push(
        `{"ErrorCode":${JSON.stringify(result.code)},"ErrorMessage":${JSON.stringify(result.message)}}`,
      );
    } else {
      parts.push(
        `{"SequenceNumber":"${result.sequenceNumber}","ShardId":"${result.shard.shardId}"}`,
      );
    }
  }
  return `{"FailedRecordCount":${failed},"Records":[${parts.join(',')}]}`;
}

/** PutRecord: a failed entry is the call's error. */
export function putRecord(backend: Backend, input: Record<string, unknown>): string {
  const stream = backend.streams.of(input);
  validateEntry(backend, input);
  const result = write(backend, stream, input, Date.now());
  if ('code' in result) throw new ServiceError(result.code, result.message);
  return JSON.stringify({ ShardId: result.shard.shardId, SequenceNumber: result.sequenceNumber });
}

/** Stores one entry, or says why not (limits). */
function write(backend: Backend, stream: StreamState, entry: Entry, now: number): Written {
  const partitionKey = String(entry.PartitionKey ?? '');
  const encoded = String(entry.Data ?? '');
  const data = backend.discard ? EMPTY : Buffer.from(encoded, 'base64');
  const explicitHashKey =
    typeof entry.ExplicitHashKey === 'string' ? entry.ExplicitHashKey : undefined;
  const shard = routeRecord(stream, partitionKey, explicitHashKey);
  const bytes =
    (backend.discard ? Math.floor((encoded.length * 3) / 4) : data.length) +
    Buffer.byteLength(partitionKey);
  if (!backend.limits.admit(shard, bytes, now)) {
    return {
      code: 'ProvisionedThroughputExceededException',
      message: `Rate exceeded for shard ${shard.shardId} in stream ${stream.name} under account 000000000000.`,
    };
  }
  const sequenceNumber = nextSequence(stream);
  const record: StoredRecord = { sequenceNumber, partitionKey, data, arrival: now };
  if (explicitHashKey !== undefined) record.explicitHashKey = explicitHashKey;
  if (!backend.discard) shard.records.push(record);
  backend.stats.entriesAccepted++;
  backend.stats.bytesAccepted += bytes;
  return { shard, sequenceNumber };
}

/** The service's own checks of an entry, which fail the whole call. */
function validateEntry(backend: Backend, entry: { PartitionKey?: unknown; Data?: unknown }): void {
  const key = entry.PartitionKey;
  if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
    throw new ServiceError(
      'ValidationException',
      "1 validation error detected: Value at 'records.member.partitionKey' failed to satisfy constraint",
    );
  }
  const size = Math.floor((String(entry.Data ?? '').length * 3) / 4) + Buffer.byteLength(key);
  if (size > backend.maxRecordBytes + 4) {
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value at 'records.member.data' failed to satisfy constraint: Member must have length less than or equal to ${backend.maxRecordBytes}`,
    );
  }
}

import type { ConsumerRecord } from '../processor';
import type { FailureHistory } from '../processing/retry-budget';

/** The version of the dead-letter record format below; a change of meaning gets a new one. */
export const DEAD_LETTER_FORMAT_VERSION = 1;

/**
 * One user record whose retry budget was spent, as a dead-letter destination gets it (format
 * version 1). On a Kinesis dead-letter stream it is one Kinesis record: this object as UTF-8 JSON
 * (`encodeDeadLetterRecord`), `data` as base64, with the original partition key.
 */
export interface DeadLetterRecord {
  formatVersion: typeof DEAD_LETTER_FORMAT_VERSION;
  /** Where the record was read. */
  source: {
    streamName: string;
    /** Set once the consumer has described the stream. */
    streamArn?: string;
    shardId: string;
    applicationName: string;
  };
  /** Sequence number of the Kinesis record that carried it. */
  sequenceNumber: string;
  /** Position inside its aggregate (0 for a record that was not aggregated). */
  subSequenceNumber: number;
  partitionKey: string;
  explicitHashKey?: string;
  aggregated: boolean;
  /** ISO 8601, when the service says. */
  approximateArrivalTimestamp?: string;
  /** The user's bytes, decompressed and de-aggregated, as the processor got them. */
  data: Uint8Array;
  /** The last failure. `code` is the error's `code` property when it has a string one. */
  error: { name: string; code?: string; message: string };
  /** Failed calls that included the record (with bisection, those of larger slices too). */
  attempts: number;
  /** ISO 8601. */
  firstFailureAt: string;
  /** ISO 8601. */
  lastFailureAt: string;
}

/** Where the records came from, for the dead-letter records of one shard. */
export interface DeadLetterSource {
  streamName: string;
  streamArn?: string;
  shardId: string;
  applicationName: string;
}

/** The dead-letter record of `record`, which failed as `history` says. */
export function toDeadLetterRecord(
  record: ConsumerRecord,
  source: DeadLetterSource,
  history: FailureHistory,
): DeadLetterRecord {
  const e = history.lastError as { name?: unknown; code?: unknown; message?: unknown } | undefined;
  const error: DeadLetterRecord['error'] = {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(history.lastError),
  };
  if (typeof e?.code === 'string') error.code = e.code;
  const out: DeadLetterRecord = {
    formatVersion: DEAD_LETTER_FORMAT_VERSION,
    source: { ...source },
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: record.subSequenceNumber,
    partitionKey: record.partitionKey,
    aggregated: record.aggregated,
    data: record.data,
    error,
    attempts: history.attempts,
    firstFailureAt: new Date(history.firstFailureAt ?? 0).toISOString(),
    lastFailureAt: new Date(history.lastFailureAt ?? 0).toISOString(),
  };
  if (record.explicitHashKey !== undefined) out.explicitHashKey = record.explicitHashKey;
  if (record.approximateArrivalTimestamp)
    out.approximateArrivalTimestamp = record.approximateArrivalTimestamp.toISOString();
  return out;
}

/** A dead-letter record as UTF-8 JSON, `data` as base64: what the Kinesis destination writes. */
export function encodeDeadLetterRecord(record: DeadLetterRecord): Buffer {
  return Buffer.from(
    JSON.stringify({ ...record, data: Buffer.from(record.data).toString('base64') }),
    'utf8',
  );
}

/**
 * Reads a record of a dead-letter stream back (`encodeDeadLetterRecord`'s inverse). Throws a
 * `TypeError` for bytes that are not a dead-letter record of a known format version.
 */
export function decodeDeadLetterRecord(bytes: Uint8Array): DeadLetterRecord {
  const parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  if (parsed?.formatVersion !== DEAD_LETTER_FORMAT_VERSION || typeof parsed.data !== 'string')
    throw new TypeError(
      `not a dead-letter record of format version ${DEAD_LETTER_FORMAT_VERSION} (formatVersion ${JSON.stringify(parsed?.formatVersion)})`,
    );
  return { ...(parsed as unknown as DeadLetterRecord), data: Buffer.from(parsed.data, 'base64') };
}

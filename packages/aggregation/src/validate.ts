import { InvalidRecordError } from '@shardline/common';
import { MAX_HASH_KEY } from './hash-key';

/** Kinesis' partition key limit, in Unicode code points. */
export const MAX_PARTITION_KEY_LENGTH = 256;

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** Checks a partition key as Kinesis would, so a bad one fails at `put`, not in a later request. */
export function validatePartitionKey(key: unknown): string {
  if (typeof key !== 'string') {
    throw new InvalidRecordError(
      'PARTITION_KEY_NOT_STRING',
      `partition key must be a string, got ${typeof key}`,
    );
  }
  if (key.length === 0) {
    throw new InvalidRecordError('PARTITION_KEY_EMPTY', 'partition key must not be empty');
  }
  // UTF-16 length bounds the code-point count from above, so most keys skip the count.
  if (key.length > MAX_PARTITION_KEY_LENGTH) {
    let codePoints = 0;
    for (const _ of key) codePoints++;
    if (codePoints > MAX_PARTITION_KEY_LENGTH) {
      throw new InvalidRecordError(
        'PARTITION_KEY_TOO_LONG',
        `partition key is ${codePoints} Unicode code points; the limit is ${MAX_PARTITION_KEY_LENGTH}`,
      );
    }
  }
  return key;
}

/** Checks an explicit hash key: a decimal integer in [0, 2^128 − 1], or absent. */
export function validateExplicitHashKey(key: unknown): string | undefined {
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !DECIMAL.test(key) || BigInt(key) > MAX_HASH_KEY) {
    throw new InvalidRecordError(
      'EXPLICIT_HASH_KEY_INVALID',
      `explicit hash key must be a decimal integer in [0, 2^128 - 1], got ${typeof key === 'string' ? JSON.stringify(key.slice(0, 60)) : typeof key}`,
    );
  }
  return key;
}

/** Record data as bytes: a Uint8Array (or Buffer) as it is, a string as UTF-8, anything else refused. */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  throw new InvalidRecordError(
    'DATA_NOT_BYTES',
    `record data must be a Uint8Array, Buffer or string, got ${data === null ? 'null' : typeof data}`,
  );
}

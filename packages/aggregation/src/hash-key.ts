import { createHash } from 'node:crypto';

/** The largest hash key Kinesis knows: 2^128 − 1. */
export const MAX_HASH_KEY: bigint = (1n << 128n) - 1n;

/**
 * The 128-bit hash key Kinesis derives from a partition key: MD5 of its UTF-8 bytes read as a
 * big-endian unsigned integer. The shard whose hash-key range holds it receives the record.
 */
export function partitionKeyHash(partitionKey: string): bigint {
  const digest = createHash('md5').update(partitionKey, 'utf8').digest();
  // Two 64-bit halves avoid a hex round trip on this hot path.
  return (digest.readBigUInt64BE(0) << 64n) | digest.readBigUInt64BE(8);
}

/** The hash key that routes a record: its explicit hash key when it has one, else its partition key's. */
export function hashKeyOf(record: { partitionKey: string; explicitHashKey?: string | undefined }): bigint {
  return record.explicitHashKey !== undefined
    ? BigInt(record.explicitHashKey)
    : partitionKeyHash(record.partitionKey);
}

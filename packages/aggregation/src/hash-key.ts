import { crypto } from './node-builtins';

/** The largest hash key Kinesis knows: 2^128 − 1. */
export const MAX_HASH_KEY: bigint = (1n << 128n) - 1n;

/**
 * The 128-bit hash key Kinesis derives from a partition key: MD5 of its UTF-8 bytes read as a
 * big-endian unsigned integer. The shard whose hash-key range holds it receives the record.
 */
export function partitionKeyHash(partitionKey: string): bigint {
  const digest = partitionKeyDigest(partitionKey);
  // Two 64-bit halves avoid a hex round trip.
  return (digest.readBigUInt64BE(0) << 64n) | digest.readBigUInt64BE(8);
}

/** The same hash key as its 16 big-endian bytes (the MD5 digest), for byte-wise range checks. */
export function partitionKeyDigest(partitionKey: string): Buffer {
  // One-shot hashing (Node ≥ 20.12) skips the Hash object a createHash() call allocates: measured
  // about twice as fast per key on the producer's hot path.
  return oneShot
    ? oneShot('md5', partitionKey, 'buffer')
    : crypto.createHash('md5').update(partitionKey, 'utf8').digest();
}

const oneShot = (
  crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }
).hash;

/**
 * Partition-key hashes with a bounded cache: real traffic repeats its keys (users, devices,
 * tenants), and MD5 per record was the largest cost in the producer's profile. The cache is
 * dropped whole when full, which keeps it O(1) and bounded without LRU bookkeeping.
 */
export class HashKeyCache {
  private readonly cache = new Map<string, bigint>();

  constructor(private readonly maxEntries = 65_536) {}

  of(partitionKey: string, explicitHashKey?: string): bigint {
    if (explicitHashKey !== undefined) return BigInt(explicitHashKey);
    let hash = this.cache.get(partitionKey);
    if (hash === undefined) {
      hash = partitionKeyHash(partitionKey);
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(partitionKey, hash);
    }
    return hash;
  }
}

/** The hash key that routes a record: its explicit hash key when it has one, else its partition key's. */
export function hashKeyOf(record: {
  partitionKey: string;
  explicitHashKey?: string | undefined;
}): bigint {
  return record.explicitHashKey !== undefined
    ? BigInt(record.explicitHashKey)
    : partitionKeyHash(record.partitionKey);
}

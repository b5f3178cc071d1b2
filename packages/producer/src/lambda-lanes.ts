import { KPL_MAGIC } from '@shardline/aggregation';
import type { ShardRange } from './shard-map';

/** Most Lambda lanes per shard the `lambdaLanes` option takes. */
export const MAX_LAMBDA_LANES = 100;

/** Partition key of every aggregate of a lane: `lane-<n>`. */
export function lanePartitionKey(lane: number): string {
  return `lane-${lane}`;
}

/**
 * The lane of a user record: the low 32 bits of its 128-bit hash key (the MD5 of its partition
 * key, or its explicit hash key) modulo the lane count. It depends on nothing but the key, so a key keeps its lane
 * across shard-map refreshes, splits and merges; MD5's low bits are uniform, so keys spread over
 * every lane.
 */
export function laneOf(hashKey: bigint, lanes: number): number {
  // The low 32 bits are enough and keep the modulo in plain numbers.
  return Number(hashKey & 0xffffffffn) % lanes;
}

/**
 * The explicit hash key a lane's aggregates go out with: the middle of the lane's slice of its
 * shard, `start + floor((end − start) × (2n + 1) / (2 × lanes))`. Always inside [start, end], so
 * the aggregate lands on the shard its records hash into, whatever the shard's range.
 */
export function laneHashKey(range: ShardRange, lane: number, lanes: number): bigint {
  return range.start + ((range.end - range.start) * BigInt(2 * lane + 1)) / BigInt(2 * lanes);
}

/** Bytes of a one-record aggregate of a record with these sizes (key + explicit hash key, data, tags); an upper bound. */
export function singleAggregateBytes(
  keyBytes: number,
  dataBytes: number,
  tagBytes: number,
): number {
  // magic + digest + the tables, indexes and record fields, each with up to a 5-byte length.
  return KPL_MAGIC.length + 16 + 5 * 6 + keyBytes + dataBytes + tagBytes + 8;
}

import { ServiceError } from './service-error';
import { addShard, closeShard, type ShardState, type StreamState } from './streams';

/** Splits an open shard at `newStartingHashKey` (default: the middle of its range). */
export function splitShard(
  stream: StreamState,
  shardId: string,
  newStartingHashKey?: string,
): [string, string] {
  const shard = openShard(stream, shardId);
  const at =
    newStartingHashKey !== undefined
      ? BigInt(newStartingHashKey)
      : (shard.start + shard.end + 1n) / 2n;
  if (at <= shard.start || at > shard.end)
    throw new ServiceError('InvalidArgumentException', 'NewStartingHashKey outside the shard');
  const a = addShard(stream, shard.start, at - 1n, [shard.shardId]);
  const b = addShard(stream, at, shard.end, [shard.shardId]);
  closeShard(stream, shard, [a.shardId, b.shardId]);
  return [a.shardId, b.shardId];
}

/** Merges two adjacent open shards into one child. */
export function mergeShards(stream: StreamState, shardId: string, adjacentShardId: string): string {
  const a = openShard(stream, shardId);
  const b = openShard(stream, adjacentShardId);
  const [lo, hi] = a.start < b.start ? [a, b] : [b, a];
  if (lo.end + 1n !== hi.start)
    throw new ServiceError('InvalidArgumentException', 'shards are not adjacent');
  const child = addShard(stream, lo.start, hi.end, [a.shardId, b.shardId]);
  closeShard(stream, a, [child.shardId]);
  closeShard(stream, b, [child.shardId]);
  return child.shardId;
}

function openShard(stream: StreamState, shardId: string): ShardState {
  const shard = stream.shards.find((s) => s.shardId === shardId);
  if (!shard || shard.endingSequenceNumber !== undefined)
    throw new ServiceError('ResourceNotFoundException', `open shard ${shardId} not found`);
  return shard;
}

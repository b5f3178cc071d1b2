/**
 * Whether a shard is closed, from ListShards: the fallback end-of-shard signal for backends
 * whose subscriptions never send ChildShards. One listing is shared by every reader asking within
 * `maxAgeMs`, so idle shards do not each call ListShards.
 */
import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import { listAllShards } from '@shardline/common/list-shards';
import type { ChildShardInfo } from '../types';

/** Children of `shardId` if the listing shows it closed (an ending sequence number), else undefined. */
export function closedShardChildren(
  shards: Shard[],
  shardId: string,
): ChildShardInfo[] | undefined {
  const shard = shards.find((s) => s.ShardId === shardId);
  if (!shard?.SequenceNumberRange?.EndingSequenceNumber) return undefined;
  return shards
    .filter((s) => s.ParentShardId === shardId || s.AdjacentParentShardId === shardId)
    .map((s) => ({
      shardId: s.ShardId!,
      parentShards: [s.ParentShardId, s.AdjacentParentShardId].filter(
        (p): p is string => typeof p === 'string',
      ),
      ...(s.HashKeyRange
        ? {
            hashKeyRange: {
              startingHashKey: s.HashKeyRange.StartingHashKey!,
              endingHashKey: s.HashKeyRange.EndingHashKey!,
            },
          }
        : {}),
    }));
}

export class ShardListing {
  private cached: { at: number; shards: Promise<Shard[]> } | undefined;

  constructor(
    private readonly client: KinesisClient,
    private readonly streamArn: string,
    private readonly maxAgeMs = 1000,
  ) {}

  async childrenIfClosed(shardId: string): Promise<ChildShardInfo[] | undefined> {
    return closedShardChildren(await this.list(), shardId);
  }

  private list(): Promise<Shard[]> {
    if (!this.cached || Date.now() - this.cached.at > this.maxAgeMs) {
      const shards = this.fetch();
      this.cached = { at: Date.now(), shards };
      shards.catch(() => (this.cached = undefined));
    }
    return this.cached.shards;
  }

  private fetch(): Promise<Shard[]> {
    return listAllShards(this.client, { streamArn: this.streamArn });
  }
}

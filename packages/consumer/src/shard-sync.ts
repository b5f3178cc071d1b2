import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import type { Lease } from './leases/lease';
import type { InitialPosition } from './options';

/** Every shard of the stream, closed ones included. */
export async function listAllShards(
  client: KinesisClient,
  stream: { streamName?: string | undefined; streamArn?: string | undefined },
  signal?: AbortSignal,
): Promise<Shard[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    const out = await client.send(
      new ListShardsCommand(
        nextToken
          ? { NextToken: nextToken }
          : {
              ...(stream.streamName ? { StreamName: stream.streamName } : {}),
              ...(stream.streamArn ? { StreamARN: stream.streamArn } : {}),
            },
      ),
      signal ? { abortSignal: signal } : {},
    );
    shards.push(...(out.Shards ?? []));
    nextToken = out.NextToken;
  } while (nextToken);
  return shards;
}

/**
 * Pure: the leases to create for shards that have none. A shard whose parent is known (in the
 * stream or the table) starts at TRIM_HORIZON, so a child never skips records its parents did
 * not deliver; a root shard starts at the application's initial position.
 */
export function leasesForNewShards(
  shards: readonly Shard[],
  existing: ReadonlySet<string>,
  initialPosition: InitialPosition,
): Lease[] {
  const known = new Set([...existing, ...shards.map((s) => s.ShardId!)]);
  const sentinel = typeof initialPosition === 'object' ? 'AT_TIMESTAMP' : initialPosition;
  const out: Lease[] = [];
  for (const shard of shards) {
    const id = shard.ShardId!;
    if (existing.has(id)) continue;
    const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter(
      (p): p is string => !!p && known.has(p),
    );
    out.push({
      leaseKey: id,
      leaseOwner: undefined,
      leaseCounter: 0,
      checkpoint: parents.length > 0 ? 'TRIM_HORIZON' : sentinel,
      checkpointSubSequenceNumber: 0,
      ownerSwitchesSinceCheckpoint: 0,
      parentShardIds: parents,
      childShardIds: [],
      startingHashKey: shard.HashKeyRange?.StartingHashKey,
      endingHashKey: shard.HashKeyRange?.EndingHashKey,
      checkpointOwner: undefined,
    });
  }
  return out;
}

/** A lease can be processed once every parent is finished (SHARD_END) or no longer in the table. */
export function parentsDone(lease: Lease, byKey: ReadonlyMap<string, Lease>): boolean {
  return lease.parentShardIds.every((p) => {
    const parent = byKey.get(p);
    return parent === undefined || parent.checkpoint === 'SHARD_END';
  });
}

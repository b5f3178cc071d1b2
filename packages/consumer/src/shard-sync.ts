import type { Shard } from '@aws-sdk/client-kinesis';
import type { Lease } from './leases/lease';
import type { InitialPosition } from './options';

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
  const done = ancestorsOfLeased(shards, existing);
  const out: Lease[] = [];
  for (const shard of shards) {
    const id = shard.ShardId!;
    if (existing.has(id) || done.has(id)) continue;
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

/**
 * Shards with a leased descendant: already processed, their leases deleted since (the KCL's
 * `LeaseCleanupManager` deletes a finished parent's lease once its children are under way). A new
 * lease for one would read it again from the initial position and hold its children back, so
 * none is made, as the KCL's `HierarchicalShardSyncer` makes none for ancestors of leased shards.
 */
function ancestorsOfLeased(shards: readonly Shard[], existing: ReadonlySet<string>): Set<string> {
  const done = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const shard of shards) {
      if (!existing.has(shard.ShardId!) && !done.has(shard.ShardId!)) continue;
      for (const parent of [shard.ParentShardId, shard.AdjacentParentShardId]) {
        if (parent && !existing.has(parent) && !done.has(parent)) {
          done.add(parent);
          changed = true;
        }
      }
    }
  }
  return done;
}

/**
 * A lease can be processed once every parent is finished (SHARD_END) or no longer in the table.
 * `keyOf` turns a parent shard id into its lease key (multi-stream leases name parents by bare
 * shard id, as `BlockOnParentShardTask` looks them up through `ShardInfo.getLeaseKey`).
 */
export function parentsDone(
  lease: Lease,
  byKey: ReadonlyMap<string, Lease>,
  keyOf: (parentShardId: string) => string = (p) => p,
): boolean {
  return lease.parentShardIds.every((p) => {
    const parent = byKey.get(keyOf(p));
    return parent === undefined || parent.checkpoint === 'SHARD_END';
  });
}

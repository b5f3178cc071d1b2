import type { Shard } from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import { isFinished, type Lease } from './lease';
import { LeaseConflict, type LeaseTable } from './lease-table';

/** Why a lease is deleted. */
export type CleanupReason =
  /** Read to its end, and every child has started: `LeaseCleanupManager.cleanupLeaseForCompletedShard`. */
  | 'completed'
  /** Its shard is no longer listed (past the stream's retention): `cleanupLeaseForGarbageShard`. */
  | 'garbage';

export interface CleanupCandidate {
  lease: Lease;
  reason: CleanupReason;
}

export interface CleanupInput {
  leases: readonly Lease[];
  /** Every shard of the stream, as a complete `ListShards` listing returned them. */
  shards: readonly Shard[];
  /**
   * Lease keys that were missing from the previous complete listing too: a lease is garbage only
   * when two listings a sync apart both lack its shard, so one odd listing deletes nothing.
   */
  missingBefore: ReadonlySet<string>;
  completed: boolean;
  garbage: boolean;
}

export interface CleanupPlan {
  delete: CleanupCandidate[];
  /** Lease keys whose shard this listing lacks (the next call's `missingBefore`). */
  missing: Set<string>;
}

/**
 * Pure: the leases to delete, after the KCL's `LeaseCleanupManager` (KCL 2.x/3.x
 * `leases/LeaseCleanupManager.java`):
 *
 * - a **finished** lease (`SHARD_END`) once every child shard has a lease whose checkpoint is
 *   past `TRIM_HORIZON` / `AT_TIMESTAMP` (the child's processing has begun, so nothing waits on
 *   the parent any more) and none of its own parents has a lease left (parents go first, as in
 *   `allParentShardLeasesDeleted`). Children come from the lease's `childShardIds` and, when it has
 *   none, from the listing (`getChildShardsFromService`); with no child known it stays.
 * - a lease whose shard is **gone from the stream** (past retention: `ListShards` lists closed
 *   shards until then), seen missing by two listings, as the KCL deletes a lease whose shard
 *   returns `ResourceNotFoundException`. Its records are gone, so no child can wait for them.
 *
 * Never deleted: an unfinished lease of a listed shard; a finished one a child has not started
 * after (a merge's other parent may still be running: the child must go on waiting for it, and
 * finds this parent done, not missing, only because the lease stays); a finished one whose parent
 * still has a lease.
 */
export function planLeaseCleanup(input: CleanupInput): CleanupPlan {
  const byKey = new Map(input.leases.map((l) => [l.leaseKey, l]));
  const listed = new Set(input.shards.map((s) => s.ShardId!));
  const childrenInStream = new Map<string, string[]>();
  for (const shard of input.shards) {
    for (const parent of [shard.ParentShardId, shard.AdjacentParentShardId]) {
      if (!parent) continue;
      const list = childrenInStream.get(parent) ?? [];
      list.push(shard.ShardId!);
      childrenInStream.set(parent, list);
    }
  }
  const plan: CleanupPlan = { delete: [], missing: new Set() };
  // An empty listing is no evidence (a stream always has an open shard): delete nothing for it.
  const listingUsable = input.shards.length > 0;
  for (const lease of input.leases) {
    if (listingUsable && !listed.has(lease.leaseKey)) {
      plan.missing.add(lease.leaseKey);
      if (input.garbage && input.missingBefore.has(lease.leaseKey)) {
        plan.delete.push({ lease, reason: 'garbage' });
        continue;
      }
    }
    if (!input.completed || !isFinished(lease)) continue;
    const children =
      lease.childShardIds.length > 0
        ? lease.childShardIds
        : (childrenInStream.get(lease.leaseKey) ?? []);
    if (children.length === 0) continue;
    const allStarted = children.every((child) => {
      const childLease = byKey.get(child);
      return childLease !== undefined && hasStarted(childLease);
    });
    const parentsGone = lease.parentShardIds.every((p) => !byKey.has(p));
    if (allStarted && parentsGone) plan.delete.push({ lease, reason: 'completed' });
  }
  return plan;
}

/** The KCL's test of a child "being processed": its checkpoint is past the starting sentinels. */
function hasStarted(lease: Lease): boolean {
  return lease.checkpoint !== 'TRIM_HORIZON' && lease.checkpoint !== 'AT_TIMESTAMP';
}

export interface LeaseCleanerDeps {
  /** Where deletes go (a multi-stream consumer maps its per-stream views back to stored keys). */
  table: Pick<LeaseTable, 'delete'>;
  completedLeases: boolean;
  garbageLeases: boolean;
  /** Least time between two looks for finished leases (the KCL's `completedLeaseCleanupIntervalMillis`). */
  completedLeaseCleanupIntervalMillis: number;
  /** Least time between two looks for leases of shards gone (`garbageLeaseCleanupIntervalMillis`). */
  garbageLeaseCleanupIntervalMillis: number;
  logger: Logger;
  now?: () => number;
}

/**
 * Runs `planLeaseCleanup` at shard syncs, each kind at most once per its interval from start (the
 * KCL's `LeaseCleanupManager` runs on timers of its own; the sync already has the listing and the
 * leases). Every worker may run it: deletes are conditional (`LeaseTable.delete`), so the ones
 * that lose a race are no-ops.
 */
export class LeaseCleaner {
  private missing: ReadonlySet<string> = new Set();
  private readonly now: () => number;
  private lastCompleted: number;
  private lastGarbage: number;

  constructor(private readonly d: LeaseCleanerDeps) {
    this.now = d.now ?? Date.now;
    this.lastCompleted = this.lastGarbage = this.now();
  }

  /** Deletes what the plan says (for the kinds that are due); returns the leases deleted. */
  async run(leases: readonly Lease[], shards: readonly Shard[]): Promise<CleanupCandidate[]> {
    const d = this.d;
    const now = this.now();
    const completed =
      d.completedLeases && now - this.lastCompleted >= d.completedLeaseCleanupIntervalMillis;
    const garbage =
      d.garbageLeases && now - this.lastGarbage >= d.garbageLeaseCleanupIntervalMillis;
    if (!completed && !garbage) return [];
    if (completed) this.lastCompleted = now;
    const plan = planLeaseCleanup({
      leases,
      shards,
      missingBefore: this.missing,
      completed,
      garbage,
    });
    if (garbage) {
      this.lastGarbage = now;
      this.missing = plan.missing;
    }
    const deleted: CleanupCandidate[] = [];
    for (const candidate of plan.delete) {
      try {
        await d.table.delete(candidate.lease);
        deleted.push(candidate);
        d.logger.info(
          { shardId: candidate.lease.leaseKey, reason: candidate.reason },
          candidate.reason === 'completed'
            ? 'lease deleted: shard finished and its children have started'
            : 'lease deleted: shard no longer in the stream (past retention)',
        );
      } catch (error) {
        if (!(error instanceof LeaseConflict))
          d.logger.warn(
            { shardId: candidate.lease.leaseKey, err: error },
            'deleting a lease failed',
          );
      }
    }
    return deleted;
  }
}

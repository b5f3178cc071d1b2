import { isSentinel } from '../checkpoint/sequence';
import { isFinished, type Lease } from '../leases/lease';
import type { LeaseLiveness } from './liveness';

/**
 * A checkpoint as the lease table stores it. The shard resumes right after it: a sequence number
 * (with the sub-sequence number inside an aggregate), or a sentinel (`TRIM_HORIZON`, `LATEST`,
 * `SHARD_END`). Sub-sequence `-1` is "before the record's first sub-record", so the record itself
 * is read again; a timestamp rewind lands there.
 */
export interface CheckpointPosition {
  checkpoint: string;
  checkpointSubSequenceNumber: number;
}

/** Where `rewindCheckpoints` sends the shards it selects. */
export type RewindTarget = 'TRIM_HORIZON' | 'LATEST' | { timestamp: Date };

/** A per-shard decision made before planning: the position to write, or why the shard is left alone. */
export type ResolvedTarget = CheckpointPosition | { skip: string };

/** One lease the plan would change, and what it does to it. */
export interface PlannedChange {
  shardId: string;
  from: CheckpointPosition;
  to: CheckpointPosition;
  /** The owner at the time of the read, whose lease the write takes away (undefined: free lease). */
  owner: string | undefined;
  /** What the reader judged the owner to be (`unknown` under `force`, which does not watch). */
  liveness: LeaseLiveness;
  /** The counter the conditional write expects; the write sets it to this + 1. */
  leaseCounter: number;
}

/** The outcome of planning: the writes, the shards left alone, and what blocks the rewind. */
export interface RewindPlan {
  changes: PlannedChange[];
  skipped: { shardId: string; reason: string }[];
  /** Leases held by workers that are (or may be) alive; non-empty only without `force`. */
  blockers: { shardId: string; owner: string; liveness: LeaseLiveness }[];
}

/**
 * Pure: the rewind of `leases` to `targets` (shard id → position), judged against `liveness`.
 * Without `force`, any owned lease to be changed that is not known to be expired blocks the whole
 * rewind: a running worker would keep processing, and checkpoint over the rewind. With `force`,
 * every owned lease is fenced by the write itself (see `rewindCheckpoints`).
 */
export function planRewind(input: {
  leases: readonly Lease[];
  targets: ReadonlyMap<string, ResolvedTarget>;
  liveness: (lease: Lease) => LeaseLiveness;
  force: boolean;
}): RewindPlan {
  const plan: RewindPlan = { changes: [], skipped: [], blockers: [] };
  for (const lease of [...input.leases].sort((a, b) => a.leaseKey.localeCompare(b.leaseKey))) {
    const target = input.targets.get(lease.leaseKey);
    if (target === undefined) continue;
    if ('skip' in target) {
      plan.skipped.push({ shardId: lease.leaseKey, reason: target.skip });
      continue;
    }
    const from = {
      checkpoint: lease.checkpoint,
      checkpointSubSequenceNumber: lease.checkpointSubSequenceNumber,
    };
    if (
      from.checkpoint === target.checkpoint &&
      from.checkpointSubSequenceNumber === target.checkpointSubSequenceNumber &&
      lease.leaseOwner === undefined
    ) {
      plan.skipped.push({ shardId: lease.leaseKey, reason: 'already there' });
      continue;
    }
    const liveness = lease.leaseOwner === undefined ? 'free' : input.liveness(lease);
    if (!input.force && (liveness === 'live' || liveness === 'unknown'))
      plan.blockers.push({ shardId: lease.leaseKey, owner: lease.leaseOwner!, liveness });
    plan.changes.push({
      shardId: lease.leaseKey,
      from,
      to: target,
      owner: lease.leaseOwner,
      liveness,
      leaseCounter: lease.leaseCounter,
    });
  }
  return plan;
}

/** Pure: the sentinel a target means for a lease, for the targets that need no reading of the stream. */
export function sentinelTarget(
  lease: Lease,
  target: 'TRIM_HORIZON' | 'LATEST',
  streamGiven: boolean,
): ResolvedTarget {
  if (isFinished(lease)) {
    // A finished shard's end is where LATEST of a closed shard is; and rewinding one to its start
    // is only safe once we know the shard is still in the stream (the caller checks with a stream).
    if (target === 'LATEST')
      return { skip: 'finished (SHARD_END): LATEST of a closed shard is its end' };
    if (!streamGiven)
      return {
        skip: 'finished (SHARD_END): give the stream to rewind finished shards still in it',
      };
  }
  return { checkpoint: target, checkpointSubSequenceNumber: 0 };
}

/** A position for display: `SEQ/SUB`, or the sentinel. */
export function formatPosition(p: CheckpointPosition): string {
  return isSentinel(p.checkpoint)
    ? p.checkpoint
    : `${p.checkpoint}/${p.checkpointSubSequenceNumber}`;
}

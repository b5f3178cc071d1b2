import { isFinished, type Lease } from './lease';

/** What the taker knows of a lease: the lease and when this worker last saw its counter move. */
export interface ObservedLease {
  lease: Lease;
  /** Local time (ms) the counter was last seen to change. */
  lastCounterChange: number;
}

export interface TakerInput {
  workerId: string;
  leases: readonly ObservedLease[];
  now: number;
  failoverTimeMillis: number;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  /** Shards whose parents are all finished (or gone): only these can be processed. */
  ready: (lease: Lease) => boolean;
}

export interface TakerDecision {
  /** Free or expired leases to take. */
  take: Lease[];
  /** Leases to ask another worker to hand over (graceful steal). */
  steal: Lease[];
  /** Even share this worker aims at. */
  target: number;
}

export function isExpired(o: ObservedLease, now: number, failoverTimeMillis: number): boolean {
  return o.lease.leaseOwner === undefined || now - o.lastCounterChange > failoverTimeMillis;
}

/**
 * Pure lease balancing, after the KCL's DynamoDBLeaseTaker: count live workers (owners of
 * unexpired leases, plus this one), aim at an even share of the unfinished, ready leases, take
 * free or expired ones first, and only when none is left steal from the most loaded worker, at
 * most `maxLeasesToStealAtOneTime` per pass, so leases do not ping-pong.
 */
export function decideLeases(input: TakerInput): TakerDecision {
  const { workerId, now, failoverTimeMillis } = input;
  const active = input.leases.filter((o) => !isFinished(o.lease) && input.ready(o.lease));
  const counts = new Map<string, ObservedLease[]>();
  counts.set(workerId, []);
  for (const o of active) {
    if (isExpired(o, now, failoverTimeMillis)) continue;
    const owner = o.lease.leaseOwner!;
    const list = counts.get(owner) ?? [];
    list.push(o);
    counts.set(owner, list);
  }
  const workers = counts.size;
  let target = Math.ceil(active.length / workers);
  target = Math.min(target, input.maxLeasesForWorker);
  const mine = counts.get(workerId)!.length;
  let needed = target - mine;
  const decision: TakerDecision = { take: [], steal: [], target };
  if (needed <= 0) return decision;

  // Free and expired leases first; the oldest-expired first is fair enough, shard order keeps it stable.
  const available = active
    .filter((o) => isExpired(o, now, failoverTimeMillis) && o.lease.leaseOwner !== workerId)
    .sort((a, b) => a.lease.leaseKey.localeCompare(b.lease.leaseKey));
  for (const o of available) {
    if (needed === 0) break;
    decision.take.push(o.lease);
    needed--;
  }
  if (decision.take.length > 0 || needed <= 0) return decision;

  // Nothing free: steal from the most loaded worker if it holds more than the target (or the
  // target when we hold none beyond one short), one lease at a time by default.
  let busiest: [string, ObservedLease[]] | undefined;
  for (const entry of counts) {
    if (entry[0] === workerId) continue;
    if (!busiest || entry[1].length > busiest[1].length) busiest = entry;
  }
  if (!busiest) return decision;
  const [, theirs] = busiest;
  const overTarget = theirs.length > target || (theirs.length === target && mine < target - 1);
  if (!overTarget) return decision;
  const candidates = theirs
    .filter((o) => o.lease.checkpointOwner === undefined)
    .sort((a, b) => a.lease.leaseKey.localeCompare(b.lease.leaseKey));
  const count = Math.min(
    input.maxLeasesToStealAtOneTime,
    needed,
    theirs.length - target > 0 ? theirs.length - target : 1,
  );
  decision.steal.push(...candidates.slice(0, count).map((o) => o.lease));
  return decision;
}

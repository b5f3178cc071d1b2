import { isFinished, type Lease } from './lease';
import { stampExpired } from './renewal-stamp';

/** Default `maxClockSkewMillis`: how far two workers' clocks may drift before stamps mislead. */
export const DEFAULT_MAX_CLOCK_SKEW_MILLIS = 1000;

/** What the taker knows of a lease: the lease and when this worker last saw its counter move. */
export interface ObservedLease {
  lease: Lease;
  /** Local time (ms) the counter was last seen to change. */
  lastCounterChange: number;
  /** Local time (ms) the current owner was first seen (undefined: long ago). */
  ownerSince?: number;
}

export interface TakerInput {
  workerId: string;
  leases: readonly ObservedLease[];
  now: number;
  failoverTimeMillis: number;
  /** Allowance for clock drift when judging a renewal stamp (default `DEFAULT_MAX_CLOCK_SKEW_MILLIS`). */
  maxClockSkewMillis?: number;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  /** Shards whose parents are all finished (or gone): only these can be processed. */
  ready: (lease: Lease) => boolean;
  /**
   * Randomises which free leases are taken and which are stolen (`Math.random` in the
   * coordinator); without it, shard order (deterministic, for tests).
   */
  random?: () => number;
}

export interface TakerDecision {
  /** Free or expired leases to take. */
  take: Lease[];
  /** Leases to ask another worker to hand over (graceful steal). */
  steal: Lease[];
  /** Even share this worker aims at. */
  target: number;
  /**
   * The live workers the share was computed over: owners of unfinished, ready, unexpired leases,
   * and this worker.
   */
  liveWorkers: ReadonlySet<string>;
}

/**
 * Free, or expired by either rule: its owner's renewal stamp is older than failover + skew (one
 * look, `stampExpired`), or this worker saw its counter stand still for longer than failover (two
 * looks, by the local clock: the KCL's rule, the only one for leases a KCL worker renews).
 */
export function isExpired(
  o: ObservedLease,
  now: number,
  failoverTimeMillis: number,
  maxClockSkewMillis = DEFAULT_MAX_CLOCK_SKEW_MILLIS,
): boolean {
  return (
    o.lease.leaseOwner === undefined ||
    now - o.lastCounterChange > failoverTimeMillis ||
    stampExpired(o.lease, now, failoverTimeMillis, maxClockSkewMillis)
  );
}

/**
 * Pure lease balancing, after the KCL's `DynamoDBLeaseTaker` (`computeLeasesToTake`,
 * `chooseLeasesToSteal`): count live workers (owners of unexpired leases, plus this one), aim at
 * an even share (`ceil(leases / workers)`, the KCL's target) of the unfinished, ready leases, take
 * free or expired ones first, and only when none is left steal from workers above the target.
 *
 * Unlike the KCL, which takes every expired lease it needs but steals one lease per pass, the
 * shortfall is stolen at once (up to `maxLeasesToStealAtOneTime`), spread over the loaded
 * workers from the most loaded down, and never below a victim's target: a joining worker reaches
 * its share in one pass, and each lease moves once for one join or leave. A worker at the target
 * loses nothing, so the thief never pushes anyone below the even share and nobody steals back
 * (no ping-pong); KCL takers, which steal one at a time by the same target, agree on the split.
 */
export function decideLeases(input: TakerInput): TakerDecision {
  const { workerId, now, failoverTimeMillis } = input;
  const expired = (o: ObservedLease) =>
    isExpired(o, now, failoverTimeMillis, input.maxClockSkewMillis);
  const active = input.leases.filter((o) => !isFinished(o.lease) && input.ready(o.lease));
  const counts = new Map<string, ObservedLease[]>();
  counts.set(workerId, []);
  for (const o of active) {
    if (expired(o)) continue;
    const owner = o.lease.leaseOwner!;
    const list = counts.get(owner) ?? [];
    list.push(o);
    counts.set(owner, list);
  }
  const workers = counts.size;
  const target = Math.min(Math.ceil(active.length / workers), input.maxLeasesForWorker);
  // The smallest share in an even split: a worker below it may take from one at the target.
  const floor = Math.min(Math.floor(active.length / workers), input.maxLeasesForWorker);
  const mine = counts.get(workerId)!.length;
  let needed = target - mine;
  const decision: TakerDecision = {
    take: [],
    steal: [],
    target,
    liveWorkers: new Set(counts.keys()),
  };
  if (needed <= 0) return decision;

  // Free and expired leases first, in a way that keeps workers looking at the same moment (woken
  // together by a hint) from all racing for the same ones (conditional takes settle conflicts).
  const available = takeOrder(
    active.filter((o) => expired(o) && o.lease.leaseOwner !== workerId),
    counts,
    target,
    workerId,
    input.random,
  );
  for (const o of available) {
    if (needed === 0) break;
    decision.take.push(o.lease);
    needed--;
  }
  if (decision.take.length > 0 || needed <= 0) return decision;

  // Nothing free: steal what is above the target, most loaded workers first. If no one is above
  // it but this worker is below the smallest even share (e.g. 3, 3, 3, 1 for 10 leases), one
  // lease from a worker at the target evens it out (the KCL's `leaseCounts == target` case).
  let budget = Math.min(needed, input.maxLeasesToStealAtOneTime);
  const others = [...counts]
    .filter(([owner]) => owner !== workerId)
    .sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
  for (const [, theirs] of others) {
    if (budget <= 0) break;
    const excess = theirs.length - target;
    if (excess <= 0) break;
    const candidates = longestHeldFirst(
      order(
        theirs.filter((o) => o.lease.checkpointOwner === undefined),
        input.random,
      ),
    ).slice(0, Math.min(excess, budget));
    decision.steal.push(...candidates.map((o) => o.lease));
    budget -= candidates.length;
  }
  if (decision.steal.length === 0 && mine < floor && budget > 0) {
    const busiest = others[0];
    if (busiest && busiest[1].length === target && target > floor) {
      const candidate = longestHeldFirst(
        order(
          busiest[1].filter((o) => o.lease.checkpointOwner === undefined),
          input.random,
        ),
      )[0];
      if (candidate) decision.steal.push(candidate.lease);
    }
  }
  return decision;
}

/**
 * The order in which to try the free and expired leases. With several live workers short of the
 * target, each tries its own slice first: the leases in key order dealt out to the short workers
 * in id order, each its shortfall, so workers that saw the same table take disjoint leases; then
 * the rest. Alone short (as every worker of a cold start is, seeing no other owner yet): random
 * order when `random` is given.
 */
function takeOrder(
  available: ObservedLease[],
  counts: ReadonlyMap<string, readonly ObservedLease[]>,
  target: number,
  workerId: string,
  random: (() => number) | undefined,
): ObservedLease[] {
  const short = [...counts]
    .filter(([, held]) => held.length < target)
    .map(([id, held]) => ({ id, shortfall: target - held.length }))
    .sort((a, b) => a.id.localeCompare(b.id));
  if (short.length <= 1) return order(available, random);
  let offset = 0;
  for (const { id, shortfall } of short) {
    if (id === workerId) break;
    offset += shortfall;
  }
  const byKey = order(available, undefined);
  const own = byKey.slice(offset, offset + target - counts.get(workerId)!.length);
  return [
    ...own,
    ...order(
      byKey.filter((o) => !own.includes(o)),
      random,
    ),
  ];
}

/**
 * The leases their owner has held longest first (stable, so ties keep `order`'s order): a lease
 * that just moved, e.g. one a KCL 3 leader or a KCL taker just took, is the last one stolen, so
 * no lease is moved straight back and nobody fights over one.
 */
function longestHeldFirst(leases: ObservedLease[]): ObservedLease[] {
  return [...leases].sort((a, b) => (a.ownerSince ?? -Infinity) - (b.ownerSince ?? -Infinity));
}

/** Shard order, or a random one (Fisher-Yates with `random`). */
function order(leases: ObservedLease[], random: (() => number) | undefined): ObservedLease[] {
  const out = [...leases].sort((a, b) => a.lease.leaseKey.localeCompare(b.lease.leaseKey));
  if (!random) return out;
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

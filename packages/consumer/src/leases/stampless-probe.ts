import { isSteadilyHeld, type Lease } from './lease';
import type { ObservedLease } from './lease-taker';
import type { FleetView } from './scan-schedule';
import { probeCallsForScan } from './slot-probe';
import { hintTargets } from './wake-hints';

/**
 * Watching owners that write no renewal stamp (Java KCL workers, or anything else renewing
 * without `shardlineRenewedAt`). Their leases can only be judged by the counter rule, two looks
 * by the same worker more than a failover apart, and a settled worker looks once per round of
 * shared slots: without a watch, a dead KCL worker's shards could stay unread for two rounds
 * (≈ 400 s for 16 workers at failover 10 s).
 *
 * So one Shardline worker per stampless owner (the first live worker after it by sorted id that
 * is not stampless itself, so the fleet does not multiply reads) reads one of its leases every
 * `failoverTimeMillis / 2` (one eventually consistent GetItem, 0.5 read unit), and keeps what it
 * saw as its observation of that lease. The owner renews every failover / 3, so a counter that
 * stood still across two probes (`≥ failover / 2`) says it missed a renewal: the watcher scans at
 * once (its first look at every lease of the owner at the counters they stopped at) and wakes the
 * other workers, which scan too. Every worker that looked then scans again once those counters
 * would have stood still for a failover (`stamplessRecheckAt`), and the counter rule, by each
 * worker's own two looks, takes the dead owner's leases in even shares. One lease stopping says
 * nothing about the owner's others: the counter rule alone decides each of them, so a live KCL
 * worker never loses a lease it renews.
 */

/** How often the watcher reads a stampless owner's lease, and how long a still counter is a sign. */
export function stamplessProbeMillis(failoverTimeMillis: number): number {
  return Math.max(100, Math.floor(failoverTimeMillis / 2));
}

/**
 * The live owners, other than this worker, none of whose held leases (not finished, no hand-off
 * pending) carries a renewal stamp of its current counter.
 */
export function stamplessOwners(
  leases: readonly Lease[],
  live: ReadonlySet<string>,
  workerId: string,
): Set<string> {
  const stamped = new Map<string, boolean>();
  for (const lease of leases) {
    const owner = lease.leaseOwner;
    if (owner === undefined || owner === workerId || !live.has(owner)) continue;
    if (!isSteadilyHeld(lease)) continue;
    const stamp = lease.renewalStamp;
    const current = stamp !== undefined && stamp.counter === lease.leaseCounter;
    stamped.set(owner, (stamped.get(owner) ?? false) || current);
  }
  return new Set([...stamped].filter(([, s]) => !s).map(([owner]) => owner));
}

/**
 * Who watches `owner`: the first worker after it in the fleet's sorted ids (wrapping around) that
 * is not stampless, so every Shardline worker that saw the same scan picks the same one.
 */
export function stamplessWatcher(
  owner: string,
  view: FleetView,
  stampless: ReadonlySet<string>,
): string | undefined {
  const at = view.ids.indexOf(owner);
  for (let i = 1; i < view.ids.length; i++) {
    const id = view.ids[(at + i + view.ids.length) % view.ids.length]!;
    if (!stampless.has(id) && id !== owner) return id;
  }
  return undefined;
}

/** The leases this worker probes: one (as a wake-up hint would pick) per stampless owner it watches. */
export function stamplessProbeTargets(
  leases: readonly Lease[],
  view: FleetView,
  stampless: ReadonlySet<string>,
  workerId: string,
): Lease[] {
  const watched = new Set(
    [...stampless].filter((owner) => stamplessWatcher(owner, view, stampless) === workerId),
  );
  return watched.size === 0 ? [] : hintTargets(leases, watched, workerId);
}

/** What one watch probe saw, and whether it calls for a scan now. */
export interface StamplessProbeResult {
  /** The lease as now observed (counter, and when it was first seen); undefined if gone or moved. */
  observed: ObservedLease | undefined;
  scan: boolean;
}

/**
 * A watch probe: the lease is gone, moved or expired (`probeCallsForScan`), or its counter has
 * stood still for `stamplessProbeMillis` by this worker's looks (a renewal missed). A probe that
 * sees a new counter restarts the clock, as a scan would.
 */
export function stamplessProbe(
  seen: ObservedLease,
  probed: Lease | undefined,
  now: number,
  failoverTimeMillis: number,
  maxClockSkewMillis: number,
): StamplessProbeResult {
  if (probed === undefined || probed.leaseOwner !== seen.lease.leaseOwner)
    return { observed: undefined, scan: true };
  const observed: ObservedLease =
    probed.leaseCounter === seen.lease.leaseCounter
      ? { ...seen, lease: probed }
      : { ...seen, lease: probed, lastCounterChange: now };
  const scan =
    probeCallsForScan(seen, probed, now, failoverTimeMillis, maxClockSkewMillis) ||
    now - observed.lastCounterChange >= stamplessProbeMillis(failoverTimeMillis);
  return { observed, scan };
}

/**
 * When to look again after a watch scan (or a scan woken by one): the first moment some stampless
 * owner's leases would all be expired by the counter rule, had none of their counters moved since
 * this worker last saw them change. Undefined when no stampless owner holds a lease.
 */
export function stamplessRecheckAt(
  observed: Iterable<ObservedLease>,
  stampless: ReadonlySet<string>,
  failoverTimeMillis: number,
): number | undefined {
  const latest = new Map<string, number>();
  for (const o of observed) {
    const owner = o.lease.leaseOwner;
    if (owner === undefined || !stampless.has(owner)) continue;
    if (!isSteadilyHeld(o.lease)) continue;
    latest.set(owner, Math.max(latest.get(owner) ?? -Infinity, o.lastCounterChange));
  }
  if (latest.size === 0) return undefined;
  return Math.min(...latest.values()) + failoverTimeMillis + 1;
}

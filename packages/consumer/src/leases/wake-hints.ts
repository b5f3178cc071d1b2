import { isSteadilyHeld, type Lease } from './lease';

/**
 * Lease attribute holding a wake-up hint: epoch ms (the writer's clock) of the last time a worker
 * asked this lease's owner to look at the table now rather than at its next shared slot. Written
 * without touching `leaseCounter`, so no renewal's condition is disturbed; a KCL owner ignores it.
 */
export const WAKE_ATTRIBUTE = 'shardlineWake';

export interface WakeInput {
  /** This worker's first scan: it just joined, and everyone's ranks change. */
  firstPass: boolean;
  /** Whether this worker was settled before the scan. */
  wasSettled: boolean;
  /** Whether the scan left it settled (nothing to take, steal or wait for; same live workers). */
  settledNow: boolean;
  /** Other live workers seen. */
  others: number;
  /** When this worker last wrote hints. */
  lastHintAt: number | undefined;
  now: number;
  /** Least time between two rounds of hints from one worker. */
  minGapMillis: number;
}

/**
 * Whether to wake the other live workers: this worker just joined, or a settled worker's scan
 * found something to act on (a lease free or expired, a worker come or gone, an uneven split),
 * which the others, scanning only in their own slots, would otherwise learn of up to a round of
 * slots later. An unsettled worker does not hint (it was woken, or is converging with the others),
 * so hints never cascade; and at most one round per `minGapMillis`.
 */
export function shouldWake(input: WakeInput): boolean {
  if (input.others === 0) return false;
  if (!input.firstPass && !(input.wasSettled && !input.settledNow)) return false;
  return input.lastHintAt === undefined || input.now - input.lastHintAt >= input.minGapMillis;
}

/**
 * One lease of each other live owner to write the hint on: one it renews (held, no hand-off
 * pending, not finished), the first by key so that workers waking the fleet together pick the
 * same ones.
 */
export function hintTargets(
  leases: readonly Lease[],
  liveOwners: ReadonlySet<string>,
  workerId: string,
): Lease[] {
  const byOwner = new Map<string, Lease>();
  for (const lease of [...leases].sort((a, b) => a.leaseKey.localeCompare(b.leaseKey))) {
    const owner = lease.leaseOwner;
    if (owner === undefined || owner === workerId || !liveOwners.has(owner)) continue;
    if (!isSteadilyHeld(lease)) continue;
    if (!byOwner.has(owner)) byOwner.set(owner, lease);
  }
  return [...byOwner.values()];
}

/** True when a renewal came back with a hint newer than the one this worker last saw on the lease. */
export function wokenBy(previous: Lease, renewed: Lease): boolean {
  return renewed.wakeAt !== undefined && renewed.wakeAt !== previous.wakeAt;
}

import type { Lease } from './lease';
import { isExpired, type ObservedLease } from './lease-taker';
import { nextSharedScanAt, type FleetView } from './scan-schedule';
import { hintTargets } from './wake-hints';

/**
 * The predecessor liveness probe. Nobody scans in a dead worker's own slot, so without it the
 * first slot after its leases expire may pass unused, adding a slot to detection. In the slot of
 * the worker ranked just before it (wrapping around), a settled worker instead reads one lease of
 * that predecessor (one eventually consistent GetItem, 0.5 read unit) and scans at once if the
 * lease says its owner is gone. Only with shared scans and two or more live workers.
 */

/** The next thing a settled worker does on the shared schedule, and when (epoch ms). */
export interface SlotEvent {
  at: number;
  /** True: probe the predecessor (`probeTarget`); false: scan in this worker's own slot. */
  probe: boolean;
}

/** This worker's next own slot, or its predecessor's if that starts first (never alone). */
export function nextSlotEvent(now: number, slotMillis: number, view: FleetView): SlotEvent {
  const scanAt = nextSharedScanAt(now, slotMillis, view);
  if (view.workers < 2) return { at: scanAt, probe: false };
  const predecessor = { ...view, rank: (view.rank + view.workers - 1) % view.workers };
  const probeAt = nextSharedScanAt(now, slotMillis, predecessor);
  return probeAt < scanAt ? { at: probeAt, probe: true } : { at: scanAt, probe: false };
}

/**
 * The lease to probe: one the predecessor held at the last scan and renews (the same choice as a
 * wake-up hint's target), or undefined when there is no predecessor or it held none.
 */
export function probeTarget(
  leases: readonly Lease[],
  view: FleetView,
  workerId: string,
): Lease | undefined {
  if (view.workers < 2) return undefined;
  const predecessor = view.ids[(view.rank + view.workers - 1) % view.workers]!;
  return hintTargets(leases, new Set([predecessor]), workerId)[0];
}

/**
 * Whether the probed lease calls for a scan now: it is gone, has another owner (the fleet moved:
 * worth a look too), or is expired by the taker's own rule (`isExpired`: its stamp of the current
 * counter older than failover + skew, or its counter unmoved for a failover since `seen`).
 */
export function probeCallsForScan(
  seen: ObservedLease,
  probed: Lease | undefined,
  now: number,
  failoverTimeMillis: number,
  maxClockSkewMillis: number,
): boolean {
  if (probed === undefined || probed.leaseOwner !== seen.lease.leaseOwner) return true;
  const lastCounterChange =
    probed.leaseCounter === seen.lease.leaseCounter ? seen.lastCounterChange : now;
  return isExpired(
    { lease: probed, lastCounterChange },
    now,
    failoverTimeMillis,
    maxClockSkewMillis,
  );
}

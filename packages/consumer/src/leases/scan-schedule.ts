/**
 * The settled fleet's shared scan schedule: wall-clock slots of one interval each, dealt out to
 * the live workers round-robin by their sorted ids, so the fleet as a whole lists the lease table
 * once per slot whatever its size, and each worker once per `workers` slots. A lone worker scans
 * every `LONE_WORKER_SLOTS`th slot of `failover + epsilon`: with nobody else to watch it only
 * looks for new shards, which its own shard sync creates and then takes at once, and for joiners,
 * which wake it (`wake-hints.ts`). Two or more share slots of `SHARED_SLOT_FACTOR × (failover + epsilon)`, and
 * each also probes its predecessor's slot (`slot-probe.ts`).
 */

/**
 * A shared slot's length, in units of `failoverTimeMillis + 25` ms (the KCL's `failover +
 * epsilon`), for a fleet of two or more. It trades the two targets of issue 17 against each other:
 *
 * - Detection. With the predecessor probe, the first slot to start after a dead worker's leases
 *   expire either is a live worker's own (it scans) or the dead worker's (its successor probes,
 *   then scans): a dead worker's leases are all taken within F + skew + slot + F/3 + one pass. At
 *   the defaults (F = 10 s, skew 1 s): 10 + 1 + 1.25 × 10.025 + 3.33 = 26.9 s + a pass, within
 *   3 × F = 30 s for a pass of up to 3.1 s.
 * - Reads. The fleet reads one scan (C units) and one probe (an eventually consistent GetItem of
 *   an item under 4 KB: 0.5 unit) per slot: (C + 0.5) / 1.25 per `failover + 25`, fewer than the
 *   one scan of C per `failover + 25` of slots without the probe whenever C > 2 units (a table of
 *   more than 16 KB, ~55 leases of 300 B). The tight cell, S = 100 leases of 289 B (C = 4: 28.9 KB
 *   is 8 × 4 KB, halved): 4.5 / 1.25 = 3.6 units per 10.025 s, 0.9 × without the probe, so about
 *   12.6 units per shard-hour beside KCL 3's 15.
 *
 * 1.125 would only break even at C = 4; every further 0.1 costs 1 s of detection at the defaults.
 */
export const SHARED_SLOT_FACTOR = 1.25;

/**
 * A lone worker scans once per this many slots of `failover + epsilon`: 3 × (failover + 25 ms),
 * 1.5 × the KCL 2.x taker's `2 × (failover + epsilon)`. At the KCL's own pace a lone worker would
 * read more than the KCL: its items carry the renewal stamp (about 35 bytes, ~14 % of a 255-byte
 * lease, one more 4 KB unit per scan of 100 leases), while scanning often buys it nothing (no one
 * to fail over from; joiners wake it).
 */
export const LONE_WORKER_SLOTS = 3;

/** How many slots apart a worker's own settled scans are: one per worker, `LONE_WORKER_SLOTS` alone. */
export function scanPeriodSlots(workers: number): number {
  return workers <= 1 ? LONE_WORKER_SLOTS : workers;
}

/**
 * The settled slot for a fleet of `workers`: `baseSlotMillis` (failover + 25 ms) for a lone
 * worker, which scans every `LONE_WORKER_SLOTS`th one, `SHARED_SLOT_FACTOR` times that for two or more.
 */
export function sharedSlotMillis(baseSlotMillis: number, workers: number): number {
  return workers <= 1 ? baseSlotMillis : Math.floor(baseSlotMillis * SHARED_SLOT_FACTOR);
}

/** Where this worker stands among the live workers it saw at its last scan. */
export interface FleetView {
  /** Live workers, this one included. */
  workers: number;
  /** This worker's place among them, sorted by id (0-based). */
  rank: number;
  /** The sorted ids, joined: two views with the same key agree on every rank. */
  key: string;
  /** The live workers' ids, sorted (`rank` indexes it). */
  ids: readonly string[];
}

export function fleetView(liveOwners: Iterable<string>, workerId: string): FleetView {
  const ids = [...new Set([...liveOwners, workerId])].sort();
  return { workers: ids.length, rank: ids.indexOf(workerId), key: ids.join('\n'), ids };
}

/** The start of the next slot (strictly after `now`) that is this worker's to scan in. */
export function nextSharedScanAt(now: number, slotMillis: number, view: FleetView): number {
  const period = scanPeriodSlots(view.workers);
  const slot = Math.floor(now / slotMillis);
  const ahead = (((view.rank - slot) % period) + period) % period;
  return (slot + (ahead === 0 ? period : ahead)) * slotMillis;
}

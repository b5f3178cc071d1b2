/**
 * The settled fleet's shared scan schedule: wall-clock slots of one interval each, dealt out to
 * the live workers round-robin by their sorted ids, so the fleet as a whole lists the lease table
 * once per slot whatever its size, and each worker once per `workers` slots. A lone worker keeps
 * every other slot (the KCL 2.x taker's `2 × (failover + epsilon)` pace): with nobody else to
 * watch, it only looks for new shards and joiners (a joiner wakes it, see `wake-hints.ts`).
 */

/** Where this worker stands among the live workers it saw at its last scan. */
export interface FleetView {
  /** Live workers, this one included. */
  workers: number;
  /** This worker's place among them, sorted by id (0-based). */
  rank: number;
  /** The sorted ids, joined: two views with the same key agree on every rank. */
  key: string;
}

export function fleetView(liveOwners: Iterable<string>, workerId: string): FleetView {
  const ids = [...new Set([...liveOwners, workerId])].sort();
  return { workers: ids.length, rank: ids.indexOf(workerId), key: ids.join('\n') };
}

/** The start of the next slot (strictly after `now`) that is this worker's to scan in. */
export function nextSharedScanAt(now: number, slotMillis: number, view: FleetView): number {
  const period = Math.max(2, view.workers);
  const slot = Math.floor(now / slotMillis);
  const ahead = (((view.rank - slot) % period) + period) % period;
  return (slot + (ahead === 0 ? period : ahead)) * slotMillis;
}

import type { Lease } from '../leases/lease';

/**
 * What an operator's tool can say about a lease from reads of the table alone:
 * - `free`: no owner;
 * - `live`: owned, and its counter (or owner) changed between two reads, so a worker is renewing it;
 * - `expired`: owned, and its counter stayed the same for longer than `failoverTimeMillis` as seen
 *   by this reader: every worker of the application considers it expired and may take it;
 * - `unknown`: owned, unchanged, but not yet watched for `failoverTimeMillis`.
 */
export type LeaseLiveness = 'free' | 'live' | 'expired' | 'unknown';

interface Sighting {
  owner: string | undefined;
  counter: number;
  /** When this reader first saw this owner and counter (its clock, ms). */
  since: number;
  /** True once the owner or counter was seen to change. */
  moved: boolean;
}

/**
 * Judges leases the way the KCL's taker does (`DynamoDBLeaseTaker.updateAllLeases` records, per
 * lease, the local time it last saw `leaseCounter` change; `Lease.isExpired` compares that with
 * the failover time). There is no clock in the table to read: expiry is only knowable by watching
 * the counter stand still for `failoverTimeMillis` between two reads separated in time. A lease is
 * therefore never judged expired from a single read: its first sighting counts as a change, which
 * is the conservative reading (a worker that renewed just before the first read is not fenced by
 * mistake; it shows up as `unknown` and then `live`).
 */
export class LeaseWatch {
  private readonly sightings = new Map<string, Sighting>();

  constructor(private readonly failoverTimeMillis: number) {}

  /** Records one read of the table made at `at` (this reader's clock). */
  observe(leases: readonly Lease[], at: number): void {
    for (const lease of leases) {
      const seen = this.sightings.get(lease.leaseKey);
      if (!seen) {
        this.sightings.set(lease.leaseKey, {
          owner: lease.leaseOwner,
          counter: lease.leaseCounter,
          since: at,
          moved: false,
        });
      } else if (seen.owner !== lease.leaseOwner || seen.counter !== lease.leaseCounter) {
        seen.owner = lease.leaseOwner;
        seen.counter = lease.leaseCounter;
        seen.since = at;
        seen.moved = true;
      }
    }
  }

  /** The lease's liveness as of `now`, from what was observed. */
  judge(leaseKey: string, now: number): LeaseLiveness {
    const seen = this.sightings.get(leaseKey);
    if (!seen) return 'unknown';
    if (seen.owner === undefined) return 'free';
    if (now - seen.since > this.failoverTimeMillis) return 'expired';
    return seen.moved ? 'live' : 'unknown';
  }
}

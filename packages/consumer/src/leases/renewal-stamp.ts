import type { Lease } from './lease';

/**
 * Lease attribute holding the renewal stamp: `"<leaseCounter>@<epoch ms>"`, written by every
 * renewal and take of a Shardline worker with the counter that write leaves. KCL workers ignore
 * it (their `UpdateItem`s name the attributes they change) and leave it in place.
 */
export const RENEWAL_STAMP_ATTRIBUTE = 'shardlineRenewedAt';

/** When the owner last renewed a lease, by its own clock, and the counter it renewed to. */
export interface RenewalStamp {
  counter: number;
  at: number;
}

export function formatRenewalStamp(counter: number, at: number): string {
  return `${counter}@${Math.floor(at)}`;
}

/** The stamp in `value`, or undefined for a missing or malformed one (judged by two looks then). */
export function parseRenewalStamp(value: string | undefined): RenewalStamp | undefined {
  const match = value === undefined ? null : /^(\d+)@(\d+)$/.exec(value);
  if (!match) return undefined;
  return { counter: Number(match[1]), at: Number(match[2]) };
}

/**
 * True when the lease's owner has not renewed it for more than `failoverTimeMillis +
 * maxClockSkewMillis`, judged from one look at its stamp. Only a stamp written with the counter
 * the lease has now counts: a lease a KCL worker renewed since (its counter moved, the stamp did
 * not) is never judged by a stale stamp, but by the two-look rule.
 */
export function stampExpired(
  lease: Lease,
  now: number,
  failoverTimeMillis: number,
  maxClockSkewMillis: number,
): boolean {
  const stamp = lease.renewalStamp;
  return (
    stamp !== undefined &&
    stamp.counter === lease.leaseCounter &&
    now - stamp.at > failoverTimeMillis + maxClockSkewMillis
  );
}

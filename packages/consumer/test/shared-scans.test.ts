import { describe, expect, it } from 'vitest';
import type { Lease } from '../src/leases/lease';
import { isExpired, type ObservedLease } from '../src/leases/lease-taker';
import { formatRenewalStamp, parseRenewalStamp, stampExpired } from '../src/leases/renewal-stamp';
import { fleetView, nextSharedScanAt } from '../src/leases/scan-schedule';
import { hintTargets, shouldWake, wokenBy } from '../src/leases/wake-hints';
import { newLease } from './support/lease-tables';

// The pure pieces of the settled fleet's shared scans: who scans in which slot, what a renewal
// stamp says, when a lease is expired from one look, and when a worker wakes the others.

const F = 10_000;
const I = F + 25;
const SKEW = 1000;

describe('shared scan schedule', () => {
  it('ranks the live workers by id, this one included', () => {
    expect(fleetView(['w3', 'w1'], 'w2')).toMatchObject({ workers: 3, rank: 1 });
    expect(fleetView([], 'w1')).toMatchObject({ workers: 1, rank: 0 });
    expect(fleetView(['w1', 'w2'], 'w1')).toMatchObject({ workers: 2, rank: 0 });
    expect(fleetView(['b', 'a'], 'c').key).toBe(fleetView(['a', 'c'], 'b').key);
  });

  it('deals every slot to exactly one of W workers, each every W slots', () => {
    for (const W of [2, 4, 16]) {
      const ids = Array.from({ length: W }, (_, i) => `w${String(i).padStart(2, '0')}`);
      const owners = new Map<number, string[]>();
      for (const id of ids) {
        const view = fleetView(ids, id);
        // Walk one worker's schedule over many slots, from an arbitrary clock reading.
        let at = 1_764_600_000_123;
        const start = Math.floor(at / I);
        for (;;) {
          const next = nextSharedScanAt(at, I, view);
          expect(next).toBeGreaterThan(at);
          expect(next % I).toBe(0);
          const slot = next / I;
          if (slot > start + 4 * W) break;
          owners.set(slot, [...(owners.get(slot) ?? []), id]);
          if (at !== 1_764_600_000_123) expect(next - at).toBe(W * I);
          at = next;
        }
      }
      const start = Math.floor(1_764_600_000_123 / I);
      for (let slot = start + 1; slot <= start + 4 * W; slot++)
        expect(owners.get(slot), `slot ${slot} of W=${W}`).toHaveLength(1);
    }
  });

  it('a lone worker scans every other slot: the KCL 2.x taker pace', () => {
    const view = fleetView([], 'only');
    const first = nextSharedScanAt(5 * I + 1, I, view);
    expect(nextSharedScanAt(first, I, view) - first).toBe(2 * I);
  });
});

describe('renewal stamp', () => {
  it('round-trips counter and time, and ignores what it did not write', () => {
    expect(formatRenewalStamp(42, 1_764_600_000_123.7)).toBe('42@1764600000123');
    expect(parseRenewalStamp('42@1764600000123')).toEqual({ counter: 42, at: 1_764_600_000_123 });
    for (const bad of [undefined, '', '42', '@1', 'x@1', '1@x', '1@2@3', '-1@2'])
      expect(parseRenewalStamp(bad), String(bad)).toBeUndefined();
  });

  const NOW = 1_000_000;
  const stamped = (counter: number, at: number, leaseCounter = counter): Lease =>
    newLease('s1', { leaseOwner: 'w1', leaseCounter, renewalStamp: { counter, at } });

  it('a stamp of the current counter older than failover + skew is expired, not a moment before', () => {
    expect(stampExpired(stamped(7, NOW - F - SKEW - 1), NOW, F, SKEW)).toBe(true);
    expect(stampExpired(stamped(7, NOW - F - SKEW), NOW, F, SKEW)).toBe(false);
    expect(stampExpired(stamped(7, NOW - 100), NOW, F, SKEW)).toBe(false);
  });

  it('a stamp left behind by a counter that moved on (a KCL renewal) says nothing', () => {
    expect(stampExpired(stamped(7, NOW - 10 * F, 8), NOW, F, SKEW)).toBe(false);
    expect(stampExpired(newLease('s1', { leaseOwner: 'w1' }), NOW, F, SKEW)).toBe(false);
  });

  it('the expiry rule: an old stamp expires a lease at the first look; without one, two looks a failover apart do', () => {
    const look = (lease: Lease, lastCounterChange: number): ObservedLease => ({
      lease,
      lastCounterChange,
    });
    // First look (counter seen to change just now), stamp old: expired.
    expect(isExpired(look(stamped(7, NOW - F - SKEW - 1), NOW), NOW, F, SKEW)).toBe(true);
    // First look, stamp fresh: live.
    expect(isExpired(look(stamped(7, NOW - 2000), NOW), NOW, F, SKEW)).toBe(false);
    // KCL-renewed (stale stamp): live at the first look, expired after a failover standing still.
    const kcl = stamped(7, NOW - 10 * F, 9);
    expect(isExpired(look(kcl, NOW), NOW, F, SKEW)).toBe(false);
    expect(isExpired(look(kcl, NOW - F - 1), NOW, F, SKEW)).toBe(true);
    // Free is always available.
    expect(isExpired(look(newLease('s2'), NOW), NOW, F, SKEW)).toBe(true);
  });
});

describe('wake-up hints', () => {
  const base = {
    firstPass: false,
    wasSettled: true,
    settledNow: true,
    others: 3,
    lastHintAt: undefined,
    now: 100_000,
    minGapMillis: F,
  };

  it('a settled worker that finds work wakes the others; a settled or unsettled one that finds none, or was already unsettled, does not', () => {
    expect(shouldWake({ ...base, settledNow: false })).toBe(true);
    expect(shouldWake(base)).toBe(false);
    expect(shouldWake({ ...base, wasSettled: false, settledNow: false })).toBe(false);
    expect(shouldWake({ ...base, wasSettled: false, settledNow: true })).toBe(false);
  });

  it('a joining worker wakes the fleet at its first scan, if there is one', () => {
    expect(shouldWake({ ...base, firstPass: true, wasSettled: false, settledNow: false })).toBe(
      true,
    );
    expect(
      shouldWake({ ...base, firstPass: true, wasSettled: false, settledNow: false, others: 0 }),
    ).toBe(false);
  });

  it('at most one round per failover', () => {
    const found = { ...base, settledNow: false };
    expect(shouldWake({ ...found, lastHintAt: base.now - F + 1 })).toBe(false);
    expect(shouldWake({ ...found, lastHintAt: base.now - F })).toBe(true);
  });

  it('one lease each of the other live owners, one they renew', () => {
    const leases = [
      newLease('s4', { leaseOwner: 'w2' }),
      newLease('s3', { leaseOwner: 'w2' }),
      newLease('s1', { leaseOwner: 'w3', checkpointOwner: 'w4' }),
      newLease('s2', { leaseOwner: 'w3' }),
      newLease('s5', { leaseOwner: 'me' }),
      newLease('s6', { leaseOwner: 'dead' }),
      newLease('s7', { leaseOwner: 'w5', checkpoint: 'SHARD_END' }),
      newLease('s8'),
    ];
    const targets = hintTargets(leases, new Set(['w2', 'w3', 'w5', 'me']), 'me');
    expect(targets.map((l) => [l.leaseKey, l.leaseOwner])).toEqual([
      ['s2', 'w3'],
      ['s3', 'w2'],
    ]);
  });

  it('a renewal wakes its owner only when the hint on it is new', () => {
    const before = newLease('s1', { leaseOwner: 'me', wakeAt: 5 });
    expect(wokenBy(before, { ...before, wakeAt: 9 })).toBe(true);
    expect(wokenBy(before, { ...before })).toBe(false);
    expect(wokenBy(newLease('s1'), { ...before })).toBe(true);
    expect(wokenBy(newLease('s1'), newLease('s1'))).toBe(false);
  });
});

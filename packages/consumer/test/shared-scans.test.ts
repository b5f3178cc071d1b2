import { describe, expect, it } from 'vitest';
import type { Lease } from '../src/leases/lease';
import { isExpired, type ObservedLease } from '../src/leases/lease-taker';
import { formatRenewalStamp, parseRenewalStamp, stampExpired } from '../src/leases/renewal-stamp';
import { fleetView, nextSharedScanAt, sharedSlotMillis } from '../src/leases/scan-schedule';
import { nextSlotEvent, probeCallsForScan, probeTarget } from '../src/leases/slot-probe';
import { hintTargets, shouldWake, wokenBy } from '../src/leases/wake-hints';
import { newLease } from './support/lease-tables';

// The pure pieces of the settled fleet's shared scans: who scans in which slot, who probes it,
// what a renewal stamp says, when a lease is expired from one look, and when a worker wakes the
// others.

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

  it('a lone worker scans every third slot (LONE_WORKER_SLOTS): 1.5 × the KCL 2.x taker pace', () => {
    const view = fleetView([], 'only');
    const first = nextSharedScanAt(5 * I + 1, I, view);
    expect(nextSharedScanAt(first, I, view) - first).toBe(3 * I);
  });

  it('a lone worker keeps failover + 25 ms slots (3 × that between its scans); a fleet shares slots 1.25 × as long', () => {
    expect(sharedSlotMillis(I, 1)).toBe(I);
    for (const W of [2, 4, 16]) expect(sharedSlotMillis(I, W)).toBe(Math.floor(1.25 * I));
  });

  it('the slot meets both targets at the defaults: detection within 3 × failover with 3 s for the pass, and one scan + one probe per slot reads less than one scan per failover + 25 ms', () => {
    const slot = sharedSlotMillis(I, 4);
    // Worst case: failover + skew + one slot + failover/3 (the woken workers' renewal) + a pass.
    expect(F + SKEW + slot + F / 3 + 3000).toBeLessThanOrEqual(3 * F);
    // The tight cell, 100 leases of 289 B: an eventually consistent scan reads 4 units, a probe 0.5.
    const scanUnits = Math.ceil((100 * 289) / 4096) / 2;
    expect(scanUnits).toBe(4);
    expect((scanUnits + 0.5) / slot).toBeLessThan(scanUnits / I);
  });
});

describe('predecessor probe', () => {
  const SLOT = sharedSlotMillis(I, 2);
  const ids = (W: number) => Array.from({ length: W }, (_, i) => `w${String(i).padStart(2, '0')}`);

  it("every slot of a fleet is scanned by its owner and probed by exactly the owner's successor", () => {
    for (const W of [2, 4, 16]) {
      const all = ids(W);
      const scans = new Map<number, string[]>();
      const probes = new Map<number, string[]>();
      const from = 1_764_600_000_123;
      const start = Math.floor(from / SLOT);
      for (const id of all) {
        const view = fleetView(all, id);
        let at = from;
        for (;;) {
          const next = nextSlotEvent(at, SLOT, view);
          expect(next.at).toBeGreaterThan(at);
          const slot = next.at / SLOT;
          expect(Number.isInteger(slot)).toBe(true);
          if (slot > start + 4 * W) break;
          const into = next.probe ? probes : scans;
          into.set(slot, [...(into.get(slot) ?? []), id]);
          at = next.at;
        }
      }
      for (let slot = start + 1; slot <= start + 4 * W; slot++) {
        const owner = all[slot % W]!;
        const successor = all[(slot + 1) % W]!;
        expect(scans.get(slot), `slot ${slot} of W=${W}`).toEqual([owner]);
        expect(probes.get(slot), `slot ${slot} of W=${W}`).toEqual([successor]);
      }
    }
  });

  it('a lone worker never probes', () => {
    const view = fleetView([], 'only');
    let at = 1_764_600_000_123;
    for (let i = 0; i < 10; i++) {
      const next = nextSlotEvent(at, I, view);
      expect(next.probe).toBe(false);
      at = next.at;
    }
    expect(probeTarget([newLease('s1', { leaseOwner: 'only' })], view, 'only')).toBeUndefined();
  });

  it('probes a lease the predecessor (by sorted id, wrapping around) renews, from the last scan', () => {
    const leases = [
      newLease('s1', { leaseOwner: 'a' }),
      newLease('s2', { leaseOwner: 'b', checkpoint: 'SHARD_END' }),
      newLease('s3', { leaseOwner: 'b' }),
      newLease('s4', { leaseOwner: 'c' }),
      newLease('s5'),
    ];
    const live = ['a', 'b', 'c'];
    expect(probeTarget(leases, fleetView(live, 'c'), 'c')?.leaseKey).toBe('s3');
    expect(probeTarget(leases, fleetView(live, 'b'), 'b')?.leaseKey).toBe('s1');
    expect(probeTarget(leases, fleetView(live, 'a'), 'a')?.leaseKey).toBe('s4');
  });

  it('scans when the probed lease expired (stamp or two looks), moved or is gone; not while its owner renews it', () => {
    const NOW = 1_000_000;
    const seen = {
      lease: newLease('s1', {
        leaseOwner: 'p',
        leaseCounter: 7,
        renewalStamp: { counter: 7, at: NOW - 3000 },
      }),
      // The last scan, at NOW, saw this counter for the first time.
      lastCounterChange: NOW,
    };
    const probe = (probed: Lease | undefined, now = NOW) =>
      probeCallsForScan(seen, probed, now, F, SKEW);
    const renewed = (counter: number, at: number): Lease => ({
      ...seen.lease,
      leaseCounter: counter,
      renewalStamp: { counter, at },
    });
    // Renewed since the scan, or not yet due: nothing to do.
    expect(probe(renewed(9, NOW - 100))).toBe(false);
    expect(probe(seen.lease)).toBe(false);
    // The stamp of the current counter is older than failover + skew: expired.
    expect(probe(seen.lease, NOW - 3000 + F + SKEW + 1)).toBe(true);
    expect(probe(seen.lease, NOW - 3000 + F + SKEW)).toBe(false);
    // Another owner, or no lease: the fleet changed, look.
    expect(probe({ ...seen.lease, leaseOwner: 'q' })).toBe(true);
    expect(probe({ ...seen.lease, leaseOwner: undefined })).toBe(true);
    expect(probe(undefined)).toBe(true);
    // A KCL-renewed lease (no stamp of its counter): the two-look rule, from the scan's look.
    const kcl = { ...seen.lease, renewalStamp: undefined };
    expect(probeCallsForScan({ ...seen, lease: kcl }, kcl, NOW + F + 1, F, SKEW)).toBe(true);
    expect(
      probeCallsForScan({ ...seen, lease: kcl }, { ...kcl, leaseCounter: 8 }, NOW + F + 1, F, SKEW),
    ).toBe(false);
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

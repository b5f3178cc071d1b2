import { describe, expect, it, vi } from 'vitest';
import type { Lease } from '../src/leases/lease';
import type { LeaseCoordinator } from '../src/leases/lease-coordinator';
import type { ObservedLease } from '../src/leases/lease-taker';
import { fleetView, sharedSlotMillis } from '../src/leases/scan-schedule';
import {
  stamplessOwners,
  stamplessProbe,
  stamplessProbeMillis,
  stamplessProbeTargets,
  stamplessRecheckAt,
  stamplessWatcher,
} from '../src/leases/stampless-probe';
import { newLease } from './support/lease-tables';
import { finish, seeded, startFleetCoordinator, useFleetClock } from './support/fake-clock';
import { MemoryLeaseTable } from './support/memory-lease-table';

// Owners that renew without a renewal stamp (Java KCL workers): who watches them, what a watch
// probe concludes, and, on a fleet of real LeaseCoordinators sharing an in-memory table and a fake
// clock with a simulated KCL worker, how soon its leases are taken once it stops renewing.

const F = 10_000;
const SKEW = 1000;
const I = F + 25;
const SLOT = sharedSlotMillis(I, 2);

describe('stampless owners (pure)', () => {
  const NOW = 1_000_000;
  const stamped = (key: string, owner: string, counter = 3): Lease =>
    newLease(key, {
      leaseOwner: owner,
      leaseCounter: counter,
      renewalStamp: { counter, at: NOW - 100 },
    });

  it('an owner is stampless when none of the leases it renews carries a stamp of its current counter', () => {
    const leases = [
      stamped('s1', 'shardline'),
      // A lease a KCL worker took from a Shardline one: the stamp is of an older counter.
      newLease('s2', { leaseOwner: 'kcl', leaseCounter: 9, renewalStamp: { counter: 4, at: 1 } }),
      newLease('s3', { leaseOwner: 'kcl', leaseCounter: 2 }),
      // One stamped lease is enough: a Shardline worker's lease just handed to it has none yet.
      stamped('s4', 'mixed'),
      newLease('s5', { leaseOwner: 'mixed', leaseCounter: 8 }),
      // Finished or in a hand-off: not renewed, says nothing.
      newLease('s6', { leaseOwner: 'ended', checkpoint: 'SHARD_END' }),
      newLease('s7', { leaseOwner: 'joiner', checkpointOwner: 'shardline' }),
      newLease('s8', { leaseOwner: 'me' }),
      newLease('s9', { leaseOwner: 'dead' }),
      newLease('s10'),
    ];
    const live = new Set(['shardline', 'kcl', 'mixed', 'ended', 'joiner', 'me']);
    expect([...stamplessOwners(leases, live, 'me')]).toEqual(['kcl']);
    // An all-Shardline table has none: nothing extra is ever scheduled.
    expect(
      stamplessOwners([stamped('s1', 'a'), stamped('s2', 'b')], new Set(['a', 'b']), 'me').size,
    ).toBe(0);
  });

  it('each stampless owner is watched by exactly one worker: the next by id that writes stamps', () => {
    const view = fleetView(['a', 'k1', 'k2', 'm', 'z', 'k3'], 'm');
    const stampless = new Set(['k1', 'k2', 'k3']);
    expect(stamplessWatcher('k1', view, stampless)).toBe('m');
    expect(stamplessWatcher('k2', view, stampless)).toBe('m');
    // Wrapping around past the end.
    expect(stamplessWatcher('k3', view, stampless)).toBe('m');
    const view2 = fleetView(['a', 'k1', 'm', 'zk'], 'a');
    expect(stamplessWatcher('k1', view2, new Set(['k1', 'zk']))).toBe('m');
    expect(stamplessWatcher('zk', view2, new Set(['k1', 'zk']))).toBe('a');

    const leases = [
      newLease('s1', { leaseOwner: 'k1' }),
      newLease('s2', { leaseOwner: 'zk', checkpoint: 'SHARD_END' }),
      newLease('s3', { leaseOwner: 'zk' }),
      newLease('s4', { leaseOwner: 'm' }),
    ];
    const ids = ['a', 'k1', 'm', 'zk'];
    const targets = (me: string) =>
      stamplessProbeTargets(leases, fleetView(ids, me), new Set(['k1', 'zk']), me).map(
        (l) => l.leaseKey,
      );
    expect(targets('a')).toEqual(['s3']);
    expect(targets('m')).toEqual(['s1']);
    // Nobody stampless: nobody probes.
    expect(stamplessProbeTargets(leases, fleetView(ids, 'a'), new Set(), 'a')).toEqual([]);
  });

  it('a watch probe keeps what it saw, and calls for a scan once the counter stood still for failover / 2, or the lease moved or is gone', () => {
    const P = stamplessProbeMillis(F);
    expect(P).toBe(F / 2);
    const lease = newLease('s1', { leaseOwner: 'kcl', leaseCounter: 7 });
    const seen: ObservedLease = { lease, lastCounterChange: NOW, ownerSince: NOW - 5 };
    // Renewed since: the clock restarts at this probe.
    const renewed = stamplessProbe(seen, { ...lease, leaseCounter: 8 }, NOW + P, F, SKEW);
    expect(renewed.scan).toBe(false);
    expect(renewed.observed).toMatchObject({
      lease: { leaseCounter: 8 },
      lastCounterChange: NOW + P,
      ownerSince: NOW - 5,
    });
    // Still, but not yet for failover / 2.
    const early = stamplessProbe(seen, lease, NOW + P - 1, F, SKEW);
    expect(early).toMatchObject({ scan: false, observed: { lastCounterChange: NOW } });
    // Still for failover / 2: a renewal was missed (the KCL renews every failover / 3).
    expect(stamplessProbe(seen, lease, NOW + P, F, SKEW).scan).toBe(true);
    // Expired by the counter rule from the probes alone.
    expect(stamplessProbe(seen, lease, NOW + F + 1, F, SKEW)).toMatchObject({
      scan: true,
      observed: { lastCounterChange: NOW },
    });
    // Moved or gone.
    expect(stamplessProbe(seen, { ...lease, leaseOwner: 'w2' }, NOW + 1, F, SKEW)).toEqual({
      observed: undefined,
      scan: true,
    });
    expect(stamplessProbe(seen, { ...lease, leaseOwner: undefined }, NOW + 1, F, SKEW).scan).toBe(
      true,
    );
    expect(stamplessProbe(seen, undefined, NOW + 1, F, SKEW).scan).toBe(true);
  });

  it('the recheck comes when some stampless owner would have all its leases expired by the counter rule', () => {
    const o = (
      key: string,
      owner: string,
      lastCounterChange: number,
      fields: Partial<Lease> = {},
    ) => ({
      lease: newLease(key, { leaseOwner: owner, ...fields }),
      lastCounterChange,
    });
    const observed = [
      o('s1', 'k1', NOW - 3000),
      o('s2', 'k1', NOW),
      o('s3', 'k2', NOW - 2000),
      o('s4', 'k2', NOW - 1000),
      // Not renewed: not waited for.
      o('s5', 'k2', NOW + 5000, { checkpoint: 'SHARD_END' }),
      o('s6', 'w1', NOW - 9000),
    ];
    expect(stamplessRecheckAt(observed, new Set(['k1', 'k2']), F)).toBe(NOW - 1000 + F + 1);
    expect(stamplessRecheckAt(observed, new Set(['k1']), F)).toBe(NOW + F + 1);
    expect(stamplessRecheckAt(observed, new Set(), F)).toBeUndefined();
  });

  it('the documented bound: failover / 2 to see the last counter, failover / 2 to suspect, a failover / 3 to wake, a failover for the two looks: within 3 × failover with 6 s for the passes', () => {
    const watcher = F / 2 + F / 2 + F + 1;
    const others = F / 2 + F / 2 + F / 3 + F + 1;
    expect(watcher).toBeLessThan(others);
    expect(others + 6000).toBeLessThanOrEqual(3 * F);
  });
});

function startShardline(table: MemoryLeaseTable, id: string, seed: number): LeaseCoordinator {
  return startFleetCoordinator(table, id, { failoverTimeMillis: F, random: seeded(seed) });
}

/**
 * A Java KCL worker's renewer as Shardline sees it: every failover / 3 - 25 ms
 * (`renewerIntervalMillis`), for each lease it holds, a conditional UpdateItem on the counter it
 * last wrote that increments `leaseCounter` and writes no `shardlineRenewedAt`; a lease whose
 * condition fails is lost. It takes and steals nothing (it holds its even share from the start).
 */
function kclWorker(table: MemoryLeaseTable, id: string) {
  const held = new Map<string, number>();
  for (const l of table.leases.values())
    if (l.leaseOwner === id) held.set(l.leaseKey, l.leaseCounter);
  let lastRenewal = Date.now();
  const timer = setInterval(
    () => {
      for (const [key, counter] of held) {
        const l = table.leases.get(key);
        if (!l || l.leaseOwner !== id || l.leaseCounter !== counter) {
          held.delete(key);
          continue;
        }
        l.leaseCounter++;
        held.set(key, l.leaseCounter);
      }
      lastRenewal = Date.now();
    },
    Math.floor(F / 3) - 25,
  );
  return {
    /** Dies: no release (as a KCL worker stopped during a migration leaves its leases). */
    stop: () => clearInterval(timer),
    lastRenewal: () => lastRenewal,
    held: () => held.size,
  };
}

/**
 * 100 leases; the KCL worker holds every `workers`th one, as many as the smallest even share (so
 * that nobody asks it for a hand-off, which this simulation does not do), some with an old stamp.
 */
function mixedTable(workers: number): MemoryLeaseTable {
  const table = new MemoryLeaseTable(20);
  const share = Math.floor(100 / workers);
  for (let i = 0; i < 100; i++) {
    const key = `shardId-${String(i).padStart(4, '0')}`;
    const kcl = i % workers === 0 && i / workers < share;
    table.add(
      newLease(
        key,
        kcl
          ? {
              leaseOwner: 'kcl',
              leaseCounter: 5,
              // Once held by a Shardline worker: a stamp of an older counter, which says nothing.
              ...(i % 2 === 0 ? { renewalStamp: { counter: 2, at: Date.now() - 60_000 } } : {}),
            }
          : {},
      ),
    );
  }
  return table;
}

function expectBalanced(table: MemoryLeaseTable, ids: string[]): void {
  const counts = table.counts();
  const fair = 100 / ids.length;
  for (const id of ids) {
    const n = counts.get(id) ?? 0;
    expect(Math.abs(n - fair), `${id} holds ${n} (fair share ${fair})`).toBeLessThanOrEqual(1);
  }
  expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(100);
}

describe('a KCL worker in a settled Shardline fleet (fake clock)', () => {
  useFleetClock();

  it('an all-Shardline settled fleet runs no watch probe: one predecessor probe per slot, as before', async () => {
    const table = new MemoryLeaseTable(20);
    for (let i = 0; i < 100; i++) table.add(newLease(`shardId-${String(i).padStart(4, '0')}`));
    const ids = ['w1', 'w2', 'w3', 'w4'];
    const coordinators = ids.map((id, i) => startShardline(table, id, i + 1));
    await vi.advanceTimersByTimeAsync(6 * F);
    expectBalanced(table, ids);
    const probes = table.probes;
    const scans = table.scans;
    const slots = 40;
    await vi.advanceTimersByTimeAsync(slots * SLOT);
    expect(table.probes - probes).toBeLessThanOrEqual(slots + 1);
    expect(table.probes - probes).toBeGreaterThanOrEqual(slots - 1);
    expect(table.scans - scans).toBeLessThanOrEqual(slots + 1);
    for (const c of coordinators) await finish(c.stop());
  });

  it.each([
    [4, 0],
    [4, 1],
    [4, 2],
    [4, 3],
    [4, 4],
    [4, 5],
    [7, 0],
    [7, 2],
    [7, 4],
    [15, 3],
  ])(
    "%i Shardline workers take all of a dead KCL worker's leases within 3 × failover of its last renewal (death %i/6 into a slot)",
    async (N, sixth) => {
      const table = mixedTable(N + 1);
      const kcl = kclWorker(table, 'kcl');
      const kclShare = kcl.held();
      const ids = Array.from({ length: N }, (_, i) => `w${String(i + 1).padStart(2, '0')}`);
      const coordinators = ids.map((id, i) => startShardline(table, id, i + 1));
      await vi.advanceTimersByTimeAsync(6 * F);
      expectBalanced(table, [...ids, 'kcl']);
      expect(kcl.held()).toBe(kclShare);

      // Settled, with the KCL worker alive: one scan per slot as before; the probes are the
      // predecessor's (one per slot) and one watcher's (two per failover), and nothing moves.
      const moves = table.moves.length;
      const probes = table.probes;
      const scans = table.scans;
      const slots = 8;
      await vi.advanceTimersByTimeAsync(slots * SLOT);
      expect(table.moves.length).toBe(moves);
      expect(table.scans - scans).toBeLessThanOrEqual(slots + 1);
      const watch = (slots * SLOT) / (F / 2);
      expect(table.probes - probes).toBeGreaterThanOrEqual(slots - 1 + watch - 2);
      expect(table.probes - probes).toBeLessThanOrEqual(slots + 1 + watch + 1);

      const now = Date.now();
      await vi.advanceTimersByTimeAsync(SLOT - (now % SLOT) + (sixth * SLOT) / 6);
      kcl.stop();
      const lastRenewal = kcl.lastRenewal();
      const before = table.moves.length;
      const bound = 3 * F;
      const held = () => [...table.leases.values()].some((l) => l.leaseOwner === 'kcl');
      while (held() && Date.now() - lastRenewal <= bound) await vi.advanceTimersByTimeAsync(100);
      const took = Date.now() - lastRenewal;
      expect(
        took,
        `the KCL worker's leases taken ${took} ms after its last renewal`,
      ).toBeLessThanOrEqual(bound);
      // Each of its leases taken once; the takes need not split evenly when the shares were
      // uneven before (12 and 13 of 88), and graceful hand-offs even them out after.
      const deathMoves = table.moves.slice(before);
      const fromKcl = deathMoves.filter((m) => m.from === 'kcl');
      expect(fromKcl).toHaveLength(kclShare);
      expect(new Set(fromKcl.map((m) => m.leaseKey)).size).toBe(kclShare);
      expect(fromKcl.every((m) => m.how === 'take')).toBe(true);
      await vi.advanceTimersByTimeAsync(3 * F);
      expectBalanced(table, ids);
      expect(
        table.moves
          .slice(before)
          .filter((m) => m.from !== 'kcl')
          .every((m) => m.how === 'handoff'),
      ).toBe(true);
      for (const c of coordinators) await finish(c.stop());
    },
  );
});

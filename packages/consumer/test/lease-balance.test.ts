import { describe, expect, it, vi } from 'vitest';
import type { LeaseCoordinator } from '../src/leases/lease-coordinator';
import type { LeaseTable } from '../src/leases/lease-table';
import { sharedSlotMillis } from '../src/leases/scan-schedule';
import { newLease } from './support/lease-tables';
import { finish, seeded, startFleetCoordinator, useFleetClock } from './support/fake-clock';
import { MemoryLeaseTable } from './support/memory-lease-table';

// Fleets of real LeaseCoordinators on one in-memory lease table and a fake clock: what a cold
// start, a join, a leave and a death converge to within 3 × failoverTimeMillis, and how often
// each lease moved on the way. Owners hand over when asked (after a short batch), as a live
// Shardline worker does; a stale take-over (`how: 'stale'`) would mean records read twice.

const F = 10_000;
/** The default `maxClockSkewMillis`. */
const SKEW = 1000;
/** A lone settled worker's scan slot, failover + 25 ms (`takerIntervals`): it scans every third one. */
const I = F + 25;
/** The slot two or more settled workers share (`SHARED_SLOT_FACTOR` × I). */
const SLOT = sharedSlotMillis(I, 2);
/**
 * The documented detection bound, with failover / 2 (the unsettled pace) for the pass: the first
 * slot after a dead worker's leases expire is scanned by its owner or probed by the dead worker's
 * successor, and the others are woken at their next renewal.
 */
const DETECTION_BOUND = F + SKEW + SLOT + F / 3 + F / 2;

interface Worker {
  id: string;
  coordinator: LeaseCoordinator;
}

function fleet(table: MemoryLeaseTable) {
  const workers = new Map<string, Worker>();
  let seed = 1;
  const start = (
    id: string,
    extra: {
      maxLeasesToStealAtOneTime?: number;
      table?: LeaseTable;
      leaseTakerIntervalMillis?: number;
    } = {},
  ): Worker => {
    const coordinator = startFleetCoordinator(table, id, {
      ...extra,
      failoverTimeMillis: F,
      random: seeded(seed++),
    });
    const worker = { id, coordinator };
    workers.set(id, worker);
    return worker;
  };
  return {
    start,
    /** Graceful stop: the leases are released and the others woken, as `Consumer.stop` does. */
    async leave(id: string) {
      const w = workers.get(id)!;
      workers.delete(id);
      await finish(w.coordinator.stop());
      for (const lease of w.coordinator.heldLeases())
        await finish(
          table
            .asTable()
            .release(lease, id)
            .catch(() => {}),
        );
      await finish(w.coordinator.wakeFleet());
    },
    /** Crash: nothing renews its leases any more. */
    async die(id: string) {
      const w = workers.get(id)!;
      workers.delete(id);
      await finish(w.coordinator.stop());
    },
    async stopAll() {
      for (const w of workers.values()) await finish(w.coordinator.stop());
    },
    ids: () => [...workers.keys()],
  };
}

function leases(table: MemoryLeaseTable, n: number): void {
  for (let i = 0; i < n; i++) table.add(newLease(`shardId-${String(i).padStart(4, '0')}`));
}

/** Every live worker holds its fair share, give or take one, and nothing is unowned. */
function expectBalanced(table: MemoryLeaseTable, ids: string[], total: number): void {
  const counts = table.counts();
  const fair = total / ids.length;
  for (const id of ids) {
    const n = counts.get(id) ?? 0;
    expect(
      Math.abs(n - fair),
      `${id} holds ${n} of ${total} (fair share ${fair})`,
    ).toBeLessThanOrEqual(1);
  }
  expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(total);
}

/** How many times each lease changed hands among `moves`. */
function movesPerLease(moves: readonly { leaseKey: string }[]): number {
  const per = new Map<string, number>();
  for (const m of moves) per.set(m.leaseKey, (per.get(m.leaseKey) ?? 0) + 1);
  return Math.max(0, ...per.values());
}

describe('lease balancing (fleet on a fake clock)', () => {
  useFleetClock();

  it('four workers started together share out 100 free leases, 25 ± 1 each, within 3 failovers', async () => {
    const table = new MemoryLeaseTable(20);
    leases(table, 100);
    const f = fleet(table);
    for (const id of ['w1', 'w2', 'w3', 'w4']) f.start(id);
    await vi.advanceTimersByTimeAsync(3 * F);
    expectBalanced(table, ['w1', 'w2', 'w3', 'w4'], 100);
    expect(table.moves.filter((m) => m.how === 'stale')).toEqual([]);
    await f.stopAll();
  });

  it('a worker joining a balanced fleet gets its share within 3 failovers; each lease moves once, by hand-off', async () => {
    const table = new MemoryLeaseTable(20);
    leases(table, 100);
    const f = fleet(table);
    for (const id of ['w1', 'w2', 'w3', 'w4']) f.start(id);
    await vi.advanceTimersByTimeAsync(6 * F);
    expectBalanced(table, f.ids(), 100);
    const before = table.moves.length;
    const wakes = table.wakes;

    f.start('w5');
    await vi.advanceTimersByTimeAsync(3 * F);
    expectBalanced(table, f.ids(), 100);
    // The joiner woke the settled fleet (one hint per worker), so all recount W and their slots.
    expect(table.wakes - wakes).toBeGreaterThanOrEqual(4);
    const joinMoves = table.moves.slice(before);
    expect(joinMoves.length).toBe(20);
    expect(joinMoves.every((m) => m.to === 'w5' && m.how === 'handoff')).toBe(true);
    expect(movesPerLease(joinMoves)).toBe(1);
    await f.stopAll();
  });

  it('a worker joining a 1000-lease, 9-worker fleet gets its 100 within 3 failovers', async () => {
    // No latency: 1000 leases' renewals on the fake clock would take long to run.
    const table = new MemoryLeaseTable(0);
    leases(table, 1000);
    const f = fleet(table);
    for (let i = 1; i <= 9; i++) f.start(`w${i}`);
    await vi.advanceTimersByTimeAsync(6 * F);
    expectBalanced(table, f.ids(), 1000);
    const before = table.moves.length;
    f.start('w10');
    await vi.advanceTimersByTimeAsync(3 * F);
    expectBalanced(table, f.ids(), 1000);
    expect(movesPerLease(table.moves.slice(before))).toBe(1);
    expect(table.moves.slice(before).every((m) => m.how === 'handoff')).toBe(true);
    await f.stopAll();
  });

  it('when a worker leaves, its released leases are shared out within 3 failovers, each moved once', async () => {
    const table = new MemoryLeaseTable(20);
    leases(table, 100);
    const f = fleet(table);
    for (const id of ['w1', 'w2', 'w3', 'w4', 'w5']) f.start(id);
    await vi.advanceTimersByTimeAsync(6 * F);
    expectBalanced(table, f.ids(), 100);
    const before = table.moves.length;
    await f.leave('w3');
    // Woken by the leaver, the others take its leases at their next renewal's answer, not at
    // their next shared scan slot.
    const leftAt = Date.now();
    const bound = F / 3 + F / 2;
    while ([...table.leases.values()].some((l) => !l.leaseOwner) && Date.now() - leftAt <= bound)
      await vi.advanceTimersByTimeAsync(100);
    expect(Date.now() - leftAt).toBeLessThanOrEqual(bound);
    await vi.advanceTimersByTimeAsync(3 * F);
    expectBalanced(table, f.ids(), 100);
    const leaveMoves = table.moves.slice(before);
    expect(leaveMoves).toHaveLength(20);
    expect(leaveMoves.every((m) => m.how === 'take')).toBe(true);
    expect(movesPerLease(leaveMoves)).toBe(1);
    await f.stopAll();
  });

  it('when a worker dies, its expired leases are shared out within 3 failovers, each moved once', async () => {
    const table = new MemoryLeaseTable(20);
    leases(table, 100);
    const f = fleet(table);
    for (const id of ['w1', 'w2', 'w3', 'w4', 'w5']) f.start(id);
    await vi.advanceTimersByTimeAsync(6 * F);
    expectBalanced(table, f.ids(), 100);
    const before = table.moves.length;
    await f.die('w2');
    await vi.advanceTimersByTimeAsync(3 * F);
    expectBalanced(table, f.ids(), 100);
    const deathMoves = table.moves.slice(before);
    expect(deathMoves).toHaveLength(20);
    expect(deathMoves.every((m) => m.from === 'w2' && m.how === 'take')).toBe(true);
    expect(movesPerLease(deathMoves)).toBe(1);
    await f.stopAll();
  });

  it.each([
    [1, I, 1 / 3, 0],
    [2, SLOT, 1, 1],
    [4, SLOT, 1, 1],
    [16, SLOT, 1, 1],
  ])(
    'a settled fleet of %i reads per slot of %i ms %f scan and %d probe fleet-wide, wakes nobody and moves nothing',
    async (W, slot, scansPerSlot, probesPerSlot) => {
      const table = new MemoryLeaseTable(20);
      leases(table, 100);
      const f = fleet(table);
      for (let i = 1; i <= W; i++) f.start(`w${String(i).padStart(2, '0')}`);
      await vi.advanceTimersByTimeAsync(6 * F);
      expectBalanced(table, f.ids(), 100);
      const moves = table.moves.length;
      const wakes = table.wakes;
      const scans = table.scans;
      const probes = table.probes;
      const slots = 40;
      await vi.advanceTimersByTimeAsync(slots * slot);
      expect(table.moves.length).toBe(moves);
      expect(table.wakes).toBe(wakes);
      // One scan per slot for the whole fleet (a lone worker: every third slot), and one probe of
      // the slot's owner by its successor (none alone), ± the window's edges.
      expect(table.scans - scans).toBeLessThanOrEqual(slots * scansPerSlot + 1);
      expect(table.scans - scans).toBeGreaterThanOrEqual(slots * scansPerSlot - 1);
      expect(table.probes - probes).toBeLessThanOrEqual(slots * probesPerSlot + 1);
      expect(table.probes - probes).toBeGreaterThanOrEqual(slots * probesPerSlot - 1);
      await f.stopAll();
    },
  );

  it('with leaseTakerIntervalMillis every worker scans on its own and nobody probes', async () => {
    const table = new MemoryLeaseTable(20);
    leases(table, 100);
    const f = fleet(table);
    const ids = ['w1', 'w2', 'w3', 'w4'];
    for (const id of ids) f.start(id, { leaseTakerIntervalMillis: 2 * I });
    await vi.advanceTimersByTimeAsync(6 * F);
    expectBalanced(table, ids, 100);
    const scans = table.scans;
    const probes = table.probes;
    await vi.advanceTimersByTimeAsync(20 * 2 * I);
    expect(table.probes - probes).toBe(0);
    expect(table.scans - scans).toBeGreaterThanOrEqual(ids.length * 19);
    await f.stopAll();
  });

  it.each([0, 1, 2, 3, 4, 5])(
    "a dead worker's leases are all taken by the survivors within failover + skew + a slot + failover/3 + failover/2 (death %i/6 into a slot)",
    async (sixth) => {
      const table = new MemoryLeaseTable(20);
      leases(table, 100);
      const f = fleet(table);
      const ids = ['w1', 'w2', 'w3', 'w4', 'w5'];
      for (const id of ids) f.start(id);
      await vi.advanceTimersByTimeAsync(6 * F);
      expectBalanced(table, ids, 100);
      // Deaths at several phases of the shared schedule; each of the five workers dies once or more.
      const now = Date.now();
      await vi.advanceTimersByTimeAsync(SLOT - (now % SLOT) + (sixth * SLOT) / 6);
      const victim = ids[sixth % ids.length]!;
      const before = table.moves.length;
      const diedAt = Date.now();
      await f.die(victim);
      const bound = DETECTION_BOUND;
      while (
        [...table.leases.values()].some((l) => l.leaseOwner === victim) &&
        Date.now() - diedAt <= bound
      )
        await vi.advanceTimersByTimeAsync(100);
      const took = Date.now() - diedAt;
      expect(took, `${victim}'s leases taken ${took} ms after it died`).toBeLessThanOrEqual(bound);
      const survivors = ids.filter((id) => id !== victim);
      await vi.advanceTimersByTimeAsync(F);
      expectBalanced(table, survivors, 100);
      const deathMoves = table.moves.slice(before);
      expect(deathMoves).toHaveLength(20);
      expect(deathMoves.every((m) => m.from === victim && m.how === 'take')).toBe(true);
      await f.stopAll();
    },
  );

  it.each([2, 5])(
    "when the first slot after a dead worker's leases expire is its own, its successor's probe finds them within the same bound (%i workers)",
    async (W) => {
      const table = new MemoryLeaseTable(20);
      leases(table, 100);
      const f = fleet(table);
      const ids = ['w1', 'w2', 'w3', 'w4', 'w5'].slice(0, W);
      for (const id of ids) f.start(id);
      await vi.advanceTimersByTimeAsync(6 * F);
      expectBalanced(table, ids, 100);
      // Walk on until the fleet's latest renewals expire just after a slot starts: that slot's owner
      // has scanned already, and the next slot is the one that dies now (nobody scans in it).
      const expiresAt = () =>
        Math.max(...[...table.leases.values()].map((l) => l.renewalStamp?.at ?? 0)) + F + SKEW + 1;
      while (!(expiresAt() % SLOT >= 500 && expiresAt() % SLOT <= 1500))
        await vi.advanceTimersByTimeAsync(100);
      const victim = ids[(Math.floor(expiresAt() / SLOT) + 1) % ids.length]!;
      const before = table.moves.length;
      const diedAt = Date.now();
      await f.die(victim);
      while (
        [...table.leases.values()].some((l) => l.leaseOwner === victim) &&
        Date.now() - diedAt <= DETECTION_BOUND
      )
        await vi.advanceTimersByTimeAsync(100);
      const took = Date.now() - diedAt;
      expect(took, `${victim}'s leases taken ${took} ms after it died`).toBeLessThanOrEqual(
        DETECTION_BOUND,
      );
      await vi.advanceTimersByTimeAsync(F);
      expectBalanced(
        table,
        ids.filter((id) => id !== victim),
        100,
      );
      expect(table.moves.slice(before).every((m) => m.from === victim && m.how === 'take')).toBe(
        true,
      );
      await f.stopAll();
    },
  );

  it.each([0, 2000, 4000, 6000, 8000])(
    'a worker dying while the fleet still settles after a join (%i ms after it) is found as fast: whoever finds it wakes the others',
    async (delay) => {
      const table = new MemoryLeaseTable(20);
      leases(table, 100);
      const f = fleet(table);
      for (const id of ['w1', 'w2', 'w3', 'w4']) f.start(id);
      await vi.advanceTimersByTimeAsync(6 * F);
      f.start('w5');
      await vi.advanceTimersByTimeAsync(delay);
      const diedAt = Date.now();
      await f.die('w2');
      const bound = DETECTION_BOUND;
      while (
        [...table.leases.values()].some((l) => l.leaseOwner === 'w2') &&
        Date.now() - diedAt <= bound
      )
        await vi.advanceTimersByTimeAsync(100);
      expect(Date.now() - diedAt).toBeLessThanOrEqual(bound);
      await vi.advanceTimersByTimeAsync(F);
      expectBalanced(table, f.ids(), 100);
      await f.stopAll();
    },
  );

  it('a hint that comes back while a scan is in flight still gets a scan of its own, at once', async () => {
    const table = new MemoryLeaseTable(0);
    leases(table, 20);
    // w1's scans wait at a gate while it is closed: a pass in flight for as long as the test likes.
    let closed = false;
    let open: (() => void) | undefined;
    const gated = Object.assign(Object.create(table) as MemoryLeaseTable, {
      async list() {
        if (closed) await new Promise<void>((resolve) => (open = resolve));
        return table.list();
      },
    });
    const f = fleet(table);
    f.start('w1', { table: gated.asTable() });
    f.start('w2');
    await vi.advanceTimersByTimeAsync(6 * F);
    expectBalanced(table, ['w1', 'w2'], 20);
    closed = true;
    while (!open) await vi.advanceTimersByTimeAsync(100);
    // w1's scan is in flight; a hint lands on its lease and comes back with its next renewal.
    const hinted = [...table.leases.values()].find((l) => l.leaseOwner === 'w1')!;
    await table.wake(hinted, 'w1');
    await vi.advanceTimersByTimeAsync(F / 3 + 100);
    closed = false;
    const scans = table.scans;
    open();
    await vi.advanceTimersByTimeAsync(100);
    // The in-flight scan, then one more at once (not at w1's next slot, 2 slots away).
    expect(table.scans - scans).toBeGreaterThanOrEqual(2);
    await f.stopAll();
  });

  it('a worker that steals one lease at a time (the KCL default) joining does not make others fight it', async () => {
    const table = new MemoryLeaseTable(20);
    leases(table, 40);
    const f = fleet(table);
    for (const id of ['w1', 'w2', 'w3']) f.start(id);
    await vi.advanceTimersByTimeAsync(6 * F);
    const before = table.moves.length;
    f.start('kcl', { maxLeasesToStealAtOneTime: 1 });
    await vi.advanceTimersByTimeAsync(20 * F);
    expectBalanced(table, f.ids(), 40);
    const joinMoves = table.moves.slice(before);
    expect(joinMoves.every((m) => m.to === 'kcl')).toBe(true);
    expect(movesPerLease(joinMoves)).toBe(1);
    await f.stopAll();
  });
});

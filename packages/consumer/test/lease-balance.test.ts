import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseCoordinator } from '../src/leases/lease-coordinator';
import { newLease } from './support/lease-tables';
import { MemoryLeaseTable } from './support/memory-lease-table';

// Fleets of real LeaseCoordinators on one in-memory lease table and a fake clock: what a cold
// start, a join, a leave and a death converge to within 3 × failoverTimeMillis, and how often
// each lease moved on the way. Owners hand over when asked (after a short batch), as a live
// Shardline worker does; a stale take-over (`how: 'stale'`) would mean records read twice.

const F = 10_000;

/** Deterministic randomness per worker (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Waits for `promise` while the fake clock runs (table calls in flight take fake time). */
async function finish<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  const out = promise.finally(() => (done = true));
  while (!done) await vi.advanceTimersByTimeAsync(50);
  return out;
}

interface Worker {
  id: string;
  coordinator: LeaseCoordinator;
}

function fleet(table: MemoryLeaseTable) {
  const workers = new Map<string, Worker>();
  let seed = 1;
  const start = (id: string, extra: { maxLeasesToStealAtOneTime?: number } = {}): Worker => {
    const coordinator: LeaseCoordinator = new LeaseCoordinator({
      table: table.asTable(),
      workerId: id,
      failoverTimeMillis: F,
      gracefulLeaseHandoffTimeoutMillis: 30_000,
      maxLeasesForWorker: Number.MAX_SAFE_INTEGER,
      maxLeasesToStealAtOneTime: extra.maxLeasesToStealAtOneTime ?? Number.MAX_SAFE_INTEGER,
      logger: pino({ level: 'silent' }),
      metric: () => {},
      ready: () => true,
      random: seeded(seed++),
      onAcquired: () => {},
      onHandoffComplete: () => {},
      // The owner finishes its batch in flight (a second here), checkpoints and hands over.
      onHandoffRequested: (shardId) => {
        setTimeout(() => {
          void table
            .completeHandoff(shardId, id)
            .then(() => coordinator.drop(shardId))
            .catch(() => {});
        }, 1000);
      },
      onLost: (shardId) => coordinator.drop(shardId),
      isDone: () => false,
    });
    coordinator.start();
    const worker = { id, coordinator };
    workers.set(id, worker);
    return worker;
  };
  return {
    start,
    /** Graceful stop: the leases are released, as `Consumer.stop` does. */
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
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date'],
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

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

    f.start('w5');
    await vi.advanceTimersByTimeAsync(3 * F);
    expectBalanced(table, f.ids(), 100);
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

  it('a settled fleet scans at the settled pace, and moves nothing', async () => {
    const table = new MemoryLeaseTable(20);
    leases(table, 100);
    const f = fleet(table);
    for (const id of ['w1', 'w2', 'w3', 'w4']) f.start(id);
    await vi.advanceTimersByTimeAsync(6 * F);
    const moves = table.moves.length;
    const scans = table.scans;
    await vi.advanceTimersByTimeAsync(10 * (F + 25));
    expect(table.moves.length).toBe(moves);
    // Four workers, one scan each per failover + 25 ms (± the pass in flight).
    expect(table.scans - scans).toBeLessThanOrEqual(4 * 11);
    expect(table.scans - scans).toBeGreaterThanOrEqual(4 * 9);
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

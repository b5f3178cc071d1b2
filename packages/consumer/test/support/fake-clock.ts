import pino from 'pino';
import { afterEach, beforeEach, vi } from 'vitest';
import { LeaseCoordinator } from '../../src/leases/lease-coordinator';
import type { LeaseTable } from '../../src/leases/lease-table';
import type { MemoryLeaseTable } from './memory-lease-table';

/**
 * Fake timers and Date for the enclosing describe, from a fixed instant: the settled fleet's scan
 * slots are wall-clock slots, so a fixed start keeps runs alike; PHASE (ms) shifts it, to try
 * other phases by hand.
 */
export function useFleetClock(): void {
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date'],
    });
    vi.setSystemTime(1_764_600_000_000 + Number(process.env.PHASE ?? 0));
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

/** Deterministic randomness per worker (mulberry32), so a fleet on the fake clock replays exactly. */
export function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Waits for `promise` while the fake clock runs (table calls in flight take fake time). */
export async function finish<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  const out = promise.finally(() => (done = true));
  while (!done) await vi.advanceTimersByTimeAsync(50);
  return out;
}

/**
 * A real LeaseCoordinator on an in-memory table, as the fake-clock fleet tests run one: no lease
 * limits, and an owner asked for a lease finishes its batch in flight (a second here),
 * checkpoints and hands over, as a live Shardline worker does. Started.
 */
export function startFleetCoordinator(
  table: MemoryLeaseTable,
  id: string,
  o: {
    failoverTimeMillis: number;
    random: () => number;
    table?: LeaseTable;
    maxLeasesToStealAtOneTime?: number;
    leaseTakerIntervalMillis?: number;
  },
): LeaseCoordinator {
  const coordinator: LeaseCoordinator = new LeaseCoordinator({
    table: o.table ?? table.asTable(),
    workerId: id,
    failoverTimeMillis: o.failoverTimeMillis,
    gracefulLeaseHandoffTimeoutMillis: 30_000,
    maxLeasesForWorker: Number.MAX_SAFE_INTEGER,
    maxLeasesToStealAtOneTime: o.maxLeasesToStealAtOneTime ?? Number.MAX_SAFE_INTEGER,
    ...(o.leaseTakerIntervalMillis !== undefined
      ? { leaseTakerIntervalMillis: o.leaseTakerIntervalMillis }
      : {}),
    logger: pino({ level: 'silent' }),
    metric: () => {},
    ready: () => true,
    random: o.random,
    onAcquired: () => {},
    onHandoffComplete: () => {},
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
  return coordinator;
}

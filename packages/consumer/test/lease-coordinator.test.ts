import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Lease } from '../src/leases/lease';
import { LeaseCoordinator } from '../src/leases/lease-coordinator';
import { LeaseConflict, type LeaseTable } from '../src/leases/lease-table';
import { newLease, useLeaseTables } from './support/lease-tables';

// The coordinator against a real lease table: worker "old" is driven by hand (it holds two
// leases and then acts, or does not), worker "new" runs a LeaseCoordinator that steals one of them.

const leaseTables = useLeaseTables();

/** A table where "old" holds s1 (checkpointed at 100) and s2, so "new" has one to steal. */
async function tableHeldByOld(): Promise<LeaseTable> {
  const table = await leaseTables.table();
  for (const key of ['s1', 's2']) {
    await table.create(newLease(key));
    await table.take((await table.get(key))!, 'old');
  }
  await table.checkpoint('s1', 'old', '100', 0);
  return table;
}

interface Events {
  acquired: { lease: Lease; waitForHandoff: boolean; at: number }[];
  lost: string[];
  handoffComplete: Promise<{ lease: Lease; at: number }>;
  /** Whether the hand-off has completed (either way) yet. */
  completed: () => boolean;
}

function newWorker(
  table: LeaseTable,
  gracefulLeaseHandoffTimeoutMillis: number,
): { coordinator: LeaseCoordinator; events: Events } {
  let completed!: (value: { lease: Lease; at: number }) => void;
  let done = false;
  const events: Events = {
    acquired: [],
    lost: [],
    handoffComplete: new Promise((resolve) => (completed = resolve)),
    completed: () => done,
  };
  const coordinator = new LeaseCoordinator({
    table,
    workerId: 'new',
    failoverTimeMillis: 1500,
    gracefulLeaseHandoffTimeoutMillis,
    // One lease is its even share: it steals s1 and never takes s2 when that looks expired.
    maxLeasesForWorker: 1,
    maxLeasesToStealAtOneTime: 1,
    // Keeps shard order (every shuffle step swaps a lease with itself): s1 is the one stolen.
    random: () => 1 - Number.EPSILON,
    logger: pino({ level: 'silent' }),
    metric: () => {},
    ready: () => true,
    onAcquired: (acquired, waitForHandoff) =>
      events.acquired.push({ lease: acquired, waitForHandoff, at: Date.now() }),
    onHandoffComplete: (lease) => {
      done = true;
      completed({ lease, at: Date.now() });
    },
    onHandoffRequested: () => {},
    onLost: (shardId) => events.lost.push(shardId),
    isDone: () => false,
  });
  return { coordinator, events };
}

/** Waits until the new worker's hand-off request is written, as the old owner learns of it on renewal. */
async function handoffRequested(table: LeaseTable): Promise<void> {
  await expect
    .poll(async () => (await table.get('s1'))!.checkpointOwner, { timeout: 5000, interval: 50 })
    .toBe('old');
}

describe('LeaseCoordinator hand-off (dynalite)', () => {
  it('takes over from the last checkpoint when the owner never completes the hand-off, and only after the timeout', async () => {
    const table = await tableHeldByOld();
    const timeout = 600;
    const { coordinator, events } = newWorker(table, timeout);
    coordinator.start();
    try {
      const done = await events.handoffComplete;
      expect(events.acquired).toHaveLength(1);
      const [acquired] = events.acquired;
      expect(acquired).toMatchObject({
        waitForHandoff: true,
        lease: { leaseKey: 's1', leaseOwner: 'new', checkpointOwner: 'old' },
      });
      // The old owner stays silent: the new one goes on from its last checkpoint, not before the timeout.
      expect(done.lease).toMatchObject({
        leaseKey: 's1',
        leaseOwner: 'new',
        checkpointOwner: undefined,
        checkpoint: '100',
      });
      expect(done.at - acquired!.at).toBeGreaterThanOrEqual(timeout);
      expect(await table.get('s1')).toMatchObject({
        leaseOwner: 'new',
        checkpointOwner: undefined,
        checkpoint: '100',
      });
      expect(events.lost).toEqual([]);

      // The old owner wakes up late: neither its hand-off checkpoint nor its completion may move
      // the checkpoint the new owner is reading from.
      await expect(table.checkpoint('s1', 'old', '150', 0, true)).rejects.toBeInstanceOf(
        LeaseConflict,
      );
      await expect(
        table.completeHandoff('s1', 'old', { checkpoint: '150', sub: 0 }),
      ).rejects.toBeInstanceOf(LeaseConflict);
      expect((await table.get('s1'))!.checkpoint).toBe('100');
    } finally {
      await coordinator.stop();
    }
  });

  it('goes on at once from the checkpoint a live owner leaves when it completes the hand-off', async () => {
    const table = await tableHeldByOld();
    // Far beyond the test's own timeout: completing through the timeout path would fail the test.
    const { coordinator, events } = newWorker(table, 60_000);
    coordinator.start();
    try {
      await handoffRequested(table);
      await table.checkpoint('s1', 'old', '200', 0, true);
      await table.completeHandoff('s1', 'old', { checkpoint: '201', sub: 4 });
      const done = await events.handoffComplete;
      expect(done.lease).toMatchObject({
        leaseKey: 's1',
        leaseOwner: 'new',
        checkpointOwner: undefined,
        checkpoint: '201',
        checkpointSubSequenceNumber: 4,
      });
      expect(events.acquired).toEqual([expect.objectContaining({ waitForHandoff: true })]);
      expect(events.lost).toEqual([]);
    } finally {
      await coordinator.stop();
    }
  }, 15_000);

  it('waits for a live owner that takes longer than failoverTimeMillis to hand off, and reads from its final checkpoint', async () => {
    const table = await tableHeldByOld();
    const { coordinator, events } = newWorker(table, 60_000);
    coordinator.start();
    try {
      await handoffRequested(table);
      // The old owner renews through its hand-off (as KCL 3 owners do), once per 500 ms:
      // five renewals put the hand-off beyond failoverTimeMillis (1500 ms) without a clock.
      let lease = (await table.get('s1'))!;
      for (let i = 0; i < 5; i++) {
        await expect
          .poll(
            () => events.acquired.length > 0 && Date.now() - events.acquired[0]!.at > 500 * (i + 1),
            {
              timeout: 5000,
              interval: 50,
            },
          )
          .toBe(true);
        lease = await table.renew(lease, 'old');
      }
      expect(events.completed()).toBe(false);
      expect(await table.get('s1')).toMatchObject({
        leaseOwner: 'new',
        checkpointOwner: 'old',
        checkpoint: '100',
      });

      // The busy owner finishes its batch now; the new owner starts where it ended, not at 100.
      await table.checkpoint('s1', 'old', '300', 0, true);
      await table.completeHandoff('s1', 'old', { checkpoint: '300', sub: 0 });
      const done = await events.handoffComplete;
      expect(done.lease).toMatchObject({
        leaseOwner: 'new',
        checkpointOwner: undefined,
        checkpoint: '300',
      });
      expect(events.lost).toEqual([]);
    } finally {
      await coordinator.stop();
    }
  }, 30_000);
});

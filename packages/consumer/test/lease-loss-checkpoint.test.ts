import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LeaseCoordinator } from '../src/leases/lease-coordinator';
import type { LeaseTable } from '../src/leases/lease-table';
import { newLease, useLeaseTables } from './support/lease-tables';

// How the coordinator tells a lost lease that may still name this worker (its renewals failed
// past failoverTimeMillis: the shard may write one final conditional checkpoint) from one another
// worker holds (the renewal lost its condition: nothing may be written).

const leaseTables = useLeaseTables();

function coordinatorOn(table: LeaseTable, lost: [string, boolean | undefined][]): LeaseCoordinator {
  return new LeaseCoordinator({
    table,
    workerId: 'me',
    failoverTimeMillis: 600,
    gracefulLeaseHandoffTimeoutMillis: 5000,
    maxLeasesForWorker: 10,
    maxLeasesToStealAtOneTime: 1,
    logger: pino({ level: 'silent' }),
    metric: () => {},
    ready: () => true,
    onAcquired: () => {},
    onHandoffComplete: () => {},
    onHandoffRequested: () => {},
    onLost: (shardId, mayStillHold) => void lost.push([shardId, mayStillHold]),
    isDone: () => false,
  });
}

describe('a lost lease, as the coordinator reports it', () => {
  it('renewals failing past failoverTimeMillis: lost, and it may still be ours', async () => {
    const real = await leaseTables.table();
    await real.create(newLease('s1'));
    let failing = false;
    const table = new Proxy(real, {
      get(target, name, receiver) {
        if (name === 'renew' && failing)
          return () => Promise.reject(new Error('ProvisionedThroughputExceededException'));
        const value = Reflect.get(target, name, receiver) as unknown;
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const lost: [string, boolean | undefined][] = [];
    const coordinator = coordinatorOn(table, lost);
    coordinator.start();
    try {
      await expect
        .poll(async () => (await real.get('s1'))?.leaseOwner, { timeout: 5000, interval: 50 })
        .toBe('me');
      failing = true;
      await expect.poll(() => lost, { timeout: 5000, interval: 50 }).toEqual([['s1', true]]);
    } finally {
      await coordinator.stop();
    }
  });

  it('a renewal that loses its condition (another worker took it): lost, and not ours', async () => {
    const table = await leaseTables.table();
    await table.create(newLease('s1'));
    const lost: [string, boolean | undefined][] = [];
    const coordinator = coordinatorOn(table, lost);
    coordinator.start();
    try {
      await expect
        .poll(async () => (await table.get('s1'))?.leaseOwner, { timeout: 5000, interval: 50 })
        .toBe('me');
      // A forced take, as a worker that judged it expired: retried while our renewals race it.
      await expect
        .poll(async () =>
          table.take((await table.get('s1'))!, 'other').then(
            () => true,
            () => false,
          ),
        )
        .toBe(true);
      await expect.poll(() => lost, { timeout: 5000, interval: 50 }).toEqual([['s1', undefined]]);
    } finally {
      await coordinator.stop();
    }
  });
});

import {
  ConditionalCheckFailedException,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LeaseCoordinator } from '../src/leases/lease-coordinator';
import type { LeaseTable } from '../src/leases/lease-table';
import { newLease, useLeaseTables } from './support/lease-tables';

// Shardline workers sharing a real (dynalite) lease table with a Java KCL worker's renewer, which
// renews by incrementing leaseCounter and writes no renewal stamp: once it stops, its leases are
// judged by the counter rule only, and the stampless owner's watcher (stampless-probe.ts) has them
// all taken within 3 × failover of its last renewal, though the settled fleet scans once a round.

const leaseTables = useLeaseTables();

const F = 3000;

/** Counts each worker's eventually consistent reads of one lease (probes) by key. */
function counting(table: LeaseTable, probes: Map<string, number>): LeaseTable {
  return Object.assign(Object.create(table) as LeaseTable, {
    get: (key: string, options: { consistent?: boolean } = {}) => {
      if (options.consistent === false) probes.set(key, (probes.get(key) ?? 0) + 1);
      return table.get(key, options);
    },
  });
}

function shardline(table: LeaseTable, id: string): LeaseCoordinator {
  const coordinator: LeaseCoordinator = new LeaseCoordinator({
    table,
    workerId: id,
    failoverTimeMillis: F,
    gracefulLeaseHandoffTimeoutMillis: 10_000,
    maxLeasesForWorker: 100,
    maxLeasesToStealAtOneTime: 100,
    logger: pino({ level: 'silent' }),
    metric: () => {},
    ready: () => true,
    onAcquired: () => {},
    onHandoffComplete: () => {},
    onHandoffRequested: (shardId) => {
      void table
        .completeHandoff(shardId, id)
        .then(() => coordinator.drop(shardId))
        .catch(() => {});
    },
    onLost: (shardId) => coordinator.drop(shardId),
    isDone: () => false,
  });
  coordinator.start();
  return coordinator;
}

/**
 * The KCL's `DynamoDBLeaseRenewer` as the table sees it: every failover / 3 - 25 ms, per lease
 * held, `SET leaseCounter = leaseCounter + 1` on the condition that the counter and owner are
 * what it last wrote; a lease whose condition fails is lost.
 */
function kclRenewer(table: LeaseTable, id: string, held: Map<string, number>) {
  let lastRenewal = Date.now();
  let renewing = Promise.resolve();
  const renewAll = async () => {
    await Promise.all(
      [...held].map(async ([key, counter]) => {
        try {
          await leaseTables.client().send(
            new UpdateItemCommand({
              TableName: table.tableName,
              Key: { leaseKey: { S: key } },
              UpdateExpression: 'SET leaseCounter = leaseCounter + :one',
              ConditionExpression: 'leaseCounter = :counter AND leaseOwner = :owner',
              ExpressionAttributeValues: {
                ':one': { N: '1' },
                ':counter': { N: String(counter) },
                ':owner': { S: id },
              },
            }),
          );
          held.set(key, counter + 1);
        } catch (error) {
          if (error instanceof ConditionalCheckFailedException) held.delete(key);
          else throw error;
        }
      }),
    );
    lastRenewal = Date.now();
  };
  const timer = setInterval(
    () => {
      renewing = renewing.then(renewAll);
    },
    F / 3 - 25,
  );
  return {
    async stop() {
      clearInterval(timer);
      await renewing;
    },
    lastRenewal: () => lastRenewal,
  };
}

describe('a Java KCL worker dying in a settled Shardline fleet (dynalite)', () => {
  it('its leases, which carry no renewal stamp, are all taken within 3 × failover + a pass of its last renewal', async () => {
    const table = await leaseTables.table();
    const kclLeases = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      const key = `shardId-${String(i).padStart(4, '0')}`;
      if (i % 4 === 0) {
        // Its even share (3 of 12 among 4 workers), as the KCL serializer writes a held lease.
        await leaseTables.client().send(
          new PutItemCommand({
            TableName: table.tableName,
            Item: {
              leaseKey: { S: key },
              leaseOwner: { S: 'kcl' },
              leaseCounter: { N: '3' },
              ownerSwitchesSinceCheckpoint: { N: '0' },
              checkpoint: { S: 'TRIM_HORIZON' },
              checkpointSubSequenceNumber: { N: '0' },
            },
          }),
        );
        kclLeases.set(key, 3);
      } else await table.create(newLease(key));
    }
    const kcl = kclRenewer(table, 'kcl', kclLeases);
    const probes = new Map<string, number>();
    const workers = ['w1', 'w2', 'w3'].map((id) => shardline(counting(table, probes), id));
    try {
      const owners = async () => (await table.list()).map((l) => l.leaseOwner);
      await expect
        .poll(
          async () => {
            const counts = new Map<string | undefined, number>();
            for (const o of await owners()) counts.set(o, (counts.get(o) ?? 0) + 1);
            return [...counts.entries()].sort();
          },
          { timeout: 20_000, interval: 200 },
        )
        .toEqual([
          ['kcl', 3],
          ['w1', 3],
          ['w2', 3],
          ['w3', 3],
        ]);
      // Settled, the KCL worker's watcher reads one of its leases every failover / 2.
      const kclKeys = [...kclLeases.keys()];
      const watched = () => kclKeys.reduce((n, key) => n + (probes.get(key) ?? 0), 0);
      await expect.poll(watched, { timeout: 8 * F, interval: 100 }).toBeGreaterThanOrEqual(3);
      expect(kclLeases.size).toBe(3);

      await kcl.stop();
      const lastRenewal = kcl.lastRenewal();
      await expect
        .poll(async () => (await owners()).filter((o) => o === 'kcl').length, {
          timeout: 30_000,
          interval: 50,
        })
        .toBe(0);
      const took = Date.now() - lastRenewal;
      // A pass here: the unsettled pace (failover / 2), as the fleet tests allow.
      expect(took, `taken ${took} ms after the last renewal`).toBeLessThanOrEqual(3 * F + F / 2);
      const after = await table.list();
      for (const key of kclKeys)
        expect(after.find((l) => l.leaseKey === key)?.leaseOwner).toMatch(/^w[123]$/);
    } finally {
      await kcl.stop();
      await Promise.all(workers.map((w) => w.stop()));
    }
  }, 90_000);
});

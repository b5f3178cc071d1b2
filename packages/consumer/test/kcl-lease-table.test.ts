import {
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import type { Shard } from '@aws-sdk/client-kinesis';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LeaseCoordinator } from '../src/leases/lease-coordinator';
import { LeaseConflict, type LeaseTable } from '../src/leases/lease-table';
import { leasesForNewShards } from '../src/shard-sync';
import { newLease, useLeaseTables } from './support/lease-tables';

// The lease table module against items as the Java KCL (3.5.1) writes them: which attributes it
// reads and writes under the KCL's names, the entity rows it leaves alone, the pending-checkpoint
// attributes it clears. The end-to-end takeover and the mixed fleet are in
// integration/test/kcl-compat.test.ts.

const leaseTables = useLeaseTables();

/** KCL 3.5's non-lease entities in the lease table (worker metrics, leader lock, migration states). */
const ENTITY_ROWS: Record<string, AttributeValue>[] = [
  {
    leaseKey: { S: 'java-worker-1' },
    entityType: { S: 'WORKER_METRIC_STATS' },
    lut: { N: '1764547200' },
    sts: { M: { CPU: { L: [{ N: '12.5' }] } } },
  },
  { leaseKey: { S: 'Leader' }, entityType: { S: 'LEADER' } },
  {
    leaseKey: { S: 'Migration3.0' },
    entityType: { S: 'CLIENT_VERSION_MIGRATION' },
    cv: { S: 'CLIENT_VERSION_UPGRADE_FROM_2X' },
    mb: { S: 'java-worker-1' },
    mts: { N: '1764547200000' },
  },
  {
    leaseKey: { S: 'TableMigration3.5' },
    entityType: { S: 'TABLE_MIGRATION' },
    tm: { S: 'TABLE_MIGRATION_STATUS_COMPLETE' },
  },
];

async function put(table: LeaseTable, item: Record<string, AttributeValue>): Promise<void> {
  await leaseTables.client().send(new PutItemCommand({ TableName: table.tableName, Item: item }));
}

async function raw(table: LeaseTable, key: string): Promise<Record<string, AttributeValue>> {
  const out = await leaseTables.client().send(
    new GetItemCommand({
      TableName: table.tableName,
      Key: { leaseKey: { S: key } },
      ConsistentRead: true,
    }),
  );
  return out.Item!;
}

/** A lease item as DynamoDBLeaseSerializer.toDynamoRecord writes it. */
function kclItem(key: string, extra: Record<string, AttributeValue> = {}) {
  return {
    leaseKey: { S: key },
    leaseCounter: { N: '3' },
    ownerSwitchesSinceCheckpoint: { N: '0' },
    checkpoint: { S: 'TRIM_HORIZON' },
    checkpointSubSequenceNumber: { N: '0' },
    entityType: { S: 'LEASE' },
    ...extra,
  };
}

/** What a coordinator under test told its consumer. */
interface Heard {
  /** Leases it asked another worker for (acquired waiting for a hand-off). */
  requested: string[];
  /** Leases another worker asked it for. */
  asked: string[];
  lost: string[];
  completed: string[];
}

/** A LeaseCoordinator on `table` that records what it tells its consumer. */
function coordinator(
  table: LeaseTable,
  workerId: string,
  options: { failoverTimeMillis: number; maxLeasesForWorker: number },
): { coordinator: LeaseCoordinator; heard: Heard } {
  const heard: Heard = { requested: [], asked: [], lost: [], completed: [] };
  const c = new LeaseCoordinator({
    table,
    workerId,
    ...options,
    gracefulLeaseHandoffTimeoutMillis: 60_000,
    maxLeasesToStealAtOneTime: 1,
    logger: pino({ level: 'silent' }),
    metric: () => {},
    ready: () => true,
    onAcquired: (lease, waitForHandoff) => {
      if (waitForHandoff) heard.requested.push(lease.leaseKey);
    },
    onHandoffComplete: (lease) => heard.completed.push(lease.leaseKey),
    onHandoffRequested: (shardId) => heard.asked.push(shardId),
    onLost: (shardId) => heard.lost.push(shardId),
    isDone: () => false,
  });
  return { coordinator: c, heard };
}

describe('LeaseTable on KCL-written items (dynalite)', () => {
  it("reads parents from the KCL's parentShardId and from Shardline's older parentShardIds; writes the KCL's", async () => {
    const table = await leaseTables.table();
    await put(table, kclItem('kcl-child', { parentShardId: { SS: ['p1', 'p2'] } }));
    await put(table, kclItem('old-shardline-child', { parentShardIds: { SS: ['p3'] } }));
    await table.create(newLease('new-child', { parentShardIds: ['p4'] }));
    const byKey = new Map((await table.list()).map((l) => [l.leaseKey, l.parentShardIds]));
    expect(byKey.get('kcl-child')!.sort()).toEqual(['p1', 'p2']);
    expect(byKey.get('old-shardline-child')).toEqual(['p3']);
    expect(await raw(table, 'new-child')).toMatchObject({
      parentShardId: { SS: ['p4'] },
      entityType: { S: 'LEASE' },
    });
  });

  it('lists only leases: KCL 3.5 entity rows are skipped, and no write ever lands on one', async () => {
    const table = await leaseTables.table();
    for (const row of ENTITY_ROWS) await put(table, row);
    await put(table, kclItem('shardId-000000000000'));
    expect((await table.list()).map((l) => l.leaseKey)).toEqual(['shardId-000000000000']);
    expect(await table.get('Leader')).toBeUndefined();
    // Every write is refused on an entity row, even one addressed to it by key.
    const leader = newLease('Leader', { leaseCounter: 0 });
    await expect(table.take(leader, 'w1')).rejects.toBeInstanceOf(LeaseConflict);
    await expect(table.renew(leader, 'w1')).rejects.toBeInstanceOf(LeaseConflict);
    await expect(table.checkpoint('Leader', 'w1', '1', 0)).rejects.toBeInstanceOf(LeaseConflict);
    await expect(table.setChildren('Migration3.0', ['c'])).rejects.toThrow();
    expect(await table.create(newLease('Migration3.0'))).toBe(false);
    for (const row of ENTITY_ROWS) expect(await raw(table, row.leaseKey!.S!)).toEqual(row);
  });

  it("a checkpoint and a hand-off completion remove the KCL's pending-checkpoint attributes", async () => {
    const pending = {
      pendingCheckpoint: { S: '49590338271490256608559692538361571095921575989136588898' },
      pendingCheckpointSubSequenceNumber: { N: '2' },
      pendingCheckpointState: { B: Buffer.from('prepared') },
    };
    const table = await leaseTables.table();
    await put(table, kclItem('s1', pending));
    await put(table, kclItem('s2', pending));
    const s1 = await table.take((await table.get('s1'))!, 'w1');
    await table.checkpoint('s1', 'w1', '100', 1);
    const after = await raw(table, 's1');
    for (const name of Object.keys(pending)) expect(after[name]).toBeUndefined();
    expect(s1.leaseOwner).toBe('w1');

    const s2 = await table.take((await table.get('s2'))!, 'old');
    await table.requestHandoff(s2, 'new');
    await table.completeHandoff('s2', 'old', { checkpoint: '200', sub: 0 });
    const handed = await raw(table, 's2');
    for (const name of Object.keys(pending)) expect(handed[name]).toBeUndefined();
    expect(handed.checkpoint).toEqual({ S: '200' });
  });
});

describe('LeaseCoordinator beside KCL 3.5 entity rows (dynalite)', () => {
  it('a joining worker still balances by hand-off, and writes no entity row', async () => {
    const table = await leaseTables.table();
    for (const row of ENTITY_ROWS) await put(table, row);
    for (const key of ['s1', 's2']) {
      await table.create(newLease(key));
      await table.take((await table.get(key))!, 'old');
    }
    const { coordinator: c, heard } = coordinator(table, 'new', {
      failoverTimeMillis: 1500,
      maxLeasesForWorker: 10,
    });
    // The old owner keeps renewing, so its leases never look expired: only a steal moves one.
    let held = await Promise.all(['s1', 's2'].map(async (k) => (await table.get(k))!));
    const renewing = setInterval(() => {
      void Promise.all(held.map((l) => table.renew(l, 'old').catch(() => l))).then(
        (renewed) => (held = renewed),
      );
    }, 300);
    c.start();
    try {
      await expect.poll(() => heard.requested.length, { timeout: 10_000, interval: 50 }).toBe(1);
    } finally {
      clearInterval(renewing);
      await c.stop();
    }
    for (const row of ENTITY_ROWS) expect(await raw(table, row.leaseKey!.S!)).toEqual(row);
  });
});

describe('shard sync on a table the KCL cleaned up', () => {
  const shard = (id: string, parent?: string, adjacent?: string): Shard => ({
    ShardId: id,
    ...(parent ? { ParentShardId: parent } : {}),
    ...(adjacent ? { AdjacentParentShardId: adjacent } : {}),
    HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' },
    SequenceNumberRange: { StartingSequenceNumber: '1' },
  });

  it('makes no lease for a finished shard whose lease LeaseCleanupManager deleted (nor for its ancestors)', () => {
    // a → b (split with b2) → c; merge of m1 + m2 → m. The KCL deleted a, b and m1/m2 once their
    // children were under way; only the leased shards' ancestors are skipped.
    const shards = [
      shard('a'),
      shard('b', 'a'),
      shard('b2', 'a'),
      shard('c', 'b'),
      shard('m1'),
      shard('m2'),
      shard('m', 'm1', 'm2'),
      shard('fresh'),
    ];
    const leases = leasesForNewShards(shards, new Set(['c', 'b2', 'm']), 'TRIM_HORIZON');
    expect(leases.map((l) => l.leaseKey)).toEqual(['fresh']);
  });
});

describe('LeaseCoordinator as the owner a KCL 3 worker asks for a lease (dynalite)', () => {
  it('keeps renewing through the hand-off it was asked for, so the lease is neither lost nor expired, until it hands over', async () => {
    const table = await leaseTables.table();
    await table.create(newLease('s1'));
    const { coordinator: c, heard } = coordinator(table, 'shardline', {
      failoverTimeMillis: 600,
      maxLeasesForWorker: 10,
    });
    c.start();
    try {
      await expect
        .poll(async () => (await table.get('s1'))!.leaseOwner, { timeout: 5000, interval: 50 })
        .toBe('shardline');
      // The KCL 3 worker's initiateGracefulLeaseHandoff: the counter is not touched.
      const requested = await table.requestHandoff((await table.get('s1'))!, 'java-worker-1');
      await expect.poll(() => heard.asked, { timeout: 5000, interval: 50 }).toEqual(['s1']);
      // A slow shutdown: several renewals (every 200 ms) while the batch finishes.
      await expect
        .poll(async () => (await table.get('s1'))!.leaseCounter, { timeout: 5000, interval: 50 })
        .toBeGreaterThanOrEqual(requested.leaseCounter + 3);
      expect(heard.lost).toEqual([]);
      expect(await table.get('s1')).toMatchObject({
        leaseOwner: 'java-worker-1',
        checkpointOwner: 'shardline',
      });
      await table.completeHandoff('s1', 'shardline', { checkpoint: '42', sub: 0 });
      c.drop('s1');
      expect(c.heldLeases()).toEqual([]);
    } finally {
      await c.stop();
    }
    expect(heard.lost).toEqual([]);
  });

  it('a KCL 2.x take during that hand-off (counter moved, checkpointOwner left in place) is a lost lease', async () => {
    const table = await leaseTables.table();
    await table.create(newLease('s1'));
    const { coordinator: c, heard } = coordinator(table, 'shardline', {
      failoverTimeMillis: 600,
      maxLeasesForWorker: 1,
    });
    c.start();
    try {
      await expect
        .poll(async () => (await table.get('s1'))!.leaseOwner, { timeout: 5000, interval: 50 })
        .toBe('shardline');
      await table.requestHandoff((await table.get('s1'))!, 'java-3');
      await expect.poll(() => heard.asked, { timeout: 5000, interval: 50 }).toEqual(['s1']);
      // KCL 2.x's takeLease: counter + 1 and owner, and nothing about checkpointOwner.
      const current = (await table.get('s1'))!;
      await leaseTables.client().send(
        new UpdateItemCommand({
          TableName: table.tableName,
          Key: { leaseKey: { S: 's1' } },
          Expected: { leaseCounter: { Value: { N: String(current.leaseCounter) } } },
          AttributeUpdates: {
            leaseCounter: { Action: 'PUT', Value: { N: String(current.leaseCounter + 1) } },
            leaseOwner: { Action: 'PUT', Value: { S: 'java-2' } },
            ownerSwitchesSinceCheckpoint: { Action: 'ADD', Value: { N: '1' } },
          },
        }),
      );
      await expect.poll(() => heard.lost, { timeout: 5000, interval: 50 }).toEqual(['s1']);
      expect(c.heldLeases()).toEqual([]);
    } finally {
      await c.stop();
    }
  });
});

describe('LeaseCoordinator asked for a lease it is still waiting to receive (dynalite)', () => {
  it('hands it on unread, with the previous owner’s checkpoint, instead of leaving the request hanging', async () => {
    const table = await leaseTables.table();
    for (const key of ['s1', 's2']) {
      await table.create(newLease(key));
      await table.take((await table.get(key))!, 'old');
    }
    // Polls every 2 s: the old owner's hand-over and the KCL worker's request both land first.
    const { coordinator: c, heard } = coordinator(table, 'new', {
      failoverTimeMillis: 6000,
      maxLeasesForWorker: 1,
    });
    c.start();
    try {
      const pending = async () =>
        (await Promise.all(['s1', 's2'].map((k) => table.get(k)))).find(
          (l) => l?.checkpointOwner === 'old',
        );
      await expect.poll(pending, { timeout: 5000, interval: 20 }).toBeDefined();
      const key = (await pending())!.leaseKey;
      await table.completeHandoff(key, 'old', { checkpoint: '500', sub: 7 });
      // A KCL 3 worker sees the lease as "new"'s and asks for it at once.
      await table.requestHandoff((await table.get(key))!, 'java-worker-1');
      await expect.poll(() => heard.lost, { timeout: 10_000, interval: 50 }).toEqual([key]);
      expect(await table.get(key)).toMatchObject({
        leaseOwner: 'java-worker-1',
        checkpointOwner: undefined,
        checkpoint: '500',
        checkpointSubSequenceNumber: 7,
      });
      expect(heard.completed).toEqual([]);
    } finally {
      await c.stop();
    }
  }, 20_000);
});

import {
  CreateTableCommand,
  DescribeTableCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import type { Shard } from '@aws-sdk/client-kinesis';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Lease } from '../src/leases/lease';
import { LeaseCleaner, planLeaseCleanup } from '../src/leases/lease-cleanup';
import { LeaseConflict, LeaseTable, OWNER_INDEX_NAME } from '../src/leases/lease-table';
import { newLease, useLeaseTables } from './support/lease-tables';

const shard = (id: string, parent?: string, adjacent?: string): Shard =>
  ({
    ShardId: id,
    ...(parent ? { ParentShardId: parent } : {}),
    ...(adjacent ? { AdjacentParentShardId: adjacent } : {}),
  }) as Shard;
const done = (key: string, fields: Partial<Lease> = {}): Lease =>
  newLease(key, { checkpoint: 'SHARD_END', ...fields });

function plan(leases: Lease[], shards: Shard[], missingBefore: string[] = []) {
  const out = planLeaseCleanup({
    leases,
    shards,
    missingBefore: new Set(missingBefore),
    completed: true,
    garbage: true,
  });
  return {
    deleted: out.delete.map((c) => `${c.lease.leaseKey}:${c.reason}`),
    missing: [...out.missing],
  };
}

// A split: p (ended) has children c1 and c2.
const split = [shard('p'), shard('c1', 'p'), shard('c2', 'p')];

describe('planLeaseCleanup (LeaseCleanupManager semantics)', () => {
  it('keeps a finished lease while a child has not started', () => {
    const leases = [
      done('p', { childShardIds: ['c1', 'c2'] }),
      newLease('c1', { checkpoint: '100', parentShardIds: ['p'] }),
      newLease('c2', { checkpoint: 'TRIM_HORIZON', parentShardIds: ['p'] }),
    ];
    expect(plan(leases, split).deleted).toEqual([]);
  });

  it('deletes a finished lease once every child has started', () => {
    const leases = [
      done('p', { childShardIds: ['c1', 'c2'] }),
      newLease('c1', { checkpoint: '100', parentShardIds: ['p'] }),
      newLease('c2', { checkpoint: 'SHARD_END', parentShardIds: ['p'] }),
    ];
    expect(plan(leases, split).deleted).toEqual(['p:completed']);
  });

  it('finds the children in the listing when the lease does not record them', () => {
    const started = [
      done('p'),
      newLease('c1', { checkpoint: '1', parentShardIds: ['p'] }),
      newLease('c2', { checkpoint: '2', parentShardIds: ['p'] }),
    ];
    expect(plan(started, split).deleted).toEqual(['p:completed']);
    // No child known anywhere: kept (the KCL logs and keeps it).
    expect(plan([done('p')], [shard('p')]).deleted).toEqual([]);
  });

  it('keeps a finished lease whose child has no lease yet', () => {
    const leases = [
      done('p', { childShardIds: ['c1', 'c2'] }),
      newLease('c1', { checkpoint: '1', parentShardIds: ['p'] }),
    ];
    expect(plan(leases, split).deleted).toEqual([]);
  });

  it("keeps a finished child's lease while its parent's lease is still there (parents go first)", () => {
    const shards = [...split, shard('g', 'c1')];
    const leases = [
      // p cannot go yet (c2 has not started), so c1, finished, whose child g has started, stays too.
      done('p', { childShardIds: ['c1', 'c2'] }),
      done('c1', { parentShardIds: ['p'], childShardIds: ['g'] }),
      newLease('c2', { parentShardIds: ['p'] }),
      newLease('g', { checkpoint: '5', parentShardIds: ['c1'] }),
    ];
    expect(plan(leases, shards).deleted).toEqual([]);
    // Once p's lease is gone, c1's goes.
    expect(plan(leases.slice(1), shards).deleted).toEqual(['c1:completed']);
  });

  it("never deletes a merge parent's lease while the child waits for the other parent", () => {
    // a and b merge into m; a is done, b still running: m must keep waiting for b, and a's lease
    // (done, not missing) is what tells it a is done.
    const shards = [shard('a'), shard('b'), shard('m', 'a', 'b')];
    const leases = [
      done('a', { childShardIds: ['m'] }),
      newLease('b', { checkpoint: '42', leaseOwner: 'w1' }),
      newLease('m', { parentShardIds: ['a', 'b'] }),
    ];
    expect(plan(leases, shards).deleted).toEqual([]);
  });

  it('never deletes an unfinished lease of a listed shard', () => {
    const leases = [newLease('p', { checkpoint: '7' }), newLease('c1', { parentShardIds: ['p'] })];
    expect(plan(leases, split, ['p', 'c1']).deleted).toEqual([]);
  });

  it('deletes the lease of a shard past retention once two listings lack it', () => {
    const shards = [shard('c1', 'gone'), shard('c2', 'gone')];
    const leases = [
      newLease('gone', { checkpoint: '99', childShardIds: ['c1', 'c2'] }),
      newLease('c1', { parentShardIds: ['gone'] }),
      newLease('c2', { parentShardIds: ['gone'] }),
    ];
    const first = plan(leases, shards);
    expect(first).toEqual({ deleted: [], missing: ['gone'] });
    expect(plan(leases, shards, first.missing).deleted).toEqual(['gone:garbage']);
    // Listed again in between: not garbage.
    expect(plan(leases, [...shards, shard('gone')], first.missing).deleted).toEqual([]);
  });

  it('treats an empty listing as no evidence', () => {
    expect(plan([newLease('s1')], [], ['s1'])).toEqual({ deleted: [], missing: [] });
  });

  it('does nothing of a kind that is switched off', () => {
    const out = planLeaseCleanup({
      leases: [
        done('p', { childShardIds: ['c1'] }),
        newLease('c1', { checkpoint: '1' }),
        newLease('x'),
      ],
      shards: [shard('c1', 'p')],
      missingBefore: new Set(['p', 'x']),
      completed: false,
      garbage: false,
    });
    expect(out.delete).toEqual([]);
  });
});

const leaseTables = useLeaseTables();

describe('LeaseCleaner and the owner index (dynalite)', () => {
  it('deletes only while the lease is as planned (conditional delete)', async () => {
    const table = await leaseTables.table();
    await table.create(done('p', { childShardIds: ['c1'] }));
    await table.create(newLease('c1', { checkpoint: '1', parentShardIds: ['p'] }));
    const cleaner = new LeaseCleaner({
      table,
      completedLeases: true,
      garbageLeases: true,
      completedLeaseCleanupIntervalMillis: 0,
      garbageLeaseCleanupIntervalMillis: 0,
      logger: pino({ level: 'silent' }),
    });
    const deleted = await cleaner.run(await table.list(), [shard('p'), shard('c1', 'p')]);
    expect(deleted.map((c) => c.lease.leaseKey)).toEqual(['p']);
    expect((await table.list()).map((l) => l.leaseKey)).toEqual(['c1']);

    // A stale plan (the lease moved on since it was read) deletes nothing.
    const [c1] = await table.list();
    await table.checkpoint('c1', c1!.leaseOwner ?? '', '2', 0).catch(() => {});
    const owned = await table.take(c1!, 'w1');
    await table.checkpoint('c1', 'w1', '3', 0);
    await expect(table.delete(owned)).rejects.toBeInstanceOf(LeaseConflict);
    expect(await table.get('c1')).toBeDefined();
  });

  it('looks for each kind at most once per its interval, from start (injected clock)', async () => {
    const table = await leaseTables.table();
    await table.create(done('p', { childShardIds: ['c1'] }));
    await table.create(newLease('c1', { checkpoint: '1', parentShardIds: ['p'] }));
    await table.create(newLease('gone', { checkpoint: '5' }));
    let now = 1_000_000;
    const cleaner = new LeaseCleaner({
      table,
      completedLeases: true,
      garbageLeases: true,
      completedLeaseCleanupIntervalMillis: 300_000,
      garbageLeaseCleanupIntervalMillis: 1_800_000,
      logger: pino({ level: 'silent' }),
      now: () => now,
    });
    const shards = [shard('p'), shard('c1', 'p')];
    const run = async () =>
      (await cleaner.run(await table.list(), shards)).map((c) => c.lease.leaseKey);
    now += 299_999;
    expect(await run()).toEqual([]);
    now += 1;
    expect(await run()).toEqual(['p']);
    // Garbage: missing at the first look (1,800,000 ms after start), deleted at the second.
    now = 1_000_000 + 1_800_000;
    expect(await run()).toEqual([]);
    now += 1_000_000;
    expect(await run()).toEqual([]);
    now += 800_000;
    expect(await run()).toEqual(['gone']);
    expect((await table.list()).map((l) => l.leaseKey)).toEqual(['c1']);
  });

  it('creates new tables with KCL 3’s LeaseOwnerToLeaseKeyIndex, which answers a Query by owner', async () => {
    const table = await leaseTables.table();
    expect(table.ownerIndex).toBe('ACTIVE');
    const out = await leaseTables
      .client()
      .send(new DescribeTableCommand({ TableName: table.tableName }));
    const index = out.Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === OWNER_INDEX_NAME);
    expect(index).toMatchObject({
      KeySchema: [
        { AttributeName: 'leaseOwner', KeyType: 'HASH' },
        { AttributeName: 'leaseKey', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    });
    await table.create(newLease('s1'));
    await table.create(newLease('s2'));
    await table.take((await table.get('s2'))!, 'w1');
    const mine = await leaseTables.client().send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: OWNER_INDEX_NAME,
        KeyConditionExpression: 'leaseOwner = :o',
        ExpressionAttributeValues: { ':o': { S: 'w1' } },
      }),
    );
    expect(mine.Items?.map((i) => i.leaseKey?.S)).toEqual(['s2']);
  });

  it('uses a table without the index (older Shardline, KCL 2.x) as it is', async () => {
    const client = leaseTables.client();
    await client.send(
      new CreateTableCommand({
        TableName: 'no-index',
        AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await client.send(
      new PutItemCommand({
        TableName: 'no-index',
        Item: {
          leaseKey: { S: 's1' },
          leaseCounter: { N: '3' },
          checkpoint: { S: 'LATEST' },
          ownerSwitchesSinceCheckpoint: { N: '0' },
        },
      }),
    );
    const table = new LeaseTable(client, 'no-index');
    await table.ensure();
    expect(table.ownerIndex).toBe('absent');
    const out = await client.send(new DescribeTableCommand({ TableName: 'no-index' }));
    expect(out.Table?.GlobalSecondaryIndexes ?? []).toEqual([]);
    const [lease] = await table.list({ consistent: false });
    expect(await table.take(lease!, 'w1')).toMatchObject({ leaseOwner: 'w1', leaseCounter: 4 });
  });
});

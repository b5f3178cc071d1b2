import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { ShardCheckpointer } from '../src/checkpoint/checkpointer';
import { LeaseLostError, LeaseTableError } from '../src/errors';
import type { Lease } from '../src/leases/lease';
import { LeaseConflict, LeaseTable } from '../src/leases/lease-table';
import { newLease as blankLease, useLeaseTables } from './support/lease-tables';

const leaseTables = useLeaseTables();
const table = leaseTables.table;

const newLease = (key: string): Lease => blankLease(key, { parentShardIds: ['p0'] });

describe('LeaseTable (dynalite)', () => {
  it('creates the table once, and refuses a table with another key schema', async () => {
    const t = await table();
    await t.ensure();
    await leaseTables.client().send(
      new CreateTableCommand({
        TableName: 'wrong-schema',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await expect(
      new LeaseTable(leaseTables.client(), 'wrong-schema').ensure(),
    ).rejects.toBeInstanceOf(LeaseTableError);
  });

  it('creates a lease only once, with the KCL attribute names', async () => {
    const t = await table();
    expect(await t.create(newLease('s1'))).toBe(true);
    expect(await t.create(newLease('s1'))).toBe(false);
    expect(await t.list()).toEqual([
      expect.objectContaining({
        leaseKey: 's1',
        leaseCounter: 0,
        checkpoint: 'TRIM_HORIZON',
        parentShardIds: ['p0'],
      }),
    ]);
  });

  it('fences every write on the counter and the owner', async () => {
    const t = await table();
    await t.create(newLease('s1'));
    const [free] = await t.list();
    const mine = await t.take(free!, 'w1');
    expect(mine).toMatchObject({
      leaseOwner: 'w1',
      leaseCounter: 1,
      ownerSwitchesSinceCheckpoint: 1,
    });
    await expect(t.take(free!, 'w2')).rejects.toBeInstanceOf(LeaseConflict); // stale counter
    const renewed = await t.renew(mine, 'w1');
    expect(renewed.leaseCounter).toBe(2);
    await expect(t.renew(mine, 'w1')).rejects.toBeInstanceOf(LeaseConflict); // counter moved
    await expect(t.renew(renewed, 'w2')).rejects.toBeInstanceOf(LeaseConflict); // not the owner
    expect(await t.checkpoint('s1', 'w1', '12345', 2)).toMatchObject({
      checkpoint: '12345',
      checkpointSubSequenceNumber: 2,
      ownerSwitchesSinceCheckpoint: 0,
    });
    await expect(t.checkpoint('s1', 'w2', '99999', 0)).rejects.toBeInstanceOf(LeaseConflict);
  });

  it('hands a lease over gracefully: the old owner checkpoints, then the new owner reads', async () => {
    const t = await table();
    await t.create(newLease('s1'));
    const held = await t.take((await t.list())[0]!, 'old');
    const requested = await t.requestHandoff(held, 'new');
    // KCL 3's request: the counter stays, so the owner's renewal goes on (no lost lease).
    expect(requested).toMatchObject({
      leaseOwner: 'new',
      checkpointOwner: 'old',
      leaseCounter: held.leaseCounter,
    });
    const renewed = await t.renew(held, 'old'); // the old owner learns on renew, and keeps the lease alive
    expect(renewed).toMatchObject({
      leaseOwner: 'new',
      checkpointOwner: 'old',
      leaseCounter: held.leaseCounter + 1,
    });
    await expect(t.checkpoint('s1', 'new', '5', 0)).rejects.toBeInstanceOf(LeaseConflict); // new owner cannot checkpoint yet
    await t.checkpoint('s1', 'old', '777', 0, true); // old owner checkpoints during the hand-off
    const done = await t.completeHandoff('s1', 'old', { checkpoint: '778', sub: 0 });
    // The assign-style hand-over: counter and owner switches move, checkpointOwner goes.
    expect(done).toMatchObject({
      leaseOwner: 'new',
      checkpointOwner: undefined,
      checkpoint: '778',
      leaseCounter: renewed.leaseCounter + 1,
      ownerSwitchesSinceCheckpoint: 1,
    });
    await expect(t.completeHandoff('s1', 'old')).rejects.toBeInstanceOf(LeaseConflict);
    await expect(t.renew(renewed, 'old')).rejects.toBeInstanceOf(LeaseConflict); // handed over: no more renewals
  });

  it('releases a lease so another worker takes it at once', async () => {
    const t = await table();
    await t.create(newLease('s1'));
    const held = await t.take((await t.list())[0]!, 'w1');
    await t.release(held, 'w1');
    const [released] = await t.list();
    expect(released!.leaseOwner).toBeUndefined();
    expect((await t.take(released!, 'w2')).leaseOwner).toBe('w2');
  });

  it('a checkpoint racing a hand-off request lands as the hand-off checkpoint, so the new owner does not replay', async () => {
    const t = await table();
    await t.create(newLease('s1'));
    const held = await t.take((await t.list())[0]!, 'old');
    const checkpointer = new ShardCheckpointer('s1', t, 'old', 'TRIM_HORIZON');
    checkpointer.delivered({ sequenceNumber: '500', subSequenceNumber: 3 });
    await t.requestHandoff(held, 'new'); // arrives between the batch and its checkpoint
    await checkpointer.checkpoint();
    expect(checkpointer.handingOff).toBe(true);
    expect((await t.get('s1'))!).toMatchObject({
      checkpoint: '500',
      checkpointSubSequenceNumber: 3,
      leaseOwner: 'new',
      checkpointOwner: 'old',
    });
    await t.completeHandoff('s1', 'old', { checkpoint: '500', sub: 3 });
    // Once the hand-off is complete the old owner can no longer move the checkpoint.
    checkpointer.delivered({ sequenceNumber: '600', subSequenceNumber: 0 });
    await expect(checkpointer.checkpoint()).rejects.toBeInstanceOf(LeaseLostError);
    expect((await t.get('s1'))!.checkpoint).toBe('500');
  });

  it('a plain checkpoint in flight when the hand-off shutdown begins still lands as the hand-off checkpoint', async () => {
    const t = await table();
    await t.create(newLease('s1'));
    const held = await t.take((await t.list())[0]!, 'old');
    const checkpointer = new ShardCheckpointer('s1', t, 'old', 'TRIM_HORIZON');
    checkpointer.delivered({ sequenceNumber: '500', subSequenceNumber: 399 });
    await t.requestHandoff(held, 'new');
    // The write goes out as a plain checkpoint (refused: there is a hand-off now); the shutdown
    // for that hand-off calls beginHandoff() before the refusal comes back.
    const pending = checkpointer.checkpoint();
    checkpointer.beginHandoff();
    await pending;
    expect(checkpointer.disabled).toBe(false);
    expect(checkpointer.lastCheckpoint).toEqual({ sequenceNumber: '500', subSequenceNumber: 399 });
    expect((await t.get('s1'))!).toMatchObject({
      checkpoint: '500',
      checkpointSubSequenceNumber: 399,
      checkpointOwner: 'old',
    });
  });

  it('a checkpoint after the lease was taken outright is refused with LeaseLostError', async () => {
    const t = await table();
    await t.create(newLease('s1'));
    const held = await t.take((await t.list())[0]!, 'old');
    await t.take(held, 'thief');
    const checkpointer = new ShardCheckpointer('s1', t, 'old', 'TRIM_HORIZON');
    checkpointer.delivered({ sequenceNumber: '9', subSequenceNumber: 0 });
    await expect(checkpointer.checkpoint()).rejects.toBeInstanceOf(LeaseLostError);
    expect(checkpointer.disabled).toBe(true);
  });

  it('stamps renewals and takes with the new counter and the writer clock; a wake-up hint moves no counter and needs the owner', async () => {
    const t = await table();
    await t.create(newLease('s1'));
    const [free] = await t.list();
    const taken = await t.take(free!, 'w1', 1_000);
    expect(taken.renewalStamp).toEqual({ counter: 1, at: 1_000 });
    const renewed = await t.renew(taken, 'w1', 4_000);
    expect(renewed).toMatchObject({ leaseCounter: 2, renewalStamp: { counter: 2, at: 4_000 } });
    await t.wake(renewed, 'w1', 5_000);
    await expect(t.wake(renewed, 'w2', 6_000)).rejects.toBeInstanceOf(LeaseConflict);
    // The hint left the counter alone: the owner's renewal from what it last read still holds,
    // and brings the hint back with it.
    const after = await t.renew(renewed, 'w1', 7_000);
    expect(after).toMatchObject({
      leaseCounter: 3,
      wakeAt: 5_000,
      renewalStamp: { counter: 3, at: 7_000 },
    });
    // The projected scan carries both.
    expect(await t.list({ consistent: false })).toEqual([
      expect.objectContaining({ wakeAt: 5_000, renewalStamp: { counter: 3, at: 7_000 } }),
    ]);
  });

  it('lists leases with an eventually consistent, projected Scan; the start-up checks read whole items, consistently', async () => {
    const client = leaseTables.newClient();
    const scans: { ConsistentRead?: boolean; ProjectionExpression?: string }[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { ConsistentRead?: boolean; ProjectionExpression?: string };
        if ('ExclusiveStartKey' in input || 'ConsistentRead' in input) scans.push({ ...input });
        return next(args);
      },
      { step: 'initialize' },
    );
    try {
      const t = new LeaseTable(client, (await table()).tableName);
      await t.create(newLease('s1'));
      await t.list({ consistent: false });
      await t.scanItems();
      expect(scans).toEqual([
        expect.objectContaining({
          ConsistentRead: false,
          ProjectionExpression: expect.stringContaining('#a'),
        }),
        expect.objectContaining({ ConsistentRead: true }),
      ]);
      expect(scans[1]!.ProjectionExpression).toBeUndefined();
      expect(await t.list({ consistent: false })).toEqual([
        expect.objectContaining({
          leaseKey: 's1',
          parentShardIds: ['p0'],
          checkpoint: 'TRIM_HORIZON',
        }),
      ]);
    } finally {
      client.destroy();
    }
  });

  it('reads one lease strongly consistent by default, eventually consistent for the slot probe', async () => {
    const client = leaseTables.newClient();
    const gets: { ConsistentRead?: boolean }[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: unknown; ConsistentRead?: boolean };
        if ('Key' in input && 'ConsistentRead' in input) gets.push({ ...input });
        return next(args);
      },
      { step: 'initialize' },
    );
    try {
      const t = new LeaseTable(client, (await table()).tableName);
      await t.create(newLease('s1'));
      const taken = await t.take(newLease('s1'), 'w1', 7_000);
      expect(await t.get('s1', { consistent: false })).toEqual(
        expect.objectContaining({ leaseOwner: 'w1', renewalStamp: taken.renewalStamp }),
      );
      expect(await t.get('gone', { consistent: false })).toBeUndefined();
      await t.get('s1');
      expect(gets.map((g) => g.ConsistentRead)).toEqual([false, false, true]);
    } finally {
      client.destroy();
    }
  });
});

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors';
import { GracefulHandoff } from '../../src/handoff/graceful-handoff';
import { LeaseConflict, LeaseTable } from '../../src/leases/lease-table';
import { ShardWorker } from '../../src/shard-worker';
import { newLease, useLeaseTables } from '../support/lease-tables';
import { keptLogger, plain, scriptedRetrieval, settle } from '../support/scripted';

// The hand-off module on dynalite, both sides. The owner: a real ShardWorker stopped for a
// hand-off hands over with its final checkpoint in ONE conditional write. The requester: its
// waits and timeouts on a clock moved by hand, never by sleeping.

const leaseTables = useLeaseTables();
const clients: DynamoDBClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

/** A lease table on a client of its own whose UpdateItem expressions are recorded. */
async function countedTable(): Promise<{ table: LeaseTable; updates: string[] }> {
  const base = await leaseTables.table();
  const client = leaseTables.newClient();
  clients.push(client);
  const updates: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'UpdateItemCommand')
        updates.push((args.input as { UpdateExpression: string }).UpdateExpression);
      return next(args);
    },
    { step: 'initialize' },
  );
  return { table: new LeaseTable(client, base.tableName), updates };
}

function handoffFor(table: LeaseTable, workerId: string, clock = { t: 0 }) {
  return new GracefulHandoff({
    table,
    workerId,
    failoverTimeMillis: 1500,
    gracefulLeaseHandoffTimeoutMillis: 5000,
    logger: pino({ level: 'silent' }),
    metric: () => {},
    now: () => clock.t,
  });
}

describe("the owner's side: hand-over (dynalite)", () => {
  it('stops the shard and hands over with the final checkpoint in one conditional write', async () => {
    const { table, updates } = await countedTable();
    await table.create(newLease('s1'));
    const held = await table.take((await table.get('s1'))!, 'old');
    const a = plain('a');
    const b = plain('b');
    let release!: () => void;
    const inFlight = new Promise<void>((resolve) => (release = resolve));
    const worker = new ShardWorker(
      {
        lease: held,
        workerId: 'old',
        table,
        retrieval: scriptedRetrieval([[a, b], [plain('never delivered')]]),
        processor: { processRecords: () => inFlight },
        logger: keptLogger().logger,
        initialPosition: 'TRIM_HORIZON',
        autoCheckpoint: true,
        stallTimeoutMillis: 60_000,
        dropOutOfRangeAggregates: false,
        onProcessorError: undefined,
        onPoisonRecord: undefined,
        metric: () => {},
        onShardEnded: () => {},
      },
      false,
    );
    await settle(); // the batch [a, b] is with the processor
    const requested = await handoffFor(table, 'new').request(held);
    updates.length = 0;

    // The owner learns of the request while the batch is in flight, and answers it.
    const handing = handoffFor(table, 'old').handOver('s1', worker);
    release();
    expect(await handing).toBe(true);

    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatch(/^SET checkpoint = :cp, checkpointSubSequenceNumber = :sub/);
    expect(updates[0]).toMatch(/leaseCounter = leaseCounter \+ :one REMOVE checkpointOwner/);
    expect(await table.get('s1')).toMatchObject({
      leaseOwner: 'new',
      checkpointOwner: undefined,
      checkpoint: b.sequenceNumber,
      checkpointSubSequenceNumber: 0,
      leaseCounter: requested.lease.leaseCounter + 1,
      ownerSwitchesSinceCheckpoint: 1,
    });
    expect(worker.lifecycle.state).toBe('stopped');
    // Handed over: the old owner writes nothing more for the shard.
    await expect(worker.checkpointer.checkpoint()).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('with nothing new to checkpoint, the hand-over only moves the lease (the checkpoint and its switch count stay the KCL’s)', async () => {
    const { table, updates } = await countedTable();
    await table.create(newLease('s1'));
    const held = await table.take((await table.get('s1'))!, 'old');
    await table.checkpoint('s1', 'old', '100', 2);
    await handoffFor(table, 'new').request(held);
    const before = (await table.get('s1'))!;
    updates.length = 0;
    const handed: unknown[] = [];
    const shard = {
      shutdown: async () => {},
      handoverCheckpoint: () => undefined,
      checkpointer: { handedOver: (cp?: unknown) => void handed.push(cp) },
    };
    expect(await handoffFor(table, 'old').handOver('s1', shard)).toBe(true);
    expect(updates).toHaveLength(1);
    expect(await table.get('s1')).toMatchObject({
      leaseOwner: 'new',
      checkpointOwner: undefined,
      checkpoint: '100',
      checkpointSubSequenceNumber: 2,
      leaseCounter: before.leaseCounter + 1,
      ownerSwitchesSinceCheckpoint: before.ownerSwitchesSinceCheckpoint + 1,
    });
    expect(handed).toEqual([undefined]);
  });

  it('a hand-over after the requester took over is refused and moves nothing', async () => {
    const table = await leaseTables.table();
    await table.create(newLease('s1'));
    const held = await table.take((await table.get('s1'))!, 'old');
    await table.checkpoint('s1', 'old', '100', 0);
    const wait = await handoffFor(table, 'new').request(held);
    await table.clearStaleHandoff(wait.lease, 'new');
    const shard = {
      shutdown: async () => {},
      handoverCheckpoint: () => ({ sequenceNumber: '150', subSequenceNumber: 0 }),
      checkpointer: { handedOver: () => expect.fail('not handed over') },
    };
    expect(await handoffFor(table, 'old').handOver('s1', shard)).toBe(false);
    expect(await table.get('s1')).toMatchObject({ leaseOwner: 'new', checkpoint: '100' });
  });
});

describe("the requester's side: waiting (dynalite, clock moved by hand)", () => {
  async function requested() {
    const table = await leaseTables.table();
    await table.create(newLease('s1'));
    const held = await table.take((await table.get('s1'))!, 'old');
    await table.checkpoint('s1', 'old', '100', 0);
    const clock = { t: 1_000_000 };
    const requester = handoffFor(table, 'new', clock);
    const wait = await requester.request(held);
    return { table, clock, requester, wait };
  }

  it('waits while the owner renews, and reads from the checkpoint the owner hands over with', async () => {
    const { table, clock, requester, wait } = await requested();
    expect(wait.lease).toMatchObject({ leaseOwner: 'new', checkpointOwner: 'old' });
    clock.t += 1000;
    expect(await requester.poll(wait)).toEqual({ kind: 'waiting' });
    await table.completeHandoff('s1', 'old', { checkpoint: '201', sub: 4 });
    const result = await requester.poll(wait);
    expect(result).toMatchObject({
      kind: 'completed',
      lease: {
        leaseOwner: 'new',
        checkpointOwner: undefined,
        checkpoint: '201',
        checkpointSubSequenceNumber: 4,
      },
    });
  });

  it('an owner that renews but never hands over is taken over after gracefulLeaseHandoffTimeoutMillis, not before', async () => {
    const { table, clock, requester, wait } = await requested();
    let owner = (await table.get('s1'))!;
    for (let waited = 1000; waited <= 5000; waited += 1000) {
      owner = await table.renew(owner, 'old'); // alive: the counter moves every time
      clock.t += 1000;
      expect(await requester.poll(wait)).toEqual({ kind: 'waiting' });
    }
    owner = await table.renew(owner, 'old');
    clock.t += 1;
    const result = await requester.poll(wait);
    expect(result).toMatchObject({
      kind: 'took-over',
      ownerGone: false,
      lease: { leaseOwner: 'new', checkpointOwner: undefined, checkpoint: '100' },
    });
    // The late owner can neither checkpoint nor hand over any more.
    await expect(table.checkpoint('s1', 'old', '150', 0, true)).rejects.toBeInstanceOf(
      LeaseConflict,
    );
    await expect(table.renew(owner, 'old')).rejects.toBeInstanceOf(LeaseConflict);
  });

  it('an owner whose counter stopped is taken over after failoverTimeMillis, before the hand-off timeout', async () => {
    const { clock, requester, wait } = await requested();
    clock.t += 1500;
    expect(await requester.poll(wait)).toEqual({ kind: 'waiting' });
    clock.t += 1;
    expect(await requester.poll(wait)).toMatchObject({ kind: 'took-over', ownerGone: true });
  });

  it('a wait abandoned meanwhile writes nothing', async () => {
    const { table, clock, requester, wait } = await requested();
    clock.t += 10_000;
    expect(await requester.poll(wait, () => false)).toEqual({ kind: 'waiting' });
    expect(await table.get('s1')).toMatchObject({ checkpointOwner: 'old' });
  });

  it('a lease taken by a third worker is lost', async () => {
    const { table, requester, wait } = await requested();
    await table.take((await table.get('s1'))!, 'thief');
    expect(await requester.poll(wait)).toEqual({ kind: 'lost', owner: 'thief' });
  });
});

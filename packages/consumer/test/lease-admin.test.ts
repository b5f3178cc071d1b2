import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { aggregate } from '@shardline/aggregation';
import { FakeKinesis } from '@shardline/fake-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseWatch } from '../src/admin/liveness';
import { planRewind, sentinelTarget } from '../src/admin/rewind-plan';
import {
  Consumer,
  LeaseAdminError,
  LeasesInUseError,
  listLeases,
  rewindCheckpoints,
  type ConsumerMetricEvent,
} from '../src/index';
import type { Lease } from '../src/leases/lease';
import type { LeaseTable } from '../src/leases/lease-table';
import { newLease, useLeaseTables } from './support/lease-tables';

const leaseTables = useLeaseTables();
const SHARD = 'shardId-000000000000';

describe('LeaseWatch: expiry judged from two reads, as the KCL taker does', () => {
  const owned = (counter: number, owner: string | undefined = 'w1') =>
    newLease('s1', { leaseOwner: owner, leaseCounter: counter });

  it('one read never says expired; a counter that moved is live; one that stood still past failover is expired', () => {
    const watch = new LeaseWatch(1000);
    watch.observe([owned(5), newLease('free')], 0);
    expect(watch.judge('s1', 0)).toBe('unknown');
    expect(watch.judge('free', 0)).toBe('free');
    // Exactly the failover time is not yet expired (the KCL's isExpired is strictly greater).
    watch.observe([owned(5)], 1000);
    expect(watch.judge('s1', 1000)).toBe('unknown');
    expect(watch.judge('s1', 1001)).toBe('expired');

    const live = new LeaseWatch(1000);
    live.observe([owned(5)], 0);
    live.observe([owned(6)], 300);
    expect(live.judge('s1', 400)).toBe('live');
    // Renewed once, then its worker died: expired a failover time after the last change seen.
    expect(live.judge('s1', 1300)).toBe('live');
    expect(live.judge('s1', 1301)).toBe('expired');
  });

  it('an owner change is a change; a released lease is free', () => {
    const watch = new LeaseWatch(1000);
    watch.observe([owned(5, 'w1')], 0);
    watch.observe([owned(5, 'w2')], 500);
    expect(watch.judge('s1', 600)).toBe('live');
    watch.observe([newLease('s1', { leaseCounter: 6 })], 700);
    expect(watch.judge('s1', 700)).toBe('free');
  });
});

describe('planRewind (pure)', () => {
  const leases: Lease[] = [
    newLease('a', { leaseOwner: 'w1', leaseCounter: 3, checkpoint: '100' }),
    newLease('b', { checkpoint: '200', leaseCounter: 9 }),
    newLease('c', { checkpoint: 'TRIM_HORIZON' }),
  ];
  const targets = new Map([
    ['a', { checkpoint: 'TRIM_HORIZON', checkpointSubSequenceNumber: 0 }],
    ['b', { checkpoint: 'TRIM_HORIZON', checkpointSubSequenceNumber: 0 }],
    ['c', { checkpoint: 'TRIM_HORIZON', checkpointSubSequenceNumber: 0 }],
  ]);

  it('without force, an owned lease not known expired blocks; expired ones do not', () => {
    for (const liveness of ['live', 'unknown'] as const) {
      const plan = planRewind({ leases, targets, liveness: () => liveness, force: false });
      expect(plan.blockers).toEqual([{ shardId: 'a', owner: 'w1', liveness }]);
    }
    const plan = planRewind({ leases, targets, liveness: () => 'expired', force: false });
    expect(plan.blockers).toEqual([]);
    expect(plan.changes.map((c) => [c.shardId, c.owner, c.leaseCounter])).toEqual([
      ['a', 'w1', 3],
      ['b', undefined, 9],
    ]);
    expect(plan.skipped).toEqual([{ shardId: 'c', reason: 'already there' }]);
  });

  it('with force, live owners are changes (to fence), not blockers', () => {
    const plan = planRewind({ leases, targets, liveness: () => 'live', force: true });
    expect(plan.blockers).toEqual([]);
    expect(plan.changes[0]).toMatchObject({ shardId: 'a', owner: 'w1', liveness: 'live' });
  });

  it('finished shards: LATEST leaves them, TRIM_HORIZON only with the stream to check', () => {
    const done = newLease('d', { checkpoint: 'SHARD_END' });
    expect(sentinelTarget(done, 'LATEST', true)).toHaveProperty('skip');
    expect(sentinelTarget(done, 'TRIM_HORIZON', false)).toHaveProperty('skip');
    expect(sentinelTarget(done, 'TRIM_HORIZON', true)).toEqual({
      checkpoint: 'TRIM_HORIZON',
      checkpointSubSequenceNumber: 0,
    });
  });
});

/** A table with `s1` held by `worker-a` at checkpoint 100, and `s2` free at 200. */
async function heldTable(): Promise<LeaseTable> {
  const table = await leaseTables.table();
  await table.create(newLease('s1'));
  await table.take((await table.get('s1'))!, 'worker-a');
  await table.checkpoint('s1', 'worker-a', '100', 0);
  await table.create(newLease('s2', { checkpoint: '200', checkpointSubSequenceNumber: 3 }));
  return table;
}

/** A fake clock the watch's sleeps advance; `onSleep` runs at each (e.g. the owner renewing). */
function fakeTime(onSleep: () => Promise<void> = async () => {}) {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    clock: () => now,
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
      await onSleep();
    },
  };
}

describe('rewindCheckpoints on dynalite', () => {
  it('refuses while an owner renews, and writes nothing', async () => {
    const table = await heldTable();
    const time = fakeTime(async () => {
      await table.renew((await table.get('s1'))!, 'worker-a');
    });
    const before = await table.list();
    const refusal = rewindCheckpoints({
      applicationName: table.tableName,
      dynamoDBClient: leaseTables.client(),
      to: 'TRIM_HORIZON',
      failoverTimeMillis: 4000,
      ...time,
    });
    await expect(refusal).rejects.toBeInstanceOf(LeasesInUseError);
    await expect(refusal).rejects.toMatchObject({
      code: 'LEASES_IN_USE',
      leases: [{ shardId: 's1', owner: 'worker-a', liveness: 'live' }],
    });
    // One quarter of the failover time: the first renewal seen refuses at once.
    expect(time.sleeps).toEqual([1000]);
    const after = await table.list();
    expect(after.map((l) => [l.leaseKey, l.checkpoint])).toEqual(
      before.map((l) => [l.leaseKey, l.checkpoint]),
    );
    expect(after.find((l) => l.leaseKey === 's2')!.leaseCounter).toBe(
      before.find((l) => l.leaseKey === 's2')!.leaseCounter,
    );
  });

  it('an owner whose counter stands still past the failover time is dead: rewound without force', async () => {
    const table = await heldTable();
    const time = fakeTime();
    const counter = (await table.get('s1'))!.leaseCounter;
    const result = await rewindCheckpoints({
      applicationName: table.tableName,
      dynamoDBClient: leaseTables.client(),
      to: 'TRIM_HORIZON',
      failoverTimeMillis: 4000,
      ...time,
    });
    expect(result.watchedMillis).toBeGreaterThan(4000);
    expect(result.changes.map((c) => [c.shardId, c.owner, c.liveness, c.status])).toEqual([
      ['s1', 'worker-a', 'expired', 'rewound'],
      ['s2', undefined, 'free', 'rewound'],
    ]);
    const s1 = (await table.get('s1'))!;
    expect(s1).toMatchObject({
      checkpoint: 'TRIM_HORIZON',
      leaseOwner: undefined,
      leaseCounter: counter + 1,
    });
    expect(result.changes[0]!.leaseCounterAfter).toBe(counter + 1);
    // The dead owner, should it come back, can neither renew nor checkpoint.
    await expect(table.renew({ ...s1, leaseCounter: counter }, 'worker-a')).rejects.toThrow();
    await expect(table.checkpoint('s1', 'worker-a', '150', 0)).rejects.toThrow();
  });

  /** The test's DynamoDB client, but worker-a renews s1 just before each of the first `times` rewind writes. */
  function renewingBeforeWrites(table: LeaseTable, times: number): DynamoDBClient {
    const real = leaseTables.client();
    let left = times;
    return {
      send: async (command: unknown, options?: unknown) => {
        if (command instanceof UpdateItemCommand && left-- > 0)
          await table.renew((await table.get('s1'))!, 'worker-a');
        return real.send(command as UpdateItemCommand, options as never);
      },
    } as unknown as DynamoDBClient;
  }

  it('a lease renewed between the watch and its write is left alone (conflict); forced, the write fences it anyway', async () => {
    const table = await heldTable();
    const base = {
      applicationName: table.tableName,
      to: 'TRIM_HORIZON' as const,
      failoverTimeMillis: 4000,
    };
    const result = await rewindCheckpoints({
      ...base,
      dynamoDBClient: renewingBeforeWrites(table, 1),
      ...fakeTime(),
    });
    expect(result.changes.map((c) => [c.shardId, c.status])).toEqual([
      ['s1', 'conflict'],
      ['s2', 'rewound'],
    ]);
    expect(await table.get('s1')).toMatchObject({ checkpoint: '100', leaseOwner: 'worker-a' });

    // Forced, the write lands whatever renewed in between, and reports what it overwrote.
    const counterBefore = (await table.get('s1'))!.leaseCounter;
    const forced = await rewindCheckpoints({
      ...base,
      dynamoDBClient: renewingBeforeWrites(table, 1),
      force: true,
    });
    expect(forced.changes[0]).toMatchObject({
      shardId: 's1',
      status: 'rewound',
      owner: 'worker-a',
      from: { checkpoint: '100' },
      leaseCounter: counterBefore + 1,
      leaseCounterAfter: counterBefore + 2,
    });
    expect(await table.get('s1')).toMatchObject({
      checkpoint: 'TRIM_HORIZON',
      leaseOwner: undefined,
      leaseCounter: counterBefore + 2,
    });
  });

  it('no owned lease (a fleet stopped gracefully): no wait at all', async () => {
    const table = await leaseTables.table();
    await table.create(newLease('s1', { checkpoint: '100' }));
    const time = fakeTime();
    const result = await rewindCheckpoints({
      applicationName: table.tableName,
      dynamoDBClient: leaseTables.client(),
      to: 'LATEST',
      ...time,
    });
    expect(time.sleeps).toEqual([]);
    expect(result.watchedMillis).toBe(0);
    expect((await table.get('s1'))!.checkpoint).toBe('LATEST');
  });

  it('per-shard sequence numbers (sub-sequence kept); dry run writes nothing; bad input refused', async () => {
    const table = await leaseTables.table();
    await table.create(newLease('s1', { checkpoint: '500' }));
    await table.create(newLease('s2', { checkpoint: '600' }));
    const base = { applicationName: table.tableName, dynamoDBClient: leaseTables.client() };
    const dry = await rewindCheckpoints({
      ...base,
      sequences: { s1: { sequenceNumber: '400', subSequenceNumber: 2 } },
      dryRun: true,
    });
    expect(dry.changes).toMatchObject([{ shardId: 's1', status: 'planned' }]);
    expect((await table.get('s1'))!.checkpoint).toBe('500');
    await rewindCheckpoints({
      ...base,
      sequences: { s1: { sequenceNumber: '400', subSequenceNumber: 2 } },
    });
    expect(await table.get('s1')).toMatchObject({
      checkpoint: '400',
      checkpointSubSequenceNumber: 2,
    });
    expect((await table.get('s2'))!.checkpoint).toBe('600');

    await expect(
      rewindCheckpoints({ ...base, sequences: { s9: { sequenceNumber: '1' } } }),
    ).rejects.toMatchObject({ code: 'REWIND_INVALID' });
    await expect(
      rewindCheckpoints({ ...base, sequences: { s1: { sequenceNumber: 'x1' } } }),
    ).rejects.toMatchObject({ code: 'REWIND_INVALID' });
    await expect(
      rewindCheckpoints({ ...base, to: { timestamp: new Date() } }),
    ).rejects.toMatchObject({ code: 'REWIND_INVALID' });
    await expect(
      listLeases({ applicationName: 'no-such-table', dynamoDBClient: leaseTables.client() }),
    ).rejects.toBeInstanceOf(LeaseAdminError);
  });
});

describe('with a stream (fake Kinesis)', () => {
  let fake: FakeKinesis;
  let n = 0;
  beforeAll(async () => {
    fake = await FakeKinesis.start();
  });
  afterAll(() => fake.close());

  /** A one-shard stream holding r<from>..r<to-1>. */
  async function put(stream: string, from: number, to: number): Promise<void> {
    const client = fake.client();
    await client.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: Array.from({ length: to - from }, (_, i) => ({
          PartitionKey: `k${from + i}`,
          Data: Buffer.from(`r${from + i}`),
        })),
      }),
    );
    client.destroy();
  }
  const seq = (stream: string, i: number) => fake.records(stream, SHARD)[i]!.sequenceNumber;

  /** Waits (checking every 20 ms, at most 20 s) until `condition` holds. */
  async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await condition()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(await condition()).toBe(true);
  }

  it('lists leases with owner, counter, checkpoint and the lag of each checkpoint', async () => {
    const stream = `list-${++n}`;
    fake.createStream(stream, 1);
    await put(stream, 0, 10);
    const table = await leaseTables.table();
    await table.create(newLease(SHARD, { checkpoint: seq(stream, 4), parentShardIds: [] }));
    await table.take((await table.get(SHARD))!, 'worker-a');
    await table.create(newLease('shardId-000000000009', { checkpoint: 'SHARD_END' }));
    const arrival5 = fake.records(stream, SHARD)[5]!.arrival;
    const listed = await listLeases({
      applicationName: table.tableName,
      dynamoDBClient: leaseTables.client(),
      kinesisClient: fake.client(),
      streamName: stream,
      clock: () => arrival5 + 1234,
    });
    expect(listed).toHaveLength(2);
    expect(listed[0]!.lease).toMatchObject({
      leaseKey: SHARD,
      leaseOwner: 'worker-a',
      leaseCounter: 1,
      checkpoint: seq(stream, 4),
    });
    expect(listed[0]!.lag).toMatchObject({
      available: true,
      pendingRecords: true,
      oldestUnprocessedAgeMillis: 1234,
    });
    // A finished shard has no lag, whether or not the stream still has it.
    expect(listed[1]!.lag).toMatchObject({ available: true, pendingRecords: false });

    await table.checkpoint(SHARD, 'worker-a', seq(stream, 9), 0);
    const caughtUp = await listLeases({
      applicationName: table.tableName,
      dynamoDBClient: leaseTables.client(),
      kinesisClient: fake.client(),
      streamName: stream,
    });
    expect(caughtUp[0]!.lag).toEqual({
      available: true,
      pendingRecords: false,
      oldestUnprocessedAgeMillis: 0,
      millisBehindLatest: 0,
    });

    // A shard that cannot be read costs its lag only, not the listing.
    fake.inject({ operation: 'GetRecords', kind: 'internal', times: 100 });
    const unreadable = await listLeases({
      applicationName: table.tableName,
      dynamoDBClient: leaseTables.client(),
      kinesisClient: fake.client({ maxAttempts: 1 }),
      streamName: stream,
    });
    fake.clearFaults();
    expect(unreadable[0]!.lease.leaseKey).toBe(SHARD);
    expect(unreadable[0]!.lag).toMatchObject({ available: false });
    expect((unreadable[0]!.lag as { reason: string }).reason).toMatch(/^reading the shard failed/);
  });

  it('a multi-stream table: lag for the leases of the stream given (by bare shard id), none for the others; a sequence rewind by lease key', async () => {
    const stream = `multi-${++n}`;
    fake.createStream(stream, 1);
    await put(stream, 0, 10);
    const table = await leaseTables.table();
    const mine = `000000000000:${stream}:1700000000`;
    const other = `000000000000:elsewhere:1700000000`;
    for (const id of [mine, other])
      await table.create(
        newLease(`${id}:${SHARD}`, {
          checkpoint: seq(stream, 4),
          streamIdentifier: id,
          shardId: SHARD,
        }),
      );
    const listed = await listLeases({
      applicationName: table.tableName,
      dynamoDBClient: leaseTables.client(),
      kinesisClient: fake.client(),
      streamName: stream,
    });
    expect(listed.map((l) => [l.lease.leaseKey, l.lag?.available])).toEqual([
      [`${other}:${SHARD}`, undefined],
      [`${mine}:${SHARD}`, true],
    ]);
    expect(listed[1]!.lag).toMatchObject({ pendingRecords: true });

    const result = await rewindCheckpoints({
      applicationName: table.tableName,
      dynamoDBClient: leaseTables.client(),
      sequences: { [`${mine}:${SHARD}`]: { sequenceNumber: seq(stream, 1) } },
    });
    expect(result.changes.map((c) => c.shardId)).toEqual([`${mine}:${SHARD}`]);
    expect((await table.get(`${mine}:${SHARD}`))!.checkpoint).toBe(seq(stream, 1));
    expect((await table.get(`${other}:${SHARD}`))!.checkpoint).toBe(seq(stream, 4));
  });

  it('a checkpoint inside an aggregate: pending only while user records of it remain', async () => {
    const stream = `agg-${++n}`;
    fake.createStream(stream, 1);
    const [agg] = aggregate(
      ['u0', 'u1', 'u2'].map((d) => ({ partitionKey: 'k', data: Buffer.from(d) })),
    );
    const client = fake.client();
    await client.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: [{ PartitionKey: agg!.partitionKey, Data: agg!.data }],
      }),
    );
    client.destroy();
    const table = await leaseTables.table();
    await table.create(
      newLease(SHARD, { checkpoint: seq(stream, 0), checkpointSubSequenceNumber: 1 }),
    );
    const lag = async () =>
      (
        await listLeases({
          applicationName: table.tableName,
          dynamoDBClient: leaseTables.client(),
          kinesisClient: fake.client(),
          streamName: stream,
        })
      )[0]!.lag;
    expect(await lag()).toMatchObject({ available: true, pendingRecords: true });
    await table.take((await table.get(SHARD))!, 'w');
    await table.checkpoint(SHARD, 'w', seq(stream, 0), 2);
    expect(await lag()).toMatchObject({ available: true, pendingRecords: false });
  });

  it('finished shards are rewound only with the stream, and only if it still has them; a timestamp with no record after it goes to the shard end, start or tip', async () => {
    const stream = `split-${++n}`;
    fake.createStream(stream, 1);
    await put(stream, 0, 3); // on the parent, before the split
    const [childA, childB] = fake.splitShard(stream, SHARD);
    const table = await leaseTables.table();
    await table.create(
      newLease(SHARD, { checkpoint: 'SHARD_END', childShardIds: [childA, childB] }),
    );
    await table.create(newLease(childA, { checkpoint: '12345', parentShardIds: [SHARD] }));
    await table.create(newLease(childB, { checkpoint: '12345', parentShardIds: [SHARD] }));
    const gone = 'shardId-000000000099'; // trimmed from the stream long ago
    await table.create(newLease(gone, { checkpoint: 'SHARD_END' }));
    const base = {
      applicationName: table.tableName,
      dynamoDBClient: leaseTables.client(),
      dryRun: true,
    };
    const withStream = { ...base, kinesisClient: fake.client(), streamName: stream };
    const moves = (r: Awaited<ReturnType<typeof rewindCheckpoints>>) =>
      Object.fromEntries([
        ...r.changes.map((c) => [c.shardId, c.to.checkpoint]),
        ...r.skipped.map((sk) => [sk.shardId, `skip: ${sk.reason}`]),
      ]);

    expect(moves(await rewindCheckpoints({ ...base, to: 'TRIM_HORIZON' }))).toEqual({
      [SHARD]: expect.stringMatching(/^skip: finished.*give the stream/),
      [gone]: expect.stringMatching(/^skip: finished.*give the stream/),
      [childA]: 'TRIM_HORIZON',
      [childB]: 'TRIM_HORIZON',
    });
    expect(moves(await rewindCheckpoints({ ...withStream, to: 'TRIM_HORIZON' }))).toEqual({
      [SHARD]: 'TRIM_HORIZON',
      [gone]: 'skip: finished, and no longer in the stream',
      [childA]: 'TRIM_HORIZON',
      [childB]: 'TRIM_HORIZON',
    });
    expect(moves(await rewindCheckpoints({ ...withStream, to: 'LATEST' }))).toMatchObject({
      [SHARD]: expect.stringMatching(/^skip: finished/),
    });

    // After the parent's records and with none on the children: the parent (closed) stays at its
    // end; the children are empty, so their start is exact.
    const last = fake.records(stream, SHARD)[2]!.arrival;
    await until(() => Date.now() > last);
    const timestamp = new Date();
    expect(moves(await rewindCheckpoints({ ...withStream, to: { timestamp } }))).toEqual({
      [SHARD]: 'skip: already there', // SHARD_END, where it is

      [gone]: expect.stringMatching(/^skip: the stream has no such shard/),
      [childA]: 'TRIM_HORIZON',
      [childB]: 'TRIM_HORIZON',
    });
    // A child with records, all before the timestamp: its tip (LATEST), the only position to write.
    const client = fake.client();
    for (let i = 0; fake.records(stream, childA).length === 0; i++)
      await client.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: [{ PartitionKey: `p${i}`, Data: Buffer.from('x') }],
        }),
      );
    client.destroy();
    const lastOnChild = Math.max(
      ...[childA, childB].flatMap((c) => fake.records(stream, c).map((r) => r.arrival)),
    );
    await until(() => Date.now() > lastOnChild);
    const later = new Date();
    expect(
      moves(await rewindCheckpoints({ ...withStream, to: { timestamp: later } }))[childA],
    ).toBe('LATEST');
  });

  it('a timestamp rewind lands just before the first record at or after it, and a consumer resumes there', async () => {
    const stream = `ts-${++n}`;
    fake.createStream(stream, 1);
    await put(stream, 0, 5);
    const lastBefore = fake.records(stream, SHARD)[4]!.arrival;
    await until(() => Date.now() > lastBefore);
    const timestamp = new Date();
    await put(stream, 5, 10);
    const table = await leaseTables.table();
    await table.create(newLease(SHARD, { checkpoint: seq(stream, 9) }));

    const result = await rewindCheckpoints({
      applicationName: table.tableName,
      dynamoDBClient: leaseTables.client(),
      kinesisClient: fake.client(),
      streamName: stream,
      to: { timestamp },
    });
    expect(result.changes[0]).toMatchObject({
      to: { checkpoint: seq(stream, 5), checkpointSubSequenceNumber: -1 },
      status: 'rewound',
    });

    const delivered: string[] = [];
    const consumer = new Consumer({
      streamName: stream,
      applicationName: table.tableName,
      kinesisClient: fake.client(),
      dynamoDBClient: leaseTables.client(),
      failoverTimeMillis: 3000,
      idleTimeBetweenReadsMillis: 50,
      processor: {
        processRecords: (b) =>
          void delivered.push(...b.records.map((r) => Buffer.from(r.data).toString())),
      },
    });
    await consumer.start();
    await until(() => delivered.length >= 5);
    await consumer.stop();
    expect(delivered).toEqual(['r5', 'r6', 'r7', 'r8', 'r9']);
  });

  it('refused without force while a consumer runs; forced, it fences the consumer mid-batch, which stops, and the next owner reads from the rewound position', async () => {
    const stream = `fence-${++n}`;
    fake.createStream(stream, 1);
    await put(stream, 0, 10);
    const app = `fence-app-${n}-${Date.now()}`;
    const batches: string[][] = [];
    const events: ConsumerMetricEvent[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const consumer = new Consumer({
      streamName: stream,
      applicationName: app,
      kinesisClient: fake.client(),
      dynamoDBClient: leaseTables.client(),
      initialPosition: 'TRIM_HORIZON',
      // Renewals every second: the in-hand batch's checkpoint comes well before the next one.
      failoverTimeMillis: 3000,
      maxRecords: 5,
      idleTimeBetweenReadsMillis: 50,
      // A checkpoint per batch: the test is about the in-hand batch's own checkpoint (r4 is
      // written before r5..r9 is handed out, and r9's must not land over the rewind).
      checkpointIntervalMillis: 0,
      onMetric: (e) => events.push(e),
      processor: {
        async processRecords(batch) {
          const data = batch.records.map((r) => Buffer.from(r.data).toString());
          batches.push(data);
          // The first r5..r9 batch stays in hand until the rewind is done.
          if (data[0] === 'r5' && batches.filter((b) => b[0] === 'r5').length === 1) {
            holding();
            await released;
          }
        },
      },
    });
    await consumer.start();
    await held;
    const options = {
      applicationName: app,
      dynamoDBClient: leaseTables.client(),
      to: 'TRIM_HORIZON' as const,
      failoverTimeMillis: 3000,
    };
    const lease = async () =>
      (await listLeases({ applicationName: app, dynamoDBClient: leaseTables.client() }))[0]!.lease;
    expect((await lease()).checkpoint).toBe(seq(stream, 4));

    // Its renewals are seen within the watch: refused, nothing written.
    await expect(rewindCheckpoints(options)).rejects.toBeInstanceOf(LeasesInUseError);
    expect(await lease()).toMatchObject({
      checkpoint: seq(stream, 4),
      leaseOwner: consumer.workerId,
    });

    const result = await rewindCheckpoints({ ...options, force: true });
    expect(result.changes).toMatchObject([
      {
        shardId: SHARD,
        owner: consumer.workerId,
        from: { checkpoint: seq(stream, 4) },
        to: { checkpoint: 'TRIM_HORIZON' },
        status: 'rewound',
      },
    ]);
    const firstAfterFence = batches.length;
    // The batch in hand finishes; its checkpoint (r9) must not land over the rewind.
    release();
    await until(() => events.some((e) => e.type === 'leaseLost' && e.shardId === SHARD));
    // The freed lease is taken again (here by the same worker, as any live worker would) and read
    // from TRIM_HORIZON: r0..r9 again, in order, then checkpointed at r9.
    await until(() => batches.slice(firstAfterFence).flat().length >= 10);
    await until(async () => (await lease()).checkpoint === seq(stream, 9));
    await consumer.stop();
    expect(batches.slice(firstAfterFence).flat()).toEqual(
      Array.from({ length: 10 }, (_, i) => `r${i}`),
    );
  });
});

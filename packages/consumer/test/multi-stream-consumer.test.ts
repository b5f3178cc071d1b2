import { PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { FakeKinesis } from '@shardline/fake-kinesis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Consumer,
  KclCompatibilityError,
  type ConsumerOptions,
  type ConsumerMetricEvent,
  type RecordBatch,
  type ShardProcessor,
} from '../src/index';
import { LeaseTable } from '../src/leases/lease-table';
import { useLeaseTables } from './support/lease-tables';

// Many streams in one consumer, on the fake Kinesis and dynalite: streams whose shard ids are
// the same, per-stream processors and initial positions, two workers sharing the leases of both
// streams, streams added and removed at run time, and a KCL multi-stream table continued.

const tables = useLeaseTables();
let fake: FakeKinesis;
const consumers: Consumer[] = [];
let app = 0;
beforeEach(async () => {
  fake = await FakeKinesis.start();
});
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop({ timeoutMs: 5000 })));
  fake.close();
});

/** Puts `ids` one by one (so each shard's order is the put order); the id is the data and key. */
async function put(stream: string, ids: string[]): Promise<string[]> {
  const client = fake.client();
  const sequences: string[] = [];
  for (const id of ids) {
    const out = await client.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: [{ PartitionKey: id, Data: Buffer.from(id) }],
      }),
    );
    sequences.push(out.Records![0]!.SequenceNumber!);
  }
  client.destroy();
  return sequences;
}

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

/** Records seen per stream and shard, in delivery order, and the batches they came in. */
function recorder() {
  const seen = new Map<string, string[]>();
  const batches: RecordBatch[] = [];
  const processor: ShardProcessor = {
    processRecords(batch) {
      batches.push(batch);
      const key = `${batch.streamName}/${batch.shardId}`;
      seen.set(key, [
        ...(seen.get(key) ?? []),
        ...batch.records.map((r) => Buffer.from(r.data).toString()),
      ]);
    },
  };
  const all = () => [...seen.values()].flat();
  return { seen, batches, processor, all };
}

function consumer(options: Partial<ConsumerOptions> & Pick<ConsumerOptions, 'streams'>) {
  const c = new Consumer({
    applicationName: `multi-${process.pid}-${++app}`,
    kinesisClient: fake.client(),
    dynamoDBClient: tables.client(),
    failoverTimeMillis: 1000,
    idleTimeBetweenReadsMillis: 20,
    shardSyncIntervalMillis: 500,
    initialPosition: 'TRIM_HORIZON',
    ...options,
  });
  consumers.push(c);
  return c;
}

async function items(table: string): Promise<Record<string, AttributeValue>[]> {
  const out = await tables.client().send(new ScanCommand({ TableName: table }));
  return out.Items ?? [];
}

async function streamId(name: string): Promise<string> {
  const client = fake.client();
  const s = (await client.send(new DescribeStreamSummaryCommand({ StreamName: name })))
    .StreamDescriptionSummary!;
  client.destroy();
  const account = s.StreamARN!.split(':')[4];
  return `${account}:${name}:${Math.floor(s.StreamCreationTimestamp!.getTime() / 1000)}`;
}

describe('a consumer of streams', () => {
  it('reads two streams with the same shard ids, each with its processor and initial position, under KCL multi-stream lease keys', async () => {
    fake.createStream('orders', 2);
    fake.createStream('payments', 2);
    const early = Array.from({ length: 6 }, (_, i) => `o${i}`);
    await put('orders', early);
    await put('payments', ['p-before-0', 'p-before-1']);
    const shared = recorder();
    const own = recorder();
    const events: ConsumerMetricEvent[] = [];
    const c = consumer({
      processor: shared.processor,
      onMetric: (e) => events.push(e),
      streams: [
        { streamName: 'orders' }, // the consumer's TRIM_HORIZON and processor
        { streamName: 'payments', initialPosition: 'LATEST', processor: own.processor },
      ],
    });
    await c.start();
    await until(() => c.ownedShards().length === 4, 'four leases');
    await until(() => shared.all().length === 6, 'the orders written before start');
    // LATEST: what payments held before its leases were taken is not read.
    const late = ['p0', 'p1', 'p2', 'p3'];
    await put('payments', late);
    await until(() => own.all().length === 4, 'payments written after start');
    expect(own.all().sort()).toEqual(late);
    expect(shared.all().sort()).toEqual(early);
    expect(shared.batches.every((b) => b.streamName === 'orders')).toBe(true);
    expect(own.batches.every((b) => b.streamName === 'payments')).toBe(true);
    expect(own.batches[0]!.streamArn).toMatch(/:stream\/payments$/);

    const orders = await streamId('orders');
    const payments = await streamId('payments');
    expect(c.streams.map((s) => s.streamIdentifier).sort()).toEqual([orders, payments].sort());
    expect(c.ownedShards().sort()).toEqual(
      [
        `${orders}:shardId-000000000000`,
        `${orders}:shardId-000000000001`,
        `${payments}:shardId-000000000000`,
        `${payments}:shardId-000000000001`,
      ].sort(),
    );
    const health = c.health().shards;
    expect(
      health
        .filter((s) => s.shardId === 'shardId-000000000000')
        .map((s) => s.streamName)
        .sort(),
    ).toEqual(['orders', 'payments']);
    expect(events.some((e) => e.type === 'batch' && e.streamName === 'payments')).toBe(true);

    // Stored as DynamoDBMultiStreamLeaseSerializer writes: the stream id under streamName, shardId.
    const stored = await items(`multi-${process.pid}-${app}`);
    expect(stored).toHaveLength(4);
    for (const item of stored) {
      const [, shard] = /^(.*):(shardId-\d+)$/.exec(item.leaseKey!.S!)!.slice(1);
      expect(item.leaseKey!.S).toBe(`${item.streamName!.S}:${item.shardId!.S}`);
      expect(shard).toBe(item.shardId!.S);
      expect([orders, payments]).toContain(item.streamName!.S);
    }
  });

  it('two workers share the leases of both streams evenly, and every record is read once', async () => {
    fake.createStream('a', 3);
    fake.createStream('b', 3);
    const seen = recorder();
    const options = {
      applicationName: `multi-${process.pid}-${++app}`,
      processor: seen.processor,
      streams: [{ streamName: 'a' }, { streamName: 'b' }],
    };
    const one = consumer({ ...options, workerId: 'w1' });
    const two = consumer({ ...options, workerId: 'w2' });
    await Promise.all([one.start(), two.start()]);
    await until(
      () =>
        one.ownedShards().length === 3 &&
        two.ownedShards().length === 3 &&
        new Set([...one.ownedShards(), ...two.ownedShards()]).size === 6,
      'an even split of six leases over two streams',
    );
    const ids = Array.from({ length: 30 }, (_, i) => `r${i}`);
    await put('a', ids);
    await put('b', ids);
    await until(() => seen.all().length >= 60, 'every record of both streams');
    expect(seen.all()).toHaveLength(60);
  });

  it('adds a stream and removes one at run time: the removed stream ends gracefully, its leases released and kept', async () => {
    fake.createStream('first', 1);
    fake.createStream('second', 1);
    const seen = recorder();
    const shutdowns: { shardId: string; streamName?: string }[] = [];
    const processor: ShardProcessor = {
      ...seen.processor,
      shutdownRequested: (input) => void shutdowns.push(input),
    };
    const c = consumer({ processor, streams: [{ streamName: 'first' }] });
    await c.start();
    await put('first', ['f0', 'f1']);
    await until(() => seen.all().length === 2, 'first stream records');

    await put('second', ['s0', 's1']);
    await c.addStream({ streamName: 'second' });
    expect(c.streams.map((s) => s.streamName)).toEqual(['first', 'second']);
    await until(
      () => (seen.seen.get('second/shardId-000000000000') ?? []).length === 2,
      'the added stream',
    );

    const first = await streamId('first');
    await c.removeStream('first');
    expect(c.streams.map((s) => s.streamName)).toEqual(['second']);
    expect(shutdowns).toEqual([
      {
        shardId: 'shardId-000000000000',
        streamName: 'first',
        streamArn: expect.any(String),
        reason: 'stop',
      },
    ]);
    expect(c.ownedShards()).toEqual([`${await streamId('second')}:shardId-000000000000`]);
    const lease = (await items(`multi-${process.pid}-${app}`)).find(
      (i) => i.streamName?.S === first,
    );
    // Kept (NoLeaseDeletionStrategy), released, and checkpointed at the last record delivered.
    expect(lease).toBeDefined();
    expect(lease!.leaseOwner).toBeUndefined();
    expect(lease!.checkpoint!.S).toMatch(/^\d+$/);

    // No lease of the removed stream is taken again: its new records are not read, the other's are.
    await put('first', ['f2']);
    await put('second', ['s2']);
    await until(
      () => (seen.seen.get('second/shardId-000000000000') ?? []).length === 3,
      'the kept stream',
    );
    // A taker pass that saw the free lease of the removed stream, then a read round of the other.
    const after = Date.now();
    const coordinator = (
      c as unknown as { coordinator: { lastListing(): { at: number } | undefined } }
    ).coordinator;
    await until(() => (coordinator.lastListing()?.at ?? 0) > after, 'a taker pass after the put');
    await put('second', ['s3']);
    await until(
      () => (seen.seen.get('second/shardId-000000000000') ?? []).length === 4,
      'the kept stream again',
    );
    expect(seen.seen.get('first/shardId-000000000000')).toEqual(['f0', 'f1']);
    expect(c.ownedShards()).toHaveLength(1);
  });

  it('continues a KCL multi-stream table from its checkpoints (items as DynamoDBMultiStreamLeaseSerializer writes them)', async () => {
    fake.createStream('clicks', 2);
    await put(
      'clicks',
      Array.from({ length: 12 }, (_, i) => `c${i}`),
    );
    const id = await streamId('clicks');
    const applicationName = `multi-${process.pid}-${++app}`;
    const table = new LeaseTable(tables.client(), applicationName);
    await table.ensure();
    const expected: string[] = [];
    for (const shard of fake.shards('clicks')) {
      // The Java workers had processed the first half of each shard, and are gone (an old counter).
      const done = Math.floor(shard.records.length / 2);
      expected.push(...shard.records.slice(done).map((r) => r.data.toString()));
      const item: Record<string, AttributeValue> = {
        leaseKey: { S: `${id}:${shard.shardId}` },
        leaseOwner: { S: 'java-worker-1' },
        leaseCounter: { N: '17' },
        checkpoint: { S: done > 0 ? shard.records[done - 1]!.sequenceNumber : 'TRIM_HORIZON' },
        checkpointSubSequenceNumber: { N: '0' },
        ownerSwitchesSinceCheckpoint: { N: '0' },
        startingHashKey: { S: shard.start.toString() },
        endingHashKey: { S: shard.end.toString() },
        streamName: { S: id },
        shardId: { S: shard.shardId },
      };
      await tables.client().send(new PutItemCommand({ TableName: applicationName, Item: item }));
    }
    expect(expected.length).toBeGreaterThan(0);
    const seen = recorder();
    const c = consumer({
      applicationName,
      processor: seen.processor,
      streams: [{ streamName: 'clicks', initialPosition: 'LATEST' }],
    });
    await c.start();
    await until(
      () => seen.all().length >= expected.length,
      'the records after the Java checkpoints',
    );
    expect(seen.all().sort()).toEqual(expected.sort());
    // Checkpointed in place: no lease of another key was made.
    expect((await items(applicationName)).map((i) => i.leaseKey!.S).sort()).toEqual(
      fake
        .shards('clicks')
        .map((s) => `${id}:${s.shardId}`)
        .sort(),
    );
  });

  it('reshards per stream: children after their parent, under multi-stream keys, and the finished parent is cleaned up', async () => {
    fake.createStream('resharded', 1);
    fake.createStream('steady', 1);
    const seen = recorder();
    const events: ConsumerMetricEvent[] = [];
    const c = consumer({
      processor: seen.processor,
      onMetric: (e) => events.push(e),
      leaseCleanup: { completedLeaseCleanupIntervalMillis: 0, garbageLeases: false },
      streams: [{ streamName: 'resharded' }, { streamName: 'steady' }],
    });
    await c.start();
    await put('resharded', ['p0', 'p1', 'p2']);
    await until(() => seen.all().length === 3, 'the parent shard');
    const children = fake.splitShard('resharded', 'shardId-000000000000');
    await put('resharded', ['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
    await until(() => seen.all().length === 9, 'the children');
    const id = await streamId('resharded');
    const table = `multi-${process.pid}-${app}`;
    await until(() => c.ownedShards().length === 3, 'both children and the other stream');
    // The parent's lease goes once both children have started (LeaseCleanupManager semantics).
    let keys: string[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      keys = (await items(table)).map((i) => i.leaseKey!.S!);
      if (!keys.includes(`${id}:shardId-000000000000`)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(keys.filter((k) => k.startsWith(`${id}:`)).sort()).toEqual(
      children.map((child) => `${id}:${child}`).sort(),
    );
    const stored = (await items(table)).filter((i) => i.streamName?.S === id);
    for (const item of stored) expect(item.parentShardId?.SS).toEqual(['shardId-000000000000']);
    // The parent ended (SHARD_END) before any child delivered a batch.
    const ended = events.findIndex((e) => e.type === 'shardEnded' && e.streamName === 'resharded');
    const firstChild = events.findIndex(
      (e) => e.type === 'batch' && e.streamName === 'resharded' && children.includes(e.shardId),
    );
    expect(ended).toBeGreaterThanOrEqual(0);
    expect(firstChild).toBeGreaterThan(ended);
    // The other stream's shard of the same id was not touched.
    expect(keys).toContain(`${await streamId('steady')}:shardId-000000000000`);
  });

  it('continues a table the Java application keyed with its own creation epoch (streamIdentifier)', async () => {
    fake.createStream('legacy', 1);
    await put('legacy', ['l0', 'l1', 'l2', 'l3', 'l4']);
    const [shard] = fake.shards('legacy');
    const applicationName = `multi-${process.pid}-${++app}`;
    await new LeaseTable(tables.client(), applicationName).ensure();
    // As in the KCL's DynamoDBMultiStreamLeaseSerializerTest: an identifier with epoch 1.
    const id = '000000000000:legacy:1';
    await tables.client().send(
      new PutItemCommand({
        TableName: applicationName,
        Item: {
          leaseKey: { S: `${id}:${shard!.shardId}` },
          leaseCounter: { N: '3' },
          checkpoint: { S: shard!.records[1]!.sequenceNumber },
          checkpointSubSequenceNumber: { N: '0' },
          ownerSwitchesSinceCheckpoint: { N: '0' },
          streamName: { S: id },
          shardId: { S: shard!.shardId },
        },
      }),
    );
    expect(
      () =>
        new Consumer({
          applicationName,
          kinesisClient: fake.client(),
          dynamoDBClient: tables.client(),
          processor: { processRecords() {} },
          streams: [{ streamName: 'legacy', streamIdentifier: '000000000000:other:1' }],
        }),
    ).toThrow(/names stream other/);
    const seen = recorder();
    const c = consumer({
      applicationName,
      processor: seen.processor,
      streams: [{ streamName: 'legacy', streamIdentifier: id }],
    });
    await c.start();
    await until(() => seen.all().length >= 3, 'the records after the checkpoint');
    expect(seen.all()).toEqual(['l2', 'l3', 'l4']);
    expect(c.streams[0]!.streamIdentifier).toBe(id);
    expect((await items(applicationName)).map((i) => i.leaseKey!.S)).toEqual([
      `${id}:${shard!.shardId}`,
    ]);
  });

  it('reads a stream given by ARN with StreamARN (GetShardIterator, GetRecords) and one given by name with StreamName, in streams and alone', async () => {
    fake.createStream('by-name', 1);
    const { streamArn } = fake.createStream('by-arn', 1);
    const { streamArn: soloArn } = fake.createStream('solo-arn', 1);
    fake.createStream('solo-name', 1);
    const names = ['by-name', 'by-arn', 'solo-arn', 'solo-name'];
    for (const name of names) await put(name, [`${name}-0`]);
    const sent: { by: string; command: string; input: Record<string, unknown> }[] = [];
    /** A client of the fake that keeps what each GetShardIterator and GetRecords asked for. */
    const recording = (by: string): KinesisClient => {
      const client = fake.client();
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (['GetShardIteratorCommand', 'GetRecordsCommand'].includes(context.commandName!))
            sent.push({
              by,
              command: context.commandName!,
              input: args.input as Record<string, unknown>,
            });
          return next(args);
        },
        { step: 'initialize', name: 'recordReads' },
      );
      return client;
    };
    const seen = recorder();
    consumer({
      kinesisClient: recording('many'),
      processor: seen.processor,
      streams: [{ streamName: 'by-name' }, { streamArn }],
    });
    const alone = (by: { streamName: string } | { streamArn: string }, label: string) =>
      consumer({
        kinesisClient: recording(label),
        streams: undefined,
        ...by,
        processor: seen.processor,
      } as never);
    alone({ streamArn: soloArn }, 'solo-arn');
    alone({ streamName: 'solo-name' }, 'solo-name');
    await Promise.all(consumers.map((c) => c.start()));
    await until(() => seen.all().length === 4, 'one record of each stream');
    expect(seen.all().sort()).toEqual(names.map((n) => `${n}-0`).sort());
    /** How the calls of one kind named the stream (distinct forms). */
    const namedBy = (command: string, match: (input: Record<string, unknown>) => boolean) => [
      ...new Set(
        sent
          .filter((s) => s.command === command && match(s.input))
          .map((s) =>
            JSON.stringify({ StreamName: s.input.StreamName, StreamARN: s.input.StreamARN }),
          ),
      ),
    ];
    const iterators = (stream: string) =>
      namedBy(
        'GetShardIteratorCommand',
        (i) => i.StreamName === stream || String(i.StreamARN).endsWith(`/${stream}`),
      );
    expect(iterators('by-arn')).toEqual([JSON.stringify({ StreamARN: streamArn })]);
    expect(iterators('solo-arn')).toEqual([JSON.stringify({ StreamARN: soloArn })]);
    expect(iterators('by-name')).toEqual([JSON.stringify({ StreamName: 'by-name' })]);
    expect(iterators('solo-name')).toEqual([JSON.stringify({ StreamName: 'solo-name' })]);
    // The reads (by iterator) carry the ARN of a stream given by it, and nothing of one by name.
    const reads = (by: string) => [
      ...new Set(
        sent
          .filter((s) => s.by === by && s.command === 'GetRecordsCommand')
          .map((s) => String(s.input.StreamARN)),
      ),
    ];
    expect(reads('solo-arn')).toEqual([soloArn]);
    expect(reads('solo-name')).toEqual(['undefined']);
    expect(reads('many').sort()).toEqual([streamArn, 'undefined'].sort());
  });

  it('refuses to add a stream whose leases are at the KCL AT_TIMESTAMP sentinel without a timestamp, as start() does, and goes on with the others', async () => {
    fake.createStream('running', 1);
    fake.createStream('java-ts', 1);
    await put('java-ts', ['j0', 'j1']);
    const seen = recorder();
    const c = consumer({ processor: seen.processor, streams: [{ streamName: 'running' }] });
    const table = `multi-${process.pid}-${app}`;
    await c.start();
    await put('running', ['r0']);
    await until(() => seen.all().length === 1, 'the running stream');
    // A Java application's lease of the stream, at the sentinel for its configured timestamp.
    const id = await streamId('java-ts');
    const [shard] = fake.shards('java-ts');
    const leaseKey = `${id}:${shard!.shardId}`;
    await tables.client().send(
      new PutItemCommand({
        TableName: table,
        Item: {
          leaseKey: { S: leaseKey },
          leaseCounter: { N: '5' },
          checkpoint: { S: 'AT_TIMESTAMP' },
          checkpointSubSequenceNumber: { N: '0' },
          ownerSwitchesSinceCheckpoint: { N: '0' },
          streamName: { S: id },
          shardId: { S: shard!.shardId },
        },
      }),
    );
    const refused = await c.addStream({ streamName: 'java-ts' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(KclCompatibilityError);
    expect(refused).toMatchObject({ code: 'KCL_AT_TIMESTAMP_UNKNOWN', tableName: table });
    expect((refused as Error).message).toContain(leaseKey);
    expect(c.streams.map((s) => s.streamName)).toEqual(['running']);
    // The refusal start() gives for the same stream in streams.
    const starting = consumer({
      applicationName: table,
      workerId: 'w2',
      processor: seen.processor,
      streams: [{ streamName: 'running' }, { streamName: 'java-ts' }],
    });
    const atStart = await starting.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(atStart).toBeInstanceOf(KclCompatibilityError);
    expect(atStart).toMatchObject({ code: 'KCL_AT_TIMESTAMP_UNKNOWN', tableName: table });
    expect((atStart as Error).message).toContain(leaseKey);

    // A taker pass after the refusal saw the free lease and left it; the other stream reads on.
    const after = Date.now();
    const coordinator = (
      c as unknown as { coordinator: { lastListing(): { at: number } | undefined } }
    ).coordinator;
    await until(
      () => (coordinator.lastListing()?.at ?? 0) > after,
      'a taker pass after the refusal',
    );
    await put('running', ['r1']);
    await until(() => seen.all().length === 2, 'the running stream after the refusal');
    expect(c.health().running).toBe(true);
    const stored = await items(table);
    const lease = stored.find((i) => i.leaseKey?.S === leaseKey);
    expect(lease!.leaseOwner).toBeUndefined();
    expect(lease!.leaseCounter!.N).toBe('5');
    expect(lease!.checkpoint!.S).toBe('AT_TIMESTAMP');
    // No shard sync ran for it either: no lease was made besides the two.
    expect(stored.filter((i) => i.streamName?.S === id)).toHaveLength(1);
    expect(c.ownedShards()).toEqual([`${await streamId('running')}:shardId-000000000000`]);
    expect(seen.seen.get('java-ts/shardId-000000000000')).toBeUndefined();

    // With the timestamp the Java application was configured with, it is added and read from it.
    await c.addStream({ streamName: 'java-ts', initialPosition: { timestamp: new Date(0) } });
    await until(
      () => (seen.seen.get('java-ts/shardId-000000000000') ?? []).length === 2,
      'the added stream from its timestamp',
    );
    expect(seen.seen.get('java-ts/shardId-000000000000')).toEqual(['j0', 'j1']);
  });

  it('refuses one stream listed twice, by name and by ARN', async () => {
    const { streamArn } = fake.createStream('twice', 1);
    const c = consumer({
      processor: { processRecords() {} },
      streams: [{ streamName: 'twice' }, { streamArn }],
    });
    await expect(c.start()).rejects.toThrow(/twice \(by name and ARN\)/);
  });

  it('refuses a single-stream table, and a consumer of one stream refuses a multi-stream table', async () => {
    fake.createStream('solo', 1);
    const applicationName = `multi-${process.pid}-${++app}`;
    const single = consumer({
      applicationName,
      streams: undefined,
      streamName: 'solo',
      processor: { processRecords() {} },
    } as never);
    await single.start();
    await until(() => single.ownedShards().length === 1, 'the single-stream lease');
    await single.stop();
    const multi = consumer({
      applicationName,
      processor: { processRecords() {} },
      streams: [{ streamName: 'solo' }],
    });
    const error = await multi.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KclCompatibilityError);
    expect(error).toMatchObject({ code: 'SINGLE_STREAM_TABLE' });

    const other = `multi-${process.pid}-${++app}`;
    const writer = consumer({
      applicationName: other,
      processor: { processRecords() {} },
      streams: [{ streamName: 'solo' }],
    });
    await writer.start();
    await until(() => writer.ownedShards().length === 1, 'the multi-stream lease');
    await writer.stop();
    const reader = consumer({
      applicationName: other,
      streams: undefined,
      streamName: 'solo',
      processor: { processRecords() {} },
    } as never);
    const refused = await reader.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ code: 'KCL_MULTI_STREAM' });
    expect((refused as Error).message).toMatch(/streams: \[\{ streamName \}\]/);
  });
});

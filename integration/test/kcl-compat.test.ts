import { aggregate } from '@shardline/aggregation';
import { CreateTableCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { Consumer, KclCompatibilityError } from '@shardline/consumer';
import { describe, expect, it } from 'vitest';
import {
  createStream,
  dynamoDBClient,
  kinesisClient,
  listShards,
  readShard,
  splitShard,
  type RawRecord,
  uniqueName,
  waitFor,
} from '../src/backend';
import { duplicates, recordingConsumer, type Seen } from '../src/support/consumer-harness';
import {
  createKclLeaseTable,
  kclEntityRows,
  kclLeaseItem,
  kclMultiStreamLeaseItem,
  kclReadLease,
  putItems,
  scanAll,
  ScriptedKclWorker,
  type KclLease,
} from '../src/support/kcl';

// A Java KCL application's lease table, written item for item as KCL 3.5.1 writes it, taken over
// by Shardline (a stop-and-switch), and the start-up refusals of what cannot be shared.

/** Puts one record per id at an explicit hash key, in order; ids are the records' data. */
async function putAt(streamName: string, hashKey: bigint, ids: string[]): Promise<void> {
  for (const id of ids) {
    await kinesisClient().send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: [
          {
            PartitionKey: `k${hashKey % 7n}`,
            ExplicitHashKey: hashKey.toString(),
            Data: Buffer.from(id),
          },
        ],
      }),
    );
  }
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** An on-demand table with a string hash key, as KCL 3.0–3.4 create their side tables. */
async function createTable(tableName: string, hashKey: string): Promise<void> {
  await dynamoDBClient().send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: hashKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: hashKey, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** A lease a stopped Java worker left, as the KCL's serializer writes it. */
function javaLease(leaseKey: string, fields: Partial<KclLease>): KclLease {
  return {
    leaseKey,
    leaseOwner: 'java-worker-1',
    leaseCounter: 41,
    checkpoint: 'TRIM_HORIZON',
    checkpointSubSequenceNumber: 0,
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
    throughputKBps: 3.5,
    ...fields,
  };
}

describe('KCL lease-table compatibility', () => {
  it('takes over a KCL 3.5 table: resumes at each checkpoint, parents before children, no write to a non-lease row, every item readable by the KCL', async () => {
    const streamName = uniqueName('kcl');
    const applicationName = uniqueName('kcl-app');
    await createStream(streamName, 3);
    const [a, b, c] = await listShards(streamName);
    const range = (s: typeof a) => ({
      start: BigInt(s!.HashKeyRange!.StartingHashKey!),
      end: BigInt(s!.HashKeyRange!.EndingHashKey!),
    });
    const ra = range(a);
    const rb = range(b);
    const rc = range(c);
    const midC = (rc.start + rc.end + 1n) / 2n;
    const midA = (ra.start + ra.end + 1n) / 2n;
    const midB = (rb.start + rb.end + 1n) / 2n;
    // Before the splits: A gets records on both halves of its range, B some the Java app finished.
    await putAt(streamName, ra.start + 1n, ids('a-lo', 5));
    await putAt(streamName, midA + 1n, ids('a-hi', 5));
    await putAt(streamName, rb.start + 1n, ids('b', 5));
    await putAt(streamName, rc.start + 1n, ids('c', 4));
    const [a1, a2] = await splitShard(streamName, a!.ShardId!, midA);
    const [b1, b2] = await splitShard(streamName, b!.ShardId!, midB);
    const [c1, c2] = await splitShard(streamName, c!.ShardId!, midC);
    // After: each child gets its own records; B1 an aggregate of 10 and then plain records.
    await putAt(streamName, ra.start + 1n, ids('a1', 6));
    await putAt(streamName, midA + 1n, ids('a2', 6));
    const [agg] = aggregate(
      ids('b1-agg', 10).map((id) => ({
        partitionKey: 'agg',
        explicitHashKey: (rb.start + 1n).toString(),
        data: Buffer.from(id),
      })),
    );
    await kinesisClient().send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: [
          {
            PartitionKey: agg!.partitionKey,
            ExplicitHashKey: agg!.explicitHashKey,
            Data: agg!.data,
          },
        ],
      }),
    );
    await putAt(streamName, rb.start + 1n, ids('b1', 3));
    await putAt(streamName, midB + 1n, ids('b2', 4));
    await putAt(streamName, rc.start + 1n, ids('c1', 3));
    await putAt(streamName, midC + 1n, ids('c2', 3));

    const rawA = await readShard(streamName, a!.ShardId!);
    const rawB1 = await readShard(streamName, b1!);
    const rawB2 = await readShard(streamName, b2!);
    const rawC1 = await readShard(streamName, c1!);
    const rawC2 = await readShard(streamName, c2!);
    expect(rawA).toHaveLength(10);
    const hashes = (s: {
      HashKeyRange?: { StartingHashKey?: string; EndingHashKey?: string };
    }) => ({
      startingHashKey: s.HashKeyRange!.StartingHashKey!,
      endingHashKey: s.HashKeyRange!.EndingHashKey!,
    });
    const shards = new Map((await listShards(streamName)).map((s) => [s.ShardId!, s]));

    // The Java application stopped here. A: checkpointed after its 4th record, split, its
    // children not started. B: finished (SHARD_END) with childShardIds; B1 checkpointed inside
    // the aggregate (sub-record 4); B2 at TRIM_HORIZON with a prepared (pending) checkpoint.
    const client = dynamoDBClient();
    await createKclLeaseTable(client, applicationName);
    const leases: KclLease[] = [
      javaLease(a!.ShardId!, {
        checkpoint: rawA[3]!.sequenceNumber,
        childShardIds: [a1!, a2!],
        ...hashes(a!),
      }),
      javaLease(a1!, {
        parentShardIds: [a!.ShardId!],
        leaseOwner: undefined,
        leaseCounter: 0,
        ...hashes(shards.get(a1!)!),
      }),
      javaLease(a2!, {
        parentShardIds: [a!.ShardId!],
        leaseOwner: undefined,
        leaseCounter: 0,
        ...hashes(shards.get(a2!)!),
      }),
      javaLease(b!.ShardId!, { checkpoint: 'SHARD_END', childShardIds: [b1!, b2!], ...hashes(b!) }),
      javaLease(b1!, {
        checkpoint: rawB1[0]!.sequenceNumber,
        checkpointSubSequenceNumber: 4,
        parentShardIds: [b!.ShardId!],
        ...hashes(shards.get(b1!)!),
      }),
      javaLease(b2!, {
        parentShardIds: [b!.ShardId!],
        pendingCheckpoint: { sequenceNumber: rawB2[1]!.sequenceNumber, subSequenceNumber: 0 },
        pendingCheckpointState: Buffer.from('prepared'),
        ownerSwitchesSinceCheckpoint: 2,
        ...hashes(shards.get(b2!)!),
      }),
      // C ended and both children were under way, so LeaseCleanupManager deleted C's lease.
      javaLease(c1!, {
        checkpoint: rawC1[0]!.sequenceNumber,
        parentShardIds: [c!.ShardId!],
        ...hashes(shards.get(c1!)!),
      }),
      javaLease(c2!, {
        checkpoint: rawC2[0]!.sequenceNumber,
        parentShardIds: [c!.ShardId!],
        ...hashes(shards.get(c2!)!),
      }),
    ];
    // KCL 3 in its 2.x-compatible mode (upgrading from 2.x) wrote its entities into this table.
    const entities = kclEntityRows('CLIENT_VERSION_UPGRADE_FROM_2X');
    await putItems(client, applicationName, [...leases.map(kclLeaseItem), ...entities]);

    const seen: Seen = { records: [] };
    const consumer = recordingConsumer(seen, 'shardline-1', { streamName, applicationName });
    const expected = [
      ...ids('a-lo', 5).slice(4),
      ...ids('a-hi', 5),
      ...ids('a1', 6),
      ...ids('a2', 6),
      ...ids('b1-agg', 10).slice(5),
      ...ids('b1', 3),
      ...ids('b2', 4),
      ...ids('c1', 3).slice(1),
      ...ids('c2', 3).slice(1),
    ];
    await consumer.start();
    try {
      await waitFor(() => new Set(seen.records.map((r) => r.id)).size >= expected.length, {
        timeoutMs: 60_000,
        message: 'everything after the checkpoints delivered',
      });
      // Every shard read to its last record is checkpointed there (A at SHARD_END).
      await waitFor(
        async () => {
          const items = (await scanAll(client, applicationName)).map(kclReadLease);
          return (
            items.find((l) => l?.leaseKey === a!.ShardId)?.checkpoint === 'SHARD_END' &&
            items
              .filter((l) => l && [a1, a2, b1, b2, c1, c2].includes(l.leaseKey))
              .every((l) => /^[0-9]+$/.test(l!.checkpoint))
          );
        },
        { timeoutMs: 30_000, message: 'checkpoints written' },
      );
    } finally {
      await consumer.stop();
    }

    // Nothing before a checkpoint, nothing missed after it, nothing twice.
    expect(seen.records.map((r) => r.id).sort()).toEqual([...expected].sort());
    expect(duplicates(seen)).toEqual([]);
    // A's children only after A's last record (parents named by the KCL's parentShardId).
    const lastOfA = Math.max(
      ...seen.records.flatMap((r, i) => (r.shardId === a!.ShardId ? [i] : [])),
    );
    const firstOfChildren = seen.records.findIndex((r) => r.shardId === a1 || r.shardId === a2);
    expect(lastOfA).toBeLessThan(firstOfChildren);

    const after = await scanAll(client, applicationName);
    // The KCL 3.5 entity rows are exactly as the KCL wrote them.
    for (const entity of entities)
      expect(after.find((i) => i.leaseKey!.S === entity.leaseKey!.S)).toEqual(entity);
    // Every lease is readable by the KCL's deserializer, with its types; the children's parents are
    // where the KCL reads them; checkpoints dropped the prepared (pending) checkpoint.
    const read = after.map(kclReadLease).filter((l): l is KclLease => l !== null);
    expect(read.map((l) => l.leaseKey).sort()).toEqual(leases.map((l) => l.leaseKey).sort());
    const byKey = new Map(read.map((l) => [l.leaseKey, l]));
    expect(byKey.get(a1!)!.parentShardIds).toEqual([a!.ShardId]);
    expect(byKey.get(b2!)).toMatchObject({
      pendingCheckpoint: undefined,
      pendingCheckpointState: undefined,
    });
    expect(byKey.get(b2!)!.checkpoint).toBe(rawB2.at(-1)!.sequenceNumber);
    expect(byKey.get(b!.ShardId!)!.checkpoint).toBe('SHARD_END');
  }, 120_000);

  describe('refuses at start-up what it cannot share', () => {
    async function startOn(
      items: Record<string, AttributeValue>[],
      options: {
        initialPosition?: 'TRIM_HORIZON' | { timestamp: Date };
        /** Runs before the start, e.g. to create KCL 3.0–3.4's side tables. */
        prepare?: (applicationName: string) => Promise<void>;
      } = {},
    ): Promise<{
      error: unknown;
      after: Record<string, AttributeValue>[];
    }> {
      const streamName = uniqueName('kcl-refuse');
      const applicationName = uniqueName('kcl-refuse-app');
      await createStream(streamName, 1);
      const client = dynamoDBClient();
      await createKclLeaseTable(client, applicationName);
      await putItems(client, applicationName, items);
      await options.prepare?.(applicationName);
      const consumer = new Consumer({
        streamName,
        applicationName,
        kinesisClient: kinesisClient(),
        dynamoDBClient: client,
        initialPosition: options.initialPosition ?? 'TRIM_HORIZON',
        processor: { processRecords: async () => {} },
      });
      const error = await consumer.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      await consumer.stop();
      return { error, after: await scanAll(client, applicationName) };
    }

    it('a KCL 3 table in native mode (leader-assigned), with a typed error that says what to do', async () => {
      const lease = kclLeaseItem(javaLease('shardId-000000000000', {}));
      for (const version of ['CLIENT_VERSION_3X', 'CLIENT_VERSION_3X_WITH_ROLLBACK']) {
        const items = [lease, ...kclEntityRows(version)];
        const { error, after } = await startOn(items);
        expect(error).toBeInstanceOf(KclCompatibilityError);
        expect(error).toMatchObject({ code: 'KCL_NATIVE_MODE' });
        expect((error as Error).message).toMatch(/2\.x-compatible mode/);
        expect((error as Error).message).toMatch(/stop every Java worker first/);
        expect(after).toEqual(expect.arrayContaining(items));
        expect(after).toHaveLength(items.length); // no lease created, nothing written
      }
    });

    it('a KCL 3.0–3.4 application in native mode, whose state is in its own -CoordinatorState table', async () => {
      const lease = kclLeaseItem(javaLease('shardId-000000000000', {}));
      const { error } = await startOn([lease], {
        prepare: async (applicationName) => {
          const table = `${applicationName}-CoordinatorState`;
          await createTable(table, 'key');
          await putItems(dynamoDBClient(), table, [
            {
              key: { S: 'Migration3.0' },
              cv: { S: 'CLIENT_VERSION_3X' },
              mb: { S: 'w' },
              mts: { N: '1' },
            },
          ]);
        },
      });
      expect(error).toBeInstanceOf(KclCompatibilityError);
      expect(error).toMatchObject({ code: 'KCL_NATIVE_MODE' });
      expect((error as Error).message).toMatch(/-CoordinatorState/);
    });

    it('KCL 3 worker metrics with no client-version state to tell the mode', async () => {
      const lease = kclLeaseItem(javaLease('shardId-000000000000', {}));
      const { error } = await startOn([lease], {
        prepare: async (applicationName) => {
          const table = `${applicationName}-WorkerMetricStats`;
          await createTable(table, 'wid');
          await putItems(dynamoDBClient(), table, [
            { wid: { S: 'java-worker-1' }, lut: { N: '1' } },
          ]);
        },
      });
      expect(error).toBeInstanceOf(KclCompatibilityError);
      expect(error).toMatchObject({ code: 'KCL_NATIVE_MODE' });
      expect((error as Error).message).toMatch(/worker metrics/);
    });

    it('a multi-stream table (account:stream:epoch:shardId lease keys) for a consumer of one stream', async () => {
      const item = {
        ...kclLeaseItem(javaLease('123456789012:orders:1700000000:shardId-000000000000', {})),
        streamName: { S: '123456789012:orders:1700000000' },
        shardId: { S: 'shardId-000000000000' },
      };
      const { error, after } = await startOn([item]);
      expect(error).toBeInstanceOf(KclCompatibilityError);
      expect(error).toMatchObject({ code: 'KCL_MULTI_STREAM' });
      // A consumer of one stream: the message says how to continue such a table.
      expect((error as Error).message).toMatch(/streams: \[\{ streamName \}\]/);
      expect(after).toEqual([item]);
    });

    it('an AT_TIMESTAMP sentinel checkpoint when no timestamp is given', async () => {
      const item = kclLeaseItem(javaLease('shardId-000000000000', { checkpoint: 'AT_TIMESTAMP' }));
      const { error, after } = await startOn([item]);
      expect(error).toBeInstanceOf(KclCompatibilityError);
      expect(error).toMatchObject({ code: 'KCL_AT_TIMESTAMP_UNKNOWN' });
      expect((error as Error).message).toMatch(/initialPosition: \{ timestamp \}/);
      expect(after).toEqual([item]);
    });
  });

  it("continues a KCL multi-stream application's table: each stream from its checkpoints, keys and attributes kept, every item readable by the KCL", async () => {
    const names = [uniqueName('kcl-ms-a'), uniqueName('kcl-ms-b')];
    const applicationName = uniqueName('kcl-ms-app');
    const client = dynamoDBClient();
    await createKclLeaseTable(client, applicationName);
    const expected: string[] = [];
    const keys: string[] = [];
    for (const name of names) {
      await createStream(name, 1);
      const [shard] = await listShards(name);
      await putAt(name, 1n, ids(name, 6));
      const records = await readShard(name, shard!.ShardId!);
      const summary = (
        await kinesisClient().send(new DescribeStreamSummaryCommand({ StreamName: name }))
      ).StreamDescriptionSummary!;
      // StreamIdentifier.multiStreamInstance(arn, creationEpoch).serialize()
      const id = `${summary.StreamARN!.split(':')[4]}:${name}:${Math.floor(summary.StreamCreationTimestamp!.getTime() / 1000)}`;
      const key = `${id}:${shard!.ShardId!}`;
      keys.push(key);
      // The Java application had processed the first three records of each stream.
      await putItems(client, applicationName, [
        kclMultiStreamLeaseItem(
          javaLease(key, {
            checkpoint: records[2]!.sequenceNumber,
            startingHashKey: shard!.HashKeyRange!.StartingHashKey!,
            endingHashKey: shard!.HashKeyRange!.EndingHashKey!,
          }),
          id,
          shard!.ShardId!,
        ),
      ]);
      expected.push(...ids(name, 6).slice(3));
    }
    const seen: string[] = [];
    const consumer = new Consumer({
      streams: names.map((streamName) => ({ streamName })),
      applicationName,
      kinesisClient: kinesisClient(),
      dynamoDBClient: client,
      initialPosition: 'LATEST', // not used: every shard has a checkpoint
      failoverTimeMillis: 1500,
      idleTimeBetweenReadsMillis: 200,
      processor: {
        processRecords(batch) {
          seen.push(...batch.records.map((r) => Buffer.from(r.data).toString()));
        },
      },
    });
    await consumer.start();
    try {
      await waitFor(() => seen.length >= expected.length, {
        timeoutMs: 60_000,
        message: 'the records after the Java checkpoints',
      });
    } finally {
      await consumer.stop();
    }
    expect(seen.sort()).toEqual(expected.sort());
    const after = await scanAll(client, applicationName);
    expect(after.map((i) => i.leaseKey!.S).sort()).toEqual(keys.sort());
    for (const item of after) {
      const lease = kclReadLease(item)!;
      expect(lease.checkpoint).toMatch(/^\d+$/);
      expect(item.leaseKey!.S).toBe(`${item.streamName!.S}:${item.shardId!.S}`);
    }
  });

  it('resumes an AT_TIMESTAMP sentinel checkpoint from the configured timestamp, as the KCL does', async () => {
    const streamName = uniqueName('kcl-ts');
    const applicationName = uniqueName('kcl-ts-app');
    await createStream(streamName, 1);
    const [shard] = await listShards(streamName);
    await putAt(streamName, 1n, ids('before', 3));
    const before = await readShard(streamName, shard!.ShardId!);
    const timestamp = new Date(
      Math.max(...before.map((r) => r.approximateArrivalTimestamp!.getTime())) + 1,
    );
    // Put until the engine stamps a record at or after the timestamp (its clock may be coarse).
    let n = 0;
    const atOrAfter = () =>
      readShard(streamName, shard!.ShardId!).then((all) =>
        all.filter((r) => r.approximateArrivalTimestamp! >= timestamp),
      );
    const expected = await waitFor(
      async () => {
        await putAt(streamName, 1n, [`after-${n++}`]);
        const later = await atOrAfter();
        return later.length > 0 ? later : undefined;
      },
      { timeoutMs: 10_000, message: 'a record stamped after the timestamp' },
    );
    const client = dynamoDBClient();
    await createKclLeaseTable(client, applicationName);
    await putItems(client, applicationName, [
      kclLeaseItem(javaLease(shard!.ShardId!, { checkpoint: 'AT_TIMESTAMP' })),
    ]);
    const seen: Seen = { records: [] };
    const consumer = recordingConsumer(seen, 'ts', {
      streamName,
      applicationName,
      initialPosition: { timestamp },
    });
    await consumer.start();
    try {
      await waitFor(() => seen.records.length >= expected.length, {
        timeoutMs: 30_000,
        message: 'records from the timestamp on delivered',
      });
    } finally {
      await consumer.stop();
    }
    const wanted = expected.map((r) => Buffer.from(r.data).toString());
    expect(seen.records.map((r) => r.id)).toEqual(wanted);
    expect(wanted.every((id) => id.startsWith('after'))).toBe(true);
  });
});

/** A stream of `count` shards with `perShard` records on each (ids `<shardId>-<i>`), read back. */
async function streamWithRecords(prefix: string, count: number, perShard: number) {
  const streamName = uniqueName(prefix);
  await createStream(streamName, count);
  const shardList = await listShards(streamName);
  for (const shard of shardList) {
    const hash = BigInt(shard.HashKeyRange!.StartingHashKey!) + 1n;
    await kinesisClient().send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: ids(shard.ShardId!, perShard).map((id) => ({
          PartitionKey: 'k',
          ExplicitHashKey: hash.toString(),
          Data: Buffer.from(id),
        })),
      }),
    );
  }
  const records = new Map<string, RawRecord[]>();
  for (const shard of shardList)
    records.set(shard.ShardId!, await readShard(streamName, shard.ShardId!));
  const all = shardList.flatMap((s) => ids(s.ShardId!, perShard));
  return { streamName, shardIds: shardList.map((s) => s.ShardId!), records, all };
}

/**
 * The Java application's table with a lease per shard (createLeaseIfNotExists), all taken by the
 * scripted KCL worker before any Shardline worker starts.
 */
async function tableHeldByKcl(
  applicationName: string,
  streamName: string,
  version: 2 | 3,
): Promise<ScriptedKclWorker> {
  const client = dynamoDBClient();
  await createKclLeaseTable(client, applicationName);
  const shards = await listShards(streamName);
  await putItems(
    client,
    applicationName,
    shards.map((s) =>
      kclLeaseItem(
        javaLease(s.ShardId!, {
          leaseOwner: undefined,
          leaseCounter: 0,
          throughputKBps: undefined,
          startingHashKey: s.HashKeyRange!.StartingHashKey!,
          endingHashKey: s.HashKeyRange!.EndingHashKey!,
        }),
      ),
    ),
  );
  const kcl = new ScriptedKclWorker(client, applicationName, 'java-worker-1', version);
  for (const s of shards) expect(await kcl.take((await kcl.get(s.ShardId!))!)).toBe(true);
  return kcl;
}

/**
 * The scripted KCL worker's record processing, one tick at a time: renew every lease (on a
 * hand-off request, as LeaseGracefulShutdownHandler does: checkpoint in shutdownRequested, then
 * assign), process 3 records of each held shard, checkpoint every `checkpointEvery` batches, and
 * pick up leases handed to it.
 */
class KclProcessing {
  /** Per held shard: how many of its records the KCL worker has processed. */
  readonly processed = new Map<string, number>();
  /** Leases it lost: the records it had processed beyond its checkpoint may be delivered again. */
  readonly losses: { shardId: string; checkpointed: number; processed: number }[] = [];
  readonly requested = new Set<string>();
  handedOver = 0;
  adopted = 0;
  /** Batches processed per shard, to checkpoint every `checkpointEvery` of them. */
  private readonly batches = new Map<string, number>();

  constructor(
    readonly kcl: ScriptedKclWorker,
    private readonly records: Map<string, RawRecord[]>,
    private readonly seen: Seen,
    private readonly checkpointEvery: number,
  ) {
    for (const shardId of kcl.held.keys()) this.processed.set(shardId, 0);
  }

  /** How many records of the shard a checkpoint covers. */
  position(shardId: string, checkpoint: string): number {
    if (checkpoint === 'TRIM_HORIZON') return 0;
    return this.records.get(shardId)!.findIndex((r) => r.sequenceNumber === checkpoint) + 1;
  }

  async tick(): Promise<void> {
    const { kcl } = this;
    for (const leaseKey of [...kcl.held.keys()]) {
      const done = this.processed.get(leaseKey)!;
      const checkpointed = this.position(leaseKey, kcl.held.get(leaseKey)!.checkpoint);
      const renewal = await kcl.renew(leaseKey);
      if (renewal === 'lost') {
        this.losses.push({ shardId: leaseKey, checkpointed, processed: done });
        this.processed.delete(leaseKey);
        continue;
      }
      if (renewal === 'handoff') {
        if (done > checkpointed)
          expect(
            await kcl.checkpoint(leaseKey, this.records.get(leaseKey)![done - 1]!.sequenceNumber),
          ).toBe(true);
        expect(await kcl.completeHandoff(leaseKey)).toBe(true);
        this.processed.delete(leaseKey);
        this.handedOver++;
        continue;
      }
      const batch = this.records.get(leaseKey)!.slice(done, done + 3);
      if (batch.length === 0) continue;
      for (const r of batch)
        this.seen.records.push({
          key: 'k',
          id: Buffer.from(r.data).toString(),
          shardId: leaseKey,
          worker: kcl.workerId,
          sequenceNumber: r.sequenceNumber,
          subSequenceNumber: 0,
        });
      this.processed.set(leaseKey, done + batch.length);
      const last = done + batch.length === this.records.get(leaseKey)!.length;
      const n = (this.batches.get(leaseKey) ?? 0) + 1;
      this.batches.set(leaseKey, n);
      const refused =
        (n % this.checkpointEvery === 0 || last) &&
        !(await kcl.checkpoint(leaseKey, batch.at(-1)!.sequenceNumber));
      if (refused) {
        // A checkpoint refused on the counter: the lease is gone (the KCL's ShutdownException).
        this.losses.push({ shardId: leaseKey, checkpointed, processed: done + batch.length });
        this.processed.delete(leaseKey);
      }
    }
    for (const leaseKey of this.requested) {
      const adopted = await kcl.adopt(leaseKey);
      if (!adopted) continue;
      this.requested.delete(leaseKey);
      this.processed.set(leaseKey, this.position(leaseKey, adopted.checkpoint));
      this.adopted++;
    }
  }

  /** Takes over a lease as the KCL's taker steals one (KCL 2.x, or KCL 3 in 2.x-compatible mode). */
  async steal(lease: KclLease): Promise<boolean> {
    if (!(await this.kcl.take(lease))) return false;
    this.processed.set(lease.leaseKey, this.position(lease.leaseKey, lease.checkpoint));
    return true;
  }
}

/** Per shard, the ids in first-delivery order. */
function firstDeliveries(seen: Seen, shardId: string): string[] {
  return [...new Set(seen.records.filter((r) => r.shardId === shardId).map((r) => r.id))];
}

describe('a mixed fleet: scripted Java KCL workers beside a Shardline worker on one table', () => {
  it('with KCL 3: leases move both ways by graceful hand-off; no lease lost without a final checkpoint, no record lost or repeated', async () => {
    const { streamName, shardIds, records, all } = await streamWithRecords('kcl-mixed', 4, 90);
    const applicationName = uniqueName('kcl-mixed-app');
    const kcl = await tableHeldByKcl(applicationName, streamName, 3);
    const seen: Seen = { records: [] };
    const java = new KclProcessing(kcl, records, seen, 1);
    let askedBack = false;
    const consumer = recordingConsumer(seen, 'shardline-1', { streamName, applicationName });
    await consumer.start();
    try {
      await waitFor(
        async () => {
          await java.tick();
          // Once Shardline took its share by hand-off, the KCL worker asks one lease back, as
          // KCL 3's leader would (initiateGracefulLeaseHandoff).
          if (!askedBack && java.handedOver >= 2) {
            const theirs = (await Promise.all(shardIds.map((id) => kcl.get(id)))).find(
              (l) => l?.leaseOwner === 'shardline-1' && l.checkpointOwner === undefined,
            );
            if (theirs && (await kcl.requestHandoff(theirs))) {
              askedBack = true;
              java.requested.add(theirs.leaseKey);
            }
          }
          return new Set(seen.records.map((r) => r.id)).size === all.length;
        },
        { timeoutMs: 90_000, intervalMs: 150, message: 'every record processed by one side' },
      );
    } finally {
      await consumer.stop();
    }
    expect(java.losses).toEqual([]);
    expect(java.handedOver).toBeGreaterThanOrEqual(2);
    expect(java.adopted).toBe(1);
    expect(new Set(seen.records.map((r) => r.id))).toEqual(new Set(all));
    expect(duplicates(seen)).toEqual([]);
    for (const shardId of shardIds)
      expect(firstDeliveries(seen, shardId)).toEqual(ids(shardId, 90));
    for (const item of await scanAll(dynamoDBClient(), applicationName))
      expect(kclReadLease(item)).not.toBeNull();
  }, 120_000);

  it('with KCL 2.x: leases move by take both ways; nothing lost, repeats only after the last checkpoint of the worker that lost the lease', async () => {
    const { streamName, shardIds, records, all } = await streamWithRecords('kcl2-mixed', 2, 90);
    const applicationName = uniqueName('kcl2-mixed-app');
    const kcl = await tableHeldByKcl(applicationName, streamName, 2);
    const seen: Seen = { records: [] };
    // It checkpoints every other batch, so a lease it loses leaves processed records behind.
    const java = new KclProcessing(kcl, records, seen, 2);
    const steals: { shardId: string; checkpointed: number }[] = [];
    const consumer = recordingConsumer(seen, 'shardline-1', {
      streamName,
      applicationName,
      gracefulLeaseHandoffTimeoutMillis: 1500,
    });
    await consumer.start();
    try {
      await waitFor(
        async () => {
          await java.tick();
          // Once Shardline took a lease (KCL 2.x ignored its hand-off request), the KCL 2.x
          // worker's taker steals the other one.
          if (steals.length === 0 && java.losses.length > 0) {
            const theirs = (await Promise.all(shardIds.map((id) => kcl.get(id)))).find(
              (l) => l?.leaseOwner === 'shardline-1' && !kcl.held.has(l.leaseKey),
            );
            if (theirs && (await java.steal(theirs)))
              steals.push({
                shardId: theirs.leaseKey,
                checkpointed: java.position(theirs.leaseKey, theirs.checkpoint),
              });
          }
          return new Set(seen.records.map((r) => r.id)).size === all.length;
        },
        { timeoutMs: 90_000, intervalMs: 150, message: 'every record processed by one side' },
      );
    } finally {
      await consumer.stop();
    }
    expect(java.losses.length).toBeGreaterThanOrEqual(1);
    expect(steals).toHaveLength(1);
    expect(new Set(seen.records.map((r) => r.id))).toEqual(new Set(all));
    // What may come twice: what the loser processed after the checkpoint the winner resumed from.
    const allowed = new Set([
      ...java.losses.flatMap((l) => ids(l.shardId, 90).slice(l.checkpointed, l.processed)),
      ...steals.flatMap((s) => ids(s.shardId, 90).slice(s.checkpointed)),
    ]);
    expect(duplicates(seen).filter((id) => !allowed.has(id))).toEqual([]);
    for (const shardId of shardIds)
      expect(firstDeliveries(seen, shardId)).toEqual(ids(shardId, 90));
  }, 120_000);
});

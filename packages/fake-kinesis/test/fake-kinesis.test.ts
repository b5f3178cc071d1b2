import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeKinesis } from '../src/index';

let fake: FakeKinesis;
let client: KinesisClient;
beforeEach(async () => {
  fake = await FakeKinesis.start();
  client = fake.client();
});
afterEach(async () => {
  client.destroy();
  await fake.close();
});

const put = (stream: string, n: number) =>
  client.send(
    new PutRecordsCommand({
      StreamName: stream,
      Records: Array.from({ length: n }, (_, i) => ({
        PartitionKey: `k${i}`,
        Data: Buffer.from(`d${i}`),
      })),
    }),
  );

describe('FakeKinesis', () => {
  it('routes records by hash key and reads them back in order', async () => {
    fake.createStream('s', 3);
    const out = await put('s', 100);
    expect(out.FailedRecordCount).toBe(0);
    const shards = (await client.send(new ListShardsCommand({ StreamName: 's' }))).Shards!;
    expect(shards).toHaveLength(3);
    let total = 0;
    for (const shard of shards) {
      const it = (
        await client.send(
          new GetShardIteratorCommand({
            StreamName: 's',
            ShardId: shard.ShardId,
            ShardIteratorType: 'TRIM_HORIZON',
          }),
        )
      ).ShardIterator;
      const got = await client.send(new GetRecordsCommand({ ShardIterator: it }));
      total += got.Records!.length;
      const seqs = got.Records!.map((r) => BigInt(r.SequenceNumber!));
      expect([...seqs].sort((a, b) => (a < b ? -1 : 1))).toEqual(seqs);
    }
    expect(total).toBe(100);
  });

  it('splits and merges: parents close with children listed, new records go to children', async () => {
    fake.createStream('s', 2);
    const [a, b] = fake.splitShard('s', 'shardId-000000000000');
    const shards = (await client.send(new ListShardsCommand({ StreamName: 's' }))).Shards!;
    expect(
      shards.find((s) => s.ShardId === 'shardId-000000000000')!.SequenceNumberRange!
        .EndingSequenceNumber,
    ).toBeDefined();
    expect(
      shards.filter((s) => s.ParentShardId === 'shardId-000000000000').map((s) => s.ShardId),
    ).toEqual([a, b]);
    const child = fake.mergeShards('s', a, b);
    const out = await put('s', 50);
    expect(
      out.Records!.every((r) => r.ShardId === child || r.ShardId === 'shardId-000000000001'),
    ).toBe(true);
    const it = (
      await client.send(
        new GetShardIteratorCommand({
          StreamName: 's',
          ShardId: 'shardId-000000000000',
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    const end = await client.send(new GetRecordsCommand({ ShardIterator: it }));
    expect(end.NextShardIterator).toBeUndefined();
    expect(end.ChildShards!.map((c) => c.ShardId)).toEqual([a, b]);
  });

  it('enforces per-shard limits when asked', async () => {
    await fake.close();
    fake = await FakeKinesis.start({ shardLimits: { recordsPerSecond: 10 } });
    client = fake.client();
    fake.createStream('s', 1);
    const out = await put('s', 30);
    expect(out.FailedRecordCount).toBeGreaterThanOrEqual(20 - 10);
    expect(
      out.Records!.filter((r) => r.ErrorCode === 'ProvisionedThroughputExceededException').length,
    ).toBe(out.FailedRecordCount);
  });

  it('injects each fault kind', async () => {
    fake.createStream('s', 1);
    fake.inject({ operation: 'PutRecords', kind: 'throttle', times: 1 });
    await expect(put('s', 1)).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
    });
    fake.inject({ operation: 'PutRecords', kind: 'internal', times: 1 });
    await expect(put('s', 1)).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    fake.inject({ operation: 'PutRecords', kind: 'reset', times: 1 });
    await expect(put('s', 1)).rejects.toThrow();
    fake.inject({ operation: 'PutRecords', kind: 'malformed', times: 1 });
    await expect(put('s', 1)).rejects.toThrow();
    fake.inject({ operation: 'PutRecords', kind: 'partial', fraction: 1, times: 1 });
    expect((await put('s', 5)).FailedRecordCount).toBe(5);
    fake.inject({ operation: 'GetRecords', kind: 'expired-iterator', times: 1 });
    const it = (
      await client.send(
        new GetShardIteratorCommand({
          StreamName: 's',
          ShardId: 'shardId-000000000000',
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    await expect(client.send(new GetRecordsCommand({ ShardIterator: it }))).rejects.toMatchObject({
      name: 'ExpiredIteratorException',
    });
    const stalled = fake.inject({ operation: 'PutRecords', kind: 'stall', times: 1 });
    let done = false;
    const pending = put('s', 1).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    fake.release();
    await pending;
    expect(stalled.applied).toBe(1);
    expect(fake.stats.faultsInjected).toBe(7);
  });
});

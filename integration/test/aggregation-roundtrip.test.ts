import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { aggregate, deaggregate, hashKeyOf } from '@shardline/aggregation';
import { describe, expect, it } from 'vitest';
import { createStream, kinesisClient, listShards, readStream, uniqueName } from '../src/backend';

describe('aggregated records through a real Kinesis engine', () => {
  it('puts aggregates per shard and reads every user record back byte-equal, on its own shard', async () => {
    const name = uniqueName('agg-roundtrip');
    await createStream(name, 4);
    const shards = await listShards(name);
    const shardOf = (hash: bigint) =>
      shards.find(
        (s) =>
          BigInt(s.HashKeyRange!.StartingHashKey!) <= hash &&
          hash <= BigInt(s.HashKeyRange!.EndingHashKey!),
      )!.ShardId!;

    const users = Array.from({ length: 3000 }, (_, i) => ({
      partitionKey: `user-${i % 97}-ключ`,
      data: Buffer.from(`payload ${i} ${'x'.repeat(i % 50)}`),
      ...(i % 10 === 0
        ? { explicitHashKey: ((BigInt(i) * 2n ** 120n) % 2n ** 128n).toString() }
        : {}),
    }));
    const byShard = new Map<string, typeof users>();
    for (const u of users) {
      const shard = shardOf(hashKeyOf(u));
      byShard.set(shard, [...(byShard.get(shard) ?? []), u]);
    }
    expect(byShard.size).toBe(4);

    const client = kinesisClient();
    for (const records of byShard.values()) {
      const out = aggregate(records, { maxBytes: 64 * 1024 });
      const result = await client.send(
        new PutRecordsCommand({
          StreamName: name,
          Records: out.map((r) => ({
            PartitionKey: r.partitionKey,
            ExplicitHashKey: r.explicitHashKey,
            Data: r.data,
          })),
        }),
      );
      expect(result.FailedRecordCount).toBe(0);
    }

    const read = await readStream(name);
    for (const [shardId, raws] of read) {
      const back = raws.flatMap((r) => deaggregate(r, { strict: true }));
      const expected = byShard.get(shardId) ?? [];
      expect(back.map((r) => r.partitionKey)).toEqual(expected.map((u) => u.partitionKey));
      expect(back.map((r) => Buffer.from(r.data).toString())).toEqual(
        expected.map((u) => u.data.toString()),
      );
      expect(back.map((r) => r.explicitHashKey)).toEqual(expected.map((u) => u.explicitHashKey));
      for (const r of back) expect(shardOf(hashKeyOf(r))).toBe(shardId);
    }
    expect([...read.values()].reduce((n, raws) => n + raws.length, 0)).toBeLessThan(
      users.length / 10,
    );
  });
});

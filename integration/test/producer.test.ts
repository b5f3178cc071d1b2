import { deaggregate, hashKeyOf } from '@shardline/aggregation';
import { KinesisRejectedError, Producer, type PutResult } from '@shardline/producer';
import { describe, expect, it } from 'vitest';
import { createStream, kinesisClient, listShards, readStream, uniqueName } from '../src/backend';

describe('Producer against a real Kinesis engine', () => {
  it('delivers 100k records across shards; every outcome matches what GetRecords reads back', async () => {
    const streamName = uniqueName('producer-100k');
    await createStream(streamName, 4);
    const producer = new Producer({ streamName, kinesisClient: kinesisClient() });
    const total = 100_000;
    const sent: { key: string; payload: string; result: PutResult }[] = [];
    const puts: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const key = `key-${i % 1013}`;
      const payload = `record-${i}`;
      puts.push(
        producer
          .put({ partitionKey: key, data: payload })
          .then((result) => void sent.push({ key, payload, result })),
      );
    }
    await Promise.all(puts);
    await producer.close();
    expect(sent).toHaveLength(total);

    const shards = await listShards(streamName);
    const owner = (hash: bigint) =>
      shards.find(
        (s) =>
          BigInt(s.HashKeyRange!.StartingHashKey!) <= hash &&
          hash <= BigInt(s.HashKeyRange!.EndingHashKey!),
      )!.ShardId!;
    const read = new Map<string, { shardId: string; key: string; payload: string }>();
    let kinesisRecords = 0;
    for (const [shardId, raws] of await readStream(streamName)) {
      kinesisRecords += raws.length;
      for (const raw of raws) {
        for (const user of deaggregate(raw, { strict: true })) {
          const id = `${user.sequenceNumber}/${user.subSequenceNumber}`;
          expect(read.has(id)).toBe(false);
          read.set(id, {
            shardId,
            key: user.partitionKey,
            payload: Buffer.from(user.data).toString(),
          });
        }
      }
    }
    expect(read.size).toBe(total);
    for (const { key, payload, result } of sent) {
      const id = `${result.sequenceNumber}/${result.aggregated ? result.subSequenceNumber : 0}`;
      expect(read.get(id)).toEqual({ shardId: result.shardId, key, payload });
      expect(result.shardId).toBe(owner(hashKeyOf({ partitionKey: key })));
    }
    // Aggregation: far fewer Kinesis records than user records.
    expect(kinesisRecords).toBeLessThan(total / 50);
  });

  it('putMany: 20k records in calls of 1,000; every outcome, in order, matches what GetRecords reads back', async () => {
    const streamName = uniqueName('producer-many');
    await createStream(streamName, 3);
    const producer = new Producer({ streamName, kinesisClient: kinesisClient() });
    const batches = Array.from({ length: 20 }, (_, b) =>
      Array.from({ length: 1_000 }, (_, j) => ({
        partitionKey: `key-${(b * 1_000 + j) % 509}`,
        data: `many-${b * 1_000 + j}`,
      })),
    );
    const outcomes = (await Promise.all(batches.map((batch) => producer.putMany(batch)))).flat();
    await producer.close();
    const read = new Map<string, { shardId: string; key: string; payload: string }>();
    for (const [shardId, raws] of await readStream(streamName)) {
      for (const raw of raws) {
        for (const user of deaggregate(raw, { strict: true })) {
          read.set(`${user.sequenceNumber}/${user.subSequenceNumber}`, {
            shardId,
            key: user.partitionKey,
            payload: Buffer.from(user.data).toString(),
          });
        }
      }
    }
    expect(read.size).toBe(20_000);
    outcomes.forEach((outcome, i) => {
      if (outcome.status !== 'fulfilled') throw outcome.reason;
      const r = outcome.value;
      expect(read.get(`${r.sequenceNumber}/${r.aggregated ? r.subSequenceNumber : 0}`)).toEqual({
        shardId: r.shardId,
        key: `key-${i % 509}`,
        payload: `many-${i}`,
      });
    });
  });

  it('fails puts to a stream that does not exist with a typed error', async () => {
    const producer = new Producer({
      streamName: uniqueName('missing'),
      kinesisClient: kinesisClient(),
    });
    const error = await producer.put({ partitionKey: 'k', data: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KinesisRejectedError);
    expect(error).toMatchObject({ serviceCode: 'ResourceNotFoundException' });
    await producer.close();
  });
});

describe('Producer across resharding on a real Kinesis engine', () => {
  it('keeps every record when a shard splits mid-stream; aggregates land only on the shards their records hash to', async () => {
    const { SplitShardCommand } = await import('@aws-sdk/client-kinesis');
    const streamName = uniqueName('producer-split');
    await createStream(streamName, 2);
    const producer = new Producer({
      streamName,
      kinesisClient: kinesisClient(),
      recordMaxBufferedTime: 20,
    });
    const results: { key: string; payload: string; result: PutResult }[] = [];
    const putBatch = async (from: number, n: number) => {
      await Promise.all(
        Array.from({ length: n }, (_, j) => {
          const i = from + j;
          const key = `key-${i % 257}`;
          const payload = `split-${i}`;
          return producer
            .put({ partitionKey: key, data: payload })
            .then((result) => void results.push({ key, payload, result }));
        }),
      );
    };
    await putBatch(0, 5000);
    const [first] = await listShards(streamName);
    await kinesisClient().send(
      new SplitShardCommand({
        StreamName: streamName,
        ShardToSplit: first!.ShardId!,
        NewStartingHashKey: (2n ** 126n).toString(),
      }),
    );
    await putBatch(5000, 5000);
    await producer.close();
    expect(results).toHaveLength(10_000);

    const shards = await listShards(streamName);
    const range = new Map(
      shards.map((s) => [
        s.ShardId!,
        [BigInt(s.HashKeyRange!.StartingHashKey!), BigInt(s.HashKeyRange!.EndingHashKey!)] as const,
      ]),
    );
    const read = new Map<string, string>();
    for (const [shardId, raws] of await readStream(streamName)) {
      for (const raw of raws) {
        for (const user of deaggregate(raw, { strict: true })) {
          const [lo, hi] = range.get(shardId)!;
          const hash = hashKeyOf(user);
          // What a KCL would drop (an aggregate on a shard its records do not hash to) is never counted as delivered.
          if (user.aggregated && (hash < lo || hash > hi)) continue;
          read.set(
            `${user.sequenceNumber}/${user.subSequenceNumber}`,
            `${shardId}|${Buffer.from(user.data).toString()}`,
          );
        }
      }
    }
    for (const { payload, result } of results) {
      expect(
        read.get(`${result.sequenceNumber}/${result.aggregated ? result.subSequenceNumber : 0}`),
      ).toBe(`${result.shardId}|${payload}`);
    }
  });
});

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
      puts.push(producer.put({ partitionKey: key, data: payload }).then((result) => void sent.push({ key, payload, result })));
    }
    await Promise.all(puts);
    await producer.close();
    expect(sent).toHaveLength(total);

    const shards = await listShards(streamName);
    const owner = (hash: bigint) =>
      shards.find((s) => BigInt(s.HashKeyRange!.StartingHashKey!) <= hash && hash <= BigInt(s.HashKeyRange!.EndingHashKey!))!.ShardId!;
    const read = new Map<string, { shardId: string; key: string; payload: string }>();
    let kinesisRecords = 0;
    for (const [shardId, raws] of await readStream(streamName)) {
      kinesisRecords += raws.length;
      for (const raw of raws) {
        for (const user of deaggregate(raw, { strict: true })) {
          const id = `${user.sequenceNumber}/${user.subSequenceNumber}`;
          expect(read.has(id)).toBe(false);
          read.set(id, { shardId, key: user.partitionKey, payload: Buffer.from(user.data).toString() });
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

  it('fails puts to a stream that does not exist with a typed error', async () => {
    const producer = new Producer({ streamName: uniqueName('missing'), kinesisClient: kinesisClient() });
    const error = await producer.put({ partitionKey: 'k', data: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KinesisRejectedError);
    expect(error).toMatchObject({ serviceCode: 'ResourceNotFoundException' });
    await producer.close();
  });
});

import { hashKeyOf, deaggregate } from '@shardline/aggregation';
import { checkKeyOrder } from '@shardline/fake-kinesis';
import { Producer, type PutResult } from '@shardline/producer';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backend,
  createStream,
  listShards,
  readStream,
  splitShard,
  uniqueName,
} from '../src/backend';
import { FaultProxy } from '../src/faults/proxy';

const KEYS = 20;
const RECORDS = 2_000;

// Per-key order on a real Kinesis engine (kinesis-local behind the fault proxy): entry failures,
// whole-call throttles and 5xx, resets after the engine applied the call, slow calls, and a split
// while the producer writes.
describe('producer: per-key order on the embedded backend, through faults and a split', () => {
  let proxy: FaultProxy;
  let client: KinesisClient;
  beforeAll(async () => {
    const info = backend();
    proxy = await FaultProxy.start({ target: info.kinesisEndpoint!, seed: 14 });
    client = new KinesisClient({
      region: info.region,
      endpoint: proxy.endpoint,
      credentials: info.credentials ?? { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler(),
    });
  });
  afterAll(async () => {
    client.destroy();
    await proxy.close();
  });

  it('every key in put order, none missing, duplicates only of records written yet reported failed', async () => {
    const streamName = uniqueName('ordering');
    await createStream(streamName, 2);
    const producer = new Producer({
      streamName,
      kinesisClient: client,
      recordMaxBufferedTime: 10,
      // Small aggregates, so there are many calls for the faults to hit.
      aggregationMaxCount: 20,
      retry: { minTimeout: 5, maxTimeout: 100 },
    });
    await producer.start();
    const rules = [
      proxy.inject({ operation: 'PutRecords', kind: 'partial', fraction: 0.3, probability: 0.3 }),
      proxy.inject({ operation: 'PutRecords', kind: 'throttle', probability: 0.1 }),
      proxy.inject({ operation: 'PutRecords', kind: 'internal', probability: 0.05 }),
      proxy.inject({ operation: 'PutRecords', kind: 'reset', probability: 0.03 }),
      ...[10, 25, 40].map((latencyMs) =>
        proxy.inject({ operation: 'PutRecords', kind: 'latency', latencyMs, probability: 0.15 }),
      ),
    ];
    const counters = new Array<number>(KEYS).fill(0);
    const puts: Promise<{ key: string; index: number; result: PutResult }>[] = [];
    let split: Promise<string[]> | undefined;
    for (let i = 0; i < RECORDS; i++) {
      const key = `key-${i % KEYS}`;
      const index = counters[i % KEYS]!++;
      puts.push(
        producer
          .put({ partitionKey: key, data: `${key}:${index}` })
          .then((result) => ({ key, index, result })),
      );
      if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      if (i === RECORDS / 2) {
        const [first] = await listShards(streamName);
        const start = BigInt(first!.HashKeyRange!.StartingHashKey!);
        const end = BigInt(first!.HashKeyRange!.EndingHashKey!);
        split = splitShard(streamName, first!.ShardId!, (start + end + 1n) / 2n);
      }
    }
    const sent = await Promise.all(puts);
    await split;
    await producer.close();
    for (const r of rules) r.remove();

    // Read as a KCL does: shards in listing order (parents before children), each in sequence
    // order; an aggregate with a record outside its shard's range is dropped whole.
    const shards = await listShards(streamName);
    const byShard = await readStream(streamName);
    const stream: { key: string; index: number }[] = [];
    for (const shard of shards) {
      const lo = BigInt(shard.HashKeyRange!.StartingHashKey!);
      const hi = BigInt(shard.HashKeyRange!.EndingHashKey!);
      for (const raw of byShard.get(shard.ShardId!) ?? []) {
        const users = deaggregate(raw, { strict: true });
        if (users.length > 1 && users.some((u) => hashKeyOf(u) < lo || hashKeyOf(u) > hi)) continue;
        for (const u of users) {
          const [key, index] = Buffer.from(u.data).toString().split(':') as [string, string];
          stream.push({ key, index: Number(index) });
        }
      }
    }
    const order = checkKeyOrder(stream);
    expect(order.outOfOrder).toBe(0);
    for (const list of order.perKey.values()) expect(list).toHaveLength(RECORDS / KEYS);
    // A copy only of a record the engine may have written while the producer saw a failure: the
    // proxy's resets and its per-entry failures both forward the call to the engine first.
    const maybeWritten = new Set(
      sent
        .filter((s) =>
          s.result.attempts.some((a) =>
            ['ECONNRESET', 'ProvisionedThroughputExceededException'].includes(a.errorCode ?? ''),
          ),
        )
        .map((s) => `${s.key}:${s.index}`),
    );
    for (const d of order.duplicated) expect(maybeWritten.has(`${d.key}:${d.index}`)).toBe(true);
    // The faults and the split happened.
    expect(sent.some((s) => s.result.attempts.length > 1)).toBe(true);
    expect(shards.length).toBe(4);
    expect(new Set(sent.map((s) => s.result.shardId)).size).toBeGreaterThan(2);
  });
});

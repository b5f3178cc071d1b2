import { Producer } from '@shardline/producer';
import { describe, expect, it } from 'vitest';
import {
  createStream,
  kinesisClient,
  listShards,
  mergeShards,
  splitShard,
  uniqueName,
  waitFor,
} from '../../src/backend';
import { tally } from '../../src/faults/count';
import { scenario } from '../../src/faults/report';
import { orderByKey, recordingConsumer, type Seen } from '../../src/support/consumer-harness';

// Scenario 3: split and merge while a producer writes and a consumer reads. Nothing lost, and
// per partition key the consumer sees records in the order they were put.

const KEYS = 50;
const WAVES = 40;

describe('scenario 3: split and merge while producing and consuming', () => {
  it('loses nothing and keeps per-partition-key order', async () => {
    const streamName = uniqueName('reshard-live');
    await createStream(streamName, 2);
    const client = kinesisClient();
    const producer = new Producer({
      streamName,
      kinesisClient: client,
      recordMaxBufferedTime: 20,
      shardMapRefreshInterval: 1000,
    });
    const seen: Seen = { records: [] };
    const consumer = recordingConsumer(seen, 'w', {
      streamName,
      applicationName: uniqueName('reshard-app'),
    });
    const putOrder = new Map<string, string[]>();
    const sent: string[] = [];
    const received = () => {
      const counts = new Map<string, number>();
      for (const r of seen.records) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
      return counts;
    };
    let reshards = 0;
    await scenario(
      '3. split + merge while producing and consuming',
      () => ({ ...tally(sent, received()), faultsInjected: reshards }),
      async () => {
        try {
          await consumer.start();
          let resharding: Promise<void> = Promise.resolve();
          // Keep writing until some waves after the merge finished, so both happen mid-stream.
          let doneAtWave = Infinity;
          let current = 0;
          for (let wave = 0; wave < Math.max(WAVES, doneAtWave + 5); wave++) {
            current = wave;
            if (wave === 5) {
              resharding = split()
                .then(merge)
                .then(() => void (doneAtWave = current));
            }
            // One record per key per wave, each wave after the previous one finished: the put
            // order per key is the wave order.
            await Promise.all(
              Array.from({ length: KEYS }, (_, k) => {
                const key = `key-${k}`;
                const id = `s3-${wave}-${k}`;
                sent.push(id);
                putOrder.set(key, [...(putOrder.get(key) ?? []), id]);
                return producer.put({ partitionKey: key, data: id });
              }),
            );
          }
          await resharding;
          expect(reshards).toBe(2);
          await waitFor(() => sent.every((id) => received().has(id)), {
            timeoutMs: 120_000,
            message: 'everything consumed across split and merge',
          });
          expect(tally(sent, received()).lost).toBe(0);
          expect(orderByKey(seen)).toEqual(putOrder);
        } finally {
          await consumer.stop();
          await producer.close();
          client.destroy();
        }
      },
    );

    async function split(): Promise<void> {
      const [s0] = (await listShards(streamName)).map((s) => s.ShardId!);
      await splitShard(streamName, s0!, 2n ** 126n);
      reshards++;
    }
    async function merge(): Promise<void> {
      const shards = await listShards(streamName);
      const parent = shards[0]!.ShardId!;
      const children = shards.filter((s) => s.ParentShardId === parent).map((s) => s.ShardId!);
      await mergeShards(streamName, children[0]!, children[1]!);
      reshards++;
    }
  });
});

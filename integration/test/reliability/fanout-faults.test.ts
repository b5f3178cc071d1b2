import { KinesisClient } from '@aws-sdk/client-kinesis';
import { Consumer, createFanoutHttpHandler } from '@shardline/consumer';
import { Producer } from '@shardline/producer';
import { describe, expect, it } from 'vitest';
import {
  backend,
  createStream,
  dynamoDBClient,
  kinesisClient,
  uniqueName,
  waitFor,
} from '../../src/backend';
import { idOf, tally } from '../../src/faults/count';
import { attachFanoutFaults } from '../../src/faults/fanout-faults';
import { scenario } from '../../src/faults/report';

// Scenario 6: enhanced fan-out subscriptions are reset, then their HTTP/2 session is lost, while
// records flow. The consumer resubscribes from what it handed over: no gap, per-key order kept.

describe('scenario 6: fan-out subscription reset and session loss', () => {
  it('resumes with no gap after subscription resets and session loss', async () => {
    const info = backend();
    const streamName = uniqueName('efo-faults');
    await createStream(streamName, 2);
    const subscribeClient = new KinesisClient({
      region: info.region,
      ...(info.kinesisTlsEndpoint ? { endpoint: info.kinesisTlsEndpoint } : {}),
      ...(info.credentials ? { credentials: info.credentials } : {}),
      requestHandler: createFanoutHttpHandler({ allowSelfSignedCertificate: info.emulator }),
    });
    const faults = attachFanoutFaults(subscribeClient);
    const plain = kinesisClient();
    const dynamo = dynamoDBClient();
    const delivered: { id: string; key: string }[] = [];
    const consumer = new Consumer({
      streamName,
      applicationName: uniqueName('efo-faults-app'),
      kinesisClient: plain,
      dynamoDBClient: dynamo,
      initialPosition: 'TRIM_HORIZON',
      failoverTimeMillis: 3000,
      shardSyncIntervalMillis: 1000,
      retrieval: {
        mode: 'fanout',
        consumerName: uniqueName('efo'),
        kinesisClient: subscribeClient,
      },
      processor: {
        processRecords(batch) {
          for (const r of batch.records) delivered.push({ id: idOf(r.data), key: r.partitionKey });
        },
      },
    });
    const producerClient = kinesisClient();
    const producer = new Producer({
      streamName,
      kinesisClient: producerClient,
      recordMaxBufferedTime: 20,
    });
    const putOrder = new Map<string, string[]>();
    const sent: string[] = [];
    const counts = () => {
      const c = new Map<string, number>();
      for (const d of delivered) c.set(d.id, (c.get(d.id) ?? 0) + 1);
      return c;
    };
    const wave = async (prefix: string, n: number) => {
      for (let w = 0; w < n; w++) {
        await Promise.all(
          Array.from({ length: 20 }, (_, k) => {
            const key = `key-${k}`;
            const id = `${prefix}-${w}-${k}`;
            sent.push(id);
            putOrder.set(key, [...(putOrder.get(key) ?? []), id]);
            return producer.put({ partitionKey: key, data: id });
          }),
        );
      }
    };
    const allSeen = (message: string) =>
      waitFor(() => sent.every((id) => counts().has(id)), { timeoutMs: 60_000, message });
    await scenario(
      '6. fan-out: subscription reset + session loss',
      () => ({ ...tally(sent, counts()), faultsInjected: faults.injected }),
      async () => {
        try {
          await consumer.start();
          await wave('a', 5);
          await allSeen('first records through fan-out');
          await waitFor(() => faults.live === 2, {
            timeoutMs: 30_000,
            message: 'both shards subscribed',
          });

          // Reset mid-stream: records are put while the subscriptions are gone.
          const before = faults.subscriptions;
          const writing = wave('b', 10);
          expect(faults.resetSubscriptions()).toBe(2);
          await writing;
          await allSeen('records after the subscription reset');

          await waitFor(() => faults.live === 2, {
            timeoutMs: 30_000,
            message: 'resubscribed after the reset',
          });
          expect(faults.subscriptions).toBeGreaterThanOrEqual(before + 2);
          const beforeLoss = faults.subscriptions;
          const writing2 = wave('c', 10);
          expect(faults.loseSessions()).toBeGreaterThan(0);
          await writing2;
          await wave('d', 5);
          await allSeen('records after the session loss');
          expect(faults.subscriptions).toBeGreaterThanOrEqual(beforeLoss + 2);

          expect(tally(sent, counts()).lost).toBe(0);
          const order = new Map<string, string[]>();
          const first = new Set<string>();
          for (const d of delivered) {
            if (first.has(d.id)) continue;
            first.add(d.id);
            order.set(d.key, [...(order.get(d.key) ?? []), d.id]);
          }
          expect(order).toEqual(putOrder);
        } finally {
          await consumer.stop();
          await producer.close();
          for (const c of [subscribeClient, plain, producerClient]) c.destroy();
          dynamo.destroy();
        }
      },
    );
  });
});

import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { ConsumerOptions } from '@shardline/consumer';
import { Producer } from '@shardline/producer';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createStream,
  kinesisClient,
  listShards,
  splitShard,
  uniqueName,
  waitFor,
  fanoutKinesisClient,
} from '../src/backend';
import {
  duplicates,
  orderByKey,
  produce,
  recordingConsumer,
  type Seen,
} from '../src/support/consumer-harness';

const clients: KinesisClient[] = [];
afterAll(() => clients.forEach((c) => c.destroy()));

function fanoutClient(): KinesisClient {
  const client = fanoutKinesisClient();
  clients.push(client);
  return client;
}

function fanout(
  consumerName: string,
  extra: { subscriptionRenewalMs?: number; shardEndCheckIntervalMs?: number } = {},
): Partial<ConsumerOptions> {
  return { retrieval: { mode: 'fanout', consumerName, kinesisClient: fanoutClient(), ...extra } };
}

function merge(...maps: Map<string, string[]>[]): Map<string, string[]> {
  const all = new Map<string, string[]>();
  for (const m of maps) for (const [k, ids] of m) all.set(k, [...(all.get(k) ?? []), ...ids]);
  return all;
}

function allConsumed(seen: Seen, sent: Map<string, string[]>): () => boolean {
  return () => {
    const got = orderByKey(seen);
    return [...sent].every(([k, ids]) => (got.get(k)?.length ?? 0) >= ids.length);
  };
}

/** Puts records with a given producer configuration; returns them by key in put order. */
async function produceWith(
  streamName: string,
  count: number,
  prefix: string,
  options: { aggregation?: boolean; compression?: { codec: 'gzip' } },
): Promise<Map<string, string[]>> {
  const producer = new Producer({
    streamName,
    kinesisClient: kinesisClient(),
    recordMaxBufferedTime: 20,
    ...options,
  });
  const byKey = new Map<string, string[]>();
  const puts: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const key = `key-${i % 10}`;
    const id = `${prefix}-${i}`;
    byKey.set(key, [...(byKey.get(key) ?? []), id]);
    puts.push(producer.put({ partitionKey: key, data: id }));
  }
  await Promise.all(puts);
  await producer.close();
  return byKey;
}

describe('Consumer with enhanced fan-out against kinesis-local', () => {
  it('receives every record of a multi-shard stream in order per key: aggregated, plain and compressed', async () => {
    const streamName = uniqueName('efo-all');
    await createStream(streamName, 3);
    const aggregated = await produce(streamName, 900, { prefix: 'agg' });
    const plain = await produceWith(streamName, 60, 'plain', { aggregation: false });
    const compressed = await produceWith(streamName, 200, 'gz', { compression: { codec: 'gzip' } });
    const sent = merge(aggregated, plain, compressed);
    const seen: Seen = { records: [] };
    const consumer = recordingConsumer(seen, 'w1', {
      streamName,
      applicationName: uniqueName('app'),
      ...fanout(uniqueName('efo')),
    });
    await consumer.start();
    await waitFor(allConsumed(seen, sent), {
      timeoutMs: 60_000,
      message: 'all records consumed through fan-out',
    });
    await consumer.stop();
    expect(orderByKey(seen)).toEqual(sent);
    expect(duplicates(seen)).toEqual([]);
    expect(new Set(seen.records.map((r) => r.shardId)).size).toBe(3);
  });

  it('renews subscriptions every ~second while records flow, without loss or duplicates', async () => {
    const streamName = uniqueName('efo-renew');
    await createStream(streamName, 2);
    const seen: Seen = { records: [] };
    let renewals = 0;
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => void (line.includes('renewing the subscription') && renewals++) },
    );
    const consumer = recordingConsumer(seen, 'w1', {
      streamName,
      applicationName: uniqueName('app'),
      logger,
      ...fanout(uniqueName('efo'), { subscriptionRenewalMs: 700 }),
    });
    await consumer.start();
    const rounds: Map<string, string[]>[] = [];
    // Rounds, each consumed before the next, so deliveries straddle renewals.
    for (let round = 0; round < 3 || renewals < 4; round++) {
      expect(round, 'rounds before 4 renewals').toBeLessThan(10);
      rounds.push(await produce(streamName, 200, { prefix: `r${round}`, keys: 20 }));
      await waitFor(allConsumed(seen, merge(...rounds)), {
        timeoutMs: 30_000,
        message: `round ${round} consumed`,
      });
    }
    await consumer.stop();
    expect(renewals).toBeGreaterThanOrEqual(4);
    expect(orderByKey(seen)).toEqual(merge(...rounds));
    expect(duplicates(seen)).toEqual([]);
  });

  it('two applications with separate stream consumers each receive the full stream', async () => {
    const streamName = uniqueName('efo-two-apps');
    await createStream(streamName, 2);
    const sent = await produce(streamName, 600);
    const seenA: Seen = { records: [] };
    const seenB: Seen = { records: [] };
    const a = recordingConsumer(seenA, 'a', {
      streamName,
      applicationName: uniqueName('app-a'),
      ...fanout(uniqueName('efo-a')),
    });
    const b = recordingConsumer(seenB, 'b', {
      streamName,
      applicationName: uniqueName('app-b'),
      ...fanout(uniqueName('efo-b')),
    });
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => allConsumed(seenA, sent)() && allConsumed(seenB, sent)(), {
      timeoutMs: 60_000,
      message: 'both applications consumed everything',
    });
    await Promise.all([a.stop(), b.stop()]);
    expect(orderByKey(seenA)).toEqual(sent);
    expect(orderByKey(seenB)).toEqual(sent);
    expect(duplicates(seenA)).toEqual([]);
    expect(duplicates(seenB)).toEqual([]);
  });

  it('a lease moving to another worker moves its subscription: the new owner continues after the old one', async () => {
    const streamName = uniqueName('efo-move');
    const applicationName = uniqueName('app');
    const consumerName = uniqueName('efo');
    await createStream(streamName, 2);
    const seen: Seen = { records: [] };
    const first = recordingConsumer(seen, 'first', {
      streamName,
      applicationName,
      ...fanout(consumerName),
    });
    await first.start();
    const before = await produce(streamName, 400, { prefix: 'before' });
    await waitFor(allConsumed(seen, before), {
      timeoutMs: 60_000,
      message: 'first worker consumed the first batch',
    });
    const second = recordingConsumer(seen, 'second', {
      streamName,
      applicationName,
      ...fanout(consumerName),
    });
    await second.start();
    await waitFor(() => second.ownedShards().length === 1 && first.ownedShards().length === 1, {
      timeoutMs: 60_000,
      message: 'one lease moved to the second worker',
    });
    const after = await produce(streamName, 400, { prefix: 'after' });
    const sent = merge(before, after);
    await waitFor(allConsumed(seen, sent), {
      timeoutMs: 60_000,
      message: 'everything consumed after the move',
    });
    await Promise.all([first.stop(), second.stop()]);
    expect(orderByKey(seen)).toEqual(sent);
    // The graceful hand-off checkpoints what was delivered: the new owner starts right after it.
    expect(duplicates(seen)).toEqual([]);
    const moved = seen.records.filter((r) => r.worker === 'second');
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.every((r) => r.id.startsWith('after'))).toBe(true);
  });

  it('split while subscribed: the parent is drained, then the children are subscribed', async () => {
    const streamName = uniqueName('efo-split');
    await createStream(streamName, 1);
    const seen: Seen = { records: [] };
    const consumer = recordingConsumer(seen, 'w', {
      streamName,
      applicationName: uniqueName('app'),
      ...fanout(uniqueName('efo'), { shardEndCheckIntervalMs: 1000 }),
    });
    await consumer.start();
    // Split right after putting, so the parent still holds undelivered records when it closes.
    const sent1 = await produce(streamName, 300, { prefix: 'p1' });
    const [parent] = (await listShards(streamName)).map((s) => s.ShardId!);
    await splitShard(streamName, parent!, 2n ** 127n);
    const sent2 = await produce(streamName, 300, { prefix: 'p2' });
    const all = merge(sent1, sent2);
    await waitFor(allConsumed(seen, all), {
      timeoutMs: 90_000,
      message: 'children consumed after the parent',
    });
    await consumer.stop();
    expect(orderByKey(seen)).toEqual(all);
    expect(duplicates(seen)).toEqual([]);
    const children = (await listShards(streamName))
      .filter((s) => s.ParentShardId === parent)
      .map((s) => s.ShardId!);
    expect(children).toHaveLength(2);
    const lastParent = seen.records.map((r) => r.shardId).lastIndexOf(parent!);
    for (const child of children) {
      const firstChild = seen.records.findIndex((r) => r.shardId === child);
      expect(firstChild).toBeGreaterThan(lastParent);
    }
  });
});

import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { aggregate, hashKeyOf, type UserRecord } from '@shardline/aggregation';
import type { ConsumerMetricEvent, ConsumerOptions } from '@shardline/consumer';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { theirAggregate } from '../../packages/aggregation/test/support/kinesis-agg';
import {
  createStream,
  fanoutKinesisClient,
  kinesisClient,
  listShards,
  uniqueName,
  waitFor,
} from '../src/backend';
import {
  duplicates,
  orderByKey,
  recordingConsumer,
  type Seen,
} from '../src/support/consumer-harness';

// A stream as writers other than the KPL leave it: aggregates built the way aws-kinesis-agg builds
// them (one aggregate of many keys that hash to different shards, put with its first record's
// key), beside KPL-style aggregates (one shard's records each) and plain records. The consumer
// must deliver every user record by default, drop the foreign aggregates only when asked to
// (dropOutOfRangeAggregates, the KCL's behaviour), and count them either way.

/** What was written, and where each out-of-range aggregate landed. */
interface Written {
  streamName: string;
  /** Ids of every user record in the aws-kinesis-agg aggregates. */
  foreign: Set<string>;
  /** Ids of foreign aggregates whose records all hash to the shard they landed on (kept either way). */
  foreignInRange: Set<string>;
  /** KPL-style and plain records, by key in put order. */
  native: Map<string, string[]>;
  /** Per shard: the out-of-range aggregates and the user records they hold. */
  outOfRange: Map<string, { aggregates: number; records: number }>;
}

const FOREIGN = 2000;

async function writeMixedStream(): Promise<Written> {
  const streamName = uniqueName('out-of-range');
  await createStream(streamName, 4);
  const shards = await listShards(streamName);
  const shardOf = (r: { partitionKey: string; explicitHashKey?: string }) => {
    const hash = hashKeyOf(r);
    return shards.find(
      (s) =>
        BigInt(s.HashKeyRange!.StartingHashKey!) <= hash &&
        hash <= BigInt(s.HashKeyRange!.EndingHashKey!),
    )!.ShardId!;
  };
  const client = kinesisClient();
  const put = async (
    records: { partitionKey: string; explicitHashKey?: string; data: Uint8Array }[],
  ) => {
    const out = await client.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: records.map((r) => ({
          PartitionKey: r.partitionKey,
          ...(r.explicitHashKey ? { ExplicitHashKey: r.explicitHashKey } : {}),
          Data: r.data,
        })),
      }),
    );
    expect(out.FailedRecordCount).toBe(0);
  };

  // aws-kinesis-agg: 2000 user records of 97 keys, 50 to an aggregate.
  const written: Written = {
    streamName,
    foreign: new Set(),
    foreignInRange: new Set(),
    native: new Map(),
    outOfRange: new Map(),
  };
  for (let chunk = 0; chunk < FOREIGN / 50; chunk++) {
    const users = Array.from({ length: 50 }, (_, j) => {
      const i = chunk * 50 + j;
      return { partitionKey: `foreign-key-${i % 97}`, data: Buffer.from(`foreign-data-${i}`) };
    });
    const encoded = await theirAggregate(users);
    expect(encoded).toHaveLength(1);
    expect(encoded[0]!.partitionKey).toBe(users[0]!.partitionKey);
    await put(encoded);
    const landed = shardOf(encoded[0]!);
    const ids = users.map((u) => u.data.toString());
    ids.forEach((id) => written.foreign.add(id));
    if (users.every((u) => shardOf(u) === landed))
      ids.forEach((id) => written.foreignInRange.add(id));
    else {
      const seen = written.outOfRange.get(landed) ?? { aggregates: 0, records: 0 };
      written.outOfRange.set(landed, {
        aggregates: seen.aggregates + 1,
        records: seen.records + 50,
      });
    }
  }

  // KPL-style: each aggregate holds one shard's records; and plain records.
  const native = (prefix: string, n: number, keys: number): UserRecord[] =>
    Array.from({ length: n }, (_, i) => ({
      partitionKey: `${prefix}-${i % keys}`,
      data: Buffer.from(`${prefix}-${i}`),
    }));
  const kpl = native('kpl', 600, 31);
  const byShard = new Map<string, UserRecord[]>();
  for (const u of kpl) byShard.set(shardOf(u), [...(byShard.get(shardOf(u)) ?? []), u]);
  for (const records of byShard.values()) await put(aggregate(records, { maxBytes: 4096 }));
  const plain = native('plain', 200, 13);
  await put(plain);
  for (const u of [...kpl, ...plain])
    written.native.set(u.partitionKey, [
      ...(written.native.get(u.partitionKey) ?? []),
      u.data.toString(),
    ]);
  return written;
}

let written: Written;
beforeAll(async () => {
  written = await writeMixedStream();
  // The case this is about: nearly every foreign aggregate holds records of other shards.
  const outOfRange = [...written.outOfRange.values()].reduce((n, s) => n + s.aggregates, 0);
  expect(outOfRange).toBeGreaterThan(30);
});

const clients: KinesisClient[] = [];
afterAll(() => clients.forEach((c) => c.destroy()));

const retrievals: [string, () => Partial<ConsumerOptions>][] = [
  ['polling', () => ({})],
  [
    'fan-out',
    () => {
      const client = fanoutKinesisClient();
      clients.push(client);
      return {
        retrieval: { mode: 'fanout', consumerName: uniqueName('efo'), kinesisClient: client },
      };
    },
  ],
];

describe.each(retrievals)('aggregates holding records of other shards, %s', (_, retrieval) => {
  it.each([
    [false, 'every user record is delivered'],
    [true, 'the foreign aggregates are dropped whole, as the KCL does'],
  ])('dropOutOfRangeAggregates: %s — %s, and each is counted', async (drop) => {
    const seen: Seen = { records: [] };
    const events: ConsumerMetricEvent[] = [];
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const consumer = recordingConsumer(seen, 'w1', {
      streamName: written.streamName,
      applicationName: uniqueName('app'),
      onMetric: (e) => events.push(e),
      logger,
      ...(drop ? { dropOutOfRangeAggregates: true } : {}),
      ...retrieval(),
    });
    const expectedAggregates = [...written.outOfRange.values()].reduce(
      (n, s) => n + s.aggregates,
      0,
    );
    try {
      await consumer.start();
      const ids = () => new Set(seen.records.map((r) => r.id));
      await waitFor(
        () => {
          const got = ids();
          return (
            [...written.native.values()].every((list) => list.every((id) => got.has(id))) &&
            (drop || [...written.foreign].every((id) => got.has(id))) &&
            events.filter((e) => e.type === 'outOfRangeAggregate').length >= expectedAggregates
          );
        },
        { timeoutMs: 60_000, message: 'every record read' },
      );

      const got = ids();
      const foreignDelivered = [...written.foreign].filter((id) => got.has(id));
      expect(foreignDelivered.length).toBe(drop ? written.foreignInRange.size : FOREIGN);
      // KPL-style and plain records: all of them, in order per key, whatever the option.
      const nativeSeen = orderByKey({
        records: seen.records.filter((r) => !r.id.startsWith('foreign-')),
      });
      expect(nativeSeen).toEqual(written.native);
      expect(duplicates(seen)).toEqual([]);

      // Counted: one event per out-of-range aggregate, a per-shard figure in health().
      const counted = events.filter(
        (e): e is Extract<ConsumerMetricEvent, { type: 'outOfRangeAggregate' }> =>
          e.type === 'outOfRangeAggregate',
      );
      expect(counted).toHaveLength(expectedAggregates);
      expect(counted.every((e) => e.dropped === drop && e.records === 50 && e.outside > 0)).toBe(
        true,
      );
      const health = consumer.health().shards.filter((s) => s.outOfRangeAggregates > 0);
      expect(
        new Map(
          health.map((s) => [
            s.shardId,
            { aggregates: s.outOfRangeAggregates, records: s.outOfRangeRecords },
          ]),
        ),
      ).toEqual(written.outOfRange);

      // Warned once per shard that saw one (they all arrive within a minute), naming the option;
      // never a key or a payload.
      const lines = warnings.filter((l) => l.includes('dropOutOfRangeAggregates'));
      expect(lines).toHaveLength(written.outOfRange.size);
      expect(new Set(lines.map((l) => (JSON.parse(l) as { shardId: string }).shardId))).toEqual(
        new Set(written.outOfRange.keys()),
      );
      for (const line of warnings) expect(line).not.toMatch(/foreign-(data|key)/);
    } finally {
      await consumer.stop();
    }
  });
});

import {
  AGGREGATE_PARTITION_KEY,
  Aggregator,
  deaggregate,
  hashKeyOf,
  MAX_HASH_KEY,
  partitionKeyHash,
  type UserRecord,
} from '@shardline/aggregation';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/index';
import { laneHashKey, laneOf, lanePartitionKey } from '../src/lambda-lanes';
import { resolveOptions } from '../src/options';
import { useFakeStream } from './fake-stream';

const ctx = useFakeStream('ll');

describe('lane assignment rule', () => {
  it('gives a key the same lane every time, from its hash key alone', () => {
    for (let i = 0; i < 200; i++) {
      const h = partitionKeyHash(`key-${i}`);
      const lane = laneOf(h, 12);
      expect(laneOf(partitionKeyHash(`key-${i}`), 12)).toBe(lane);
      // The documented rule: the hash key's low 32 bits modulo the lane count.
      expect(lane).toBe(Number(h % 2n ** 32n) % 12);
    }
  });

  it('spreads keys over every lane, roughly evenly', () => {
    for (const lanes of [1, 2, 10, 16, 100]) {
      const counts = new Array<number>(lanes).fill(0);
      const n = 200 * lanes;
      for (let i = 0; i < n; i++) counts[laneOf(partitionKeyHash(`user-${i}`), lanes)]!++;
      expect(Math.min(...counts)).toBeGreaterThan(100);
      expect(Math.max(...counts)).toBeLessThan(300);
    }
  });

  it('puts each lane at its own point inside the shard, for any range (before and after a split)', () => {
    const whole = { shardId: 's0', start: 0n, end: MAX_HASH_KEY };
    const mid = MAX_HASH_KEY / 2n;
    const children = [
      { shardId: 's1', start: 0n, end: mid },
      { shardId: 's2', start: mid + 1n, end: MAX_HASH_KEY },
      { shardId: 'tiny', start: 5n, end: 7n },
    ];
    for (const range of [whole, ...children]) {
      const points = [];
      for (let lane = 0; lane < 10; lane++) {
        const p = laneHashKey(range, lane, 10);
        expect(p >= range.start && p <= range.end).toBe(true);
        points.push(p);
      }
      // Ascending by lane: distinct wherever the range is wide enough.
      for (let i = 1; i < points.length; i++) expect(points[i]! >= points[i - 1]!).toBe(true);
    }
    expect(laneHashKey(whole, 0, 2)).toBe(MAX_HASH_KEY / 4n);
    expect(lanePartitionKey(7)).toBe('lane-7');
  });

  it('wraps a lone record as a one-record aggregate that de-aggregates to it (key, hash key, tags)', () => {
    const data = Buffer.from('x'.repeat(300));
    const tags = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    const wrapped = wrapOne({ partitionKey: 'user-1', explicitHashKey: '12345', data, tags });
    const [u, ...rest] = deaggregate(
      { data: wrapped, partitionKey: 'lane-3', sequenceNumber: '1' },
      { strict: true },
    );
    expect(rest).toHaveLength(0);
    expect(u).toMatchObject({
      partitionKey: 'user-1',
      explicitHashKey: '12345',
      subSequenceNumber: 0,
    });
    expect(Buffer.from(u!.data).equals(data)).toBe(true);
    expect(u!.tags).toEqual(tags);
    const plain = deaggregate(
      {
        data: wrapOne({ partitionKey: 'k', data }),
        partitionKey: 'lane-0',
        sequenceNumber: '1',
      },
      { strict: true },
    );
    expect(plain[0]!.partitionKey).toBe('k');
    expect(plain[0]!.explicitHashKey).toBeUndefined();
  });
});

/** A one-record aggregate, as the lane stage wraps a lone record (the Aggregator's own encoding). */
function wrapOne(record: UserRecord): Uint8Array {
  const aggregator = new Aggregator();
  aggregator.add(record);
  const out = aggregator.flush({ singleAsAggregate: true })!;
  expect([out.partitionKey, out.recordCount]).toEqual([AGGREGATE_PARTITION_KEY, 1]);
  return out.data;
}

describe('lambdaLanes option', () => {
  it('is off by default and refuses values outside 1–100, or without aggregation', () => {
    expect(resolveOptions({ streamName: 's' }).lambdaLanes).toBeUndefined();
    expect(resolveOptions({ streamName: 's', lambdaLanes: 20 }).lambdaLanes).toBe(20);
    for (const bad of [0, 101, 2.5, -1, '4'])
      expect(() => resolveOptions({ streamName: 's', lambdaLanes: bad as number })).toThrow(
        ConfigError,
      );
    expect(() => resolveOptions({ streamName: 's', lambdaLanes: 4, aggregation: false })).toThrow(
      ConfigError,
    );
  });

  it("sends every Kinesis record under its lane's key and hash point; a key's records all in one lane", async () => {
    const lanes = 6;
    const { streamName, producer } = ctx.setup(2, { lambdaLanes: lanes, aggregationMaxCount: 10 });
    await producer.start();
    const puts = [];
    for (let i = 0; i < 600; i++)
      puts.push(producer.put({ partitionKey: `k${i % 37}`, data: `${i}` }));
    // A key put once, on its own: it still goes out in its lane's form.
    await Promise.all(puts);
    await producer.put({ partitionKey: 'lonely', data: 'alone' });
    await producer.flush();

    const laneOfKey = new Map<string, string>();
    let kinesisRecords = 0;
    let lone = 0;
    for (const shard of ctx.fake.shards(streamName)) {
      for (const r of shard.records) {
        kinesisRecords++;
        const users = deaggregate(
          { data: r.data, partitionKey: r.partitionKey, sequenceNumber: r.sequenceNumber },
          { strict: true },
        );
        if (users.length === 1) lone++;
        expect(users[0]!.partitionKey === r.partitionKey).toBe(false);
        for (const u of users) {
          const h = hashKeyOf(u);
          expect(h >= shard.start && h <= shard.end).toBe(true);
          const expected = lanePartitionKey(laneOf(h, lanes));
          expect(r.partitionKey).toBe(expected);
          expect(laneOfKey.get(u.partitionKey) ?? expected).toBe(expected);
          laneOfKey.set(u.partitionKey, expected);
        }
      }
    }
    expect(laneOfKey.size).toBe(38);
    expect(new Set(laneOfKey.values()).size).toBe(lanes);
    expect(kinesisRecords).toBeGreaterThan(2 * lanes);
    expect(lone).toBeGreaterThan(0);
  });
});

import { deaggregate } from '@shardline/aggregation';
import { describe, expect, it } from 'vitest';
import { AggregateStage, type AggregateStageOptions } from '../src/aggregate-stage';
import type { KinesisRecord } from '../src/kinesis-record';
import { userRecord } from './stage-fixtures';

function stage(options: Partial<AggregateStageOptions> = {}) {
  const out: KinesisRecord[] = [];
  const s = new AggregateStage(
    { aggregation: true, maxBytes: 1024, maxCount: 1000, compressCodec: undefined, ...options },
    (r) => out.push(r),
  );
  return { s, out };
}

function add(s: AggregateStage, shardId: string, key: string, data: string) {
  const r = userRecord(key, data);
  r.predictedShard = shardId;
  s.add(r);
  return r;
}

const contents = (r: KinesisRecord) =>
  deaggregate({ data: r.data, partitionKey: r.partitionKey, sequenceNumber: '1' }).map((u) =>
    Buffer.from(u.data).toString(),
  );

describe('AggregateStage', () => {
  it('aggregates per predicted shard, in put order, and emits an aggregate once the next record would not fit', () => {
    const { s, out } = stage({ maxBytes: 100 });
    for (let i = 0; i < 10; i++) add(s, i % 2 ? 'B' : 'A', `k${i}`, `a-record-of-some-size-${i}`);
    expect(out.length).toBeGreaterThan(0);
    expect(
      out.every((r) => r.bytes <= 100 && r.records.every((u) => u.predictedShard === r.shardId)),
    ).toBe(true);
    s.flushAll();
    expect(s.pending).toBe(0);
    const a = out.filter((r) => r.shardId === 'A').flatMap(contents);
    expect(a).toEqual([0, 2, 4, 6, 8].map((i) => `a-record-of-some-size-${i}`));
  });

  it('a lone record goes out as itself, with its own key; without aggregation every record does', () => {
    const { s, out } = stage();
    add(s, 'A', 'only', 'x');
    s.flushAll();
    expect(out[0]).toMatchObject({ partitionKey: 'only', aggregated: false, shardId: 'A' });
    const plain = stage({ aggregation: false });
    add(plain.s, 'A', 'k', 'x');
    add(plain.s, 'A', 'k', 'y');
    expect(plain.out.map((r) => r.aggregated)).toEqual([false, false]);
  });

  it('flushAll keeps filling the shards it is told to hold', () => {
    const { s, out } = stage();
    add(s, 'A', 'k', 'a');
    add(s, 'B', 'k', 'b');
    s.flushAll((shardId) => shardId === 'A');
    expect(out.map((r) => r.shardId)).toEqual(['B']);
    expect(s.pending).toBe(1);
  });

  it("take hands back a shard's partial aggregate, in order", () => {
    const { s, out } = stage();
    const r1 = add(s, 'A', 'k', '1');
    const r2 = add(s, 'A', 'k', '2');
    expect(s.take('A')).toEqual([r1, r2]);
    expect(s.take('A')).toEqual([]);
    expect(s.pending).toBe(0);
    s.flushAll();
    expect(out).toEqual([]);
  });

  it('rebuild drops finished records and keeps the lane and shard', () => {
    const { s, out } = stage();
    add(s, 'A', 'k', '1');
    add(s, 'A', 'j', '2');
    add(s, 'A', 'k', '3');
    s.flushAll();
    const original = out[0]!;
    original.lane = 'A';
    const rebuilt = s.rebuild(original, [original.records[0]!, original.records[2]!]);
    expect(contents(rebuilt)).toEqual(['1', '3']);
    expect(rebuilt).toMatchObject({ shardId: 'A', lane: 'A', aggregated: true });
    expect(s.rebuild(original, [original.records[1]!])).toMatchObject({
      partitionKey: 'j',
      aggregated: false,
    });
  });
});

import { deaggregate, partitionKeyHash } from '@shardline/aggregation';
import { describe, expect, it } from 'vitest';
import type { KinesisRecord } from '../src/kinesis-record';
import { laneHashKey, laneOf } from '../src/lambda-lanes';
import { LaneAggregateStage } from '../src/lane-aggregate-stage';
import { userRecord } from './stage-fixtures';

const LANES = 4;
const RANGE = { shardId: 's0', start: 1000n, end: 2n ** 100n };

function stage(maxBytes = 4096) {
  const out: KinesisRecord[] = [];
  const s = new LaneAggregateStage(
    {
      aggregation: true,
      maxBytes,
      maxCount: 1000,
      compressCodec: undefined,
      lanes: LANES,
      rangeOf: (id) => (id === 's0' ? RANGE : undefined),
    },
    (r) => out.push(r),
  );
  return { s, out };
}

function add(s: LaneAggregateStage, key: string, data: string) {
  const r = userRecord(key, data, partitionKeyHash(key));
  r.predictedShard = 's0';
  s.add(r);
  return r;
}

const users = (r: KinesisRecord) =>
  deaggregate(
    { data: r.data, partitionKey: r.partitionKey, sequenceNumber: '1' },
    { strict: true },
  );

describe('LaneAggregateStage', () => {
  it("aggregates per lane, each under its lane's key and hash point, a lone record wrapped too", () => {
    const { s, out } = stage();
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    for (const k of keys) add(s, k, `${k}:0`);
    for (const k of keys) add(s, k, `${k}:1`);
    add(s, 'only', 'once');
    s.flushAll();
    expect(s.pending).toBe(0);
    expect(out.length).toBeLessThanOrEqual(LANES);
    const seen = new Map<string, string[]>();
    for (const r of out) {
      const lane = Number(r.partitionKey.replace('lane-', ''));
      expect(r.partitionKey).toBe(`lane-${lane}`);
      expect(r.explicitHashKey).toBe(laneHashKey(RANGE, lane, LANES).toString());
      expect(r.aggregated).toBe(true);
      expect(r.bytes).toBeLessThanOrEqual(4096);
      for (const u of users(r)) {
        expect(laneOf(partitionKeyHash(u.partitionKey), LANES)).toBe(lane);
        seen.set(u.partitionKey, [
          ...(seen.get(u.partitionKey) ?? []),
          Buffer.from(u.data).toString(),
        ]);
      }
    }
    for (const k of keys) expect(seen.get(k)).toEqual([`${k}:0`, `${k}:1`]);
    expect(seen.get('only')).toEqual(['once']);
  });

  it('keeps aggregates within the limit with the longer lane key', () => {
    const { s, out } = stage(300);
    for (let i = 0; i < 2000; i++) add(s, `k${i % 9}`, 'y'.repeat(1 + (i % 5)));
    s.flushAll();
    expect(out.length).toBeGreaterThan(LANES);
    for (const r of out) expect(r.bytes).toBeLessThanOrEqual(300);
  });

  it('hands back a shard with every lane in put order per key, and rebuilds a record in lane form', () => {
    const { s, out } = stage();
    const a = add(s, 'k1', 'a');
    const b = add(s, 'k2', 'b');
    const c = add(s, 'k1', 'c');
    expect([...s.shardIds()]).toEqual(['s0']);
    const taken = s.take('s0');
    expect(taken.filter((r) => r.partitionKey === 'k1')).toEqual([a, c]);
    expect(new Set(taken)).toEqual(new Set([a, b, c]));
    expect(s.pending).toBe(0);

    for (const r of [a, b, c]) s.add(r);
    s.flushAll();
    const withK1 = out.find((r) => users(r).some((u) => u.partitionKey === 'k1'))!;
    withK1.lane = 's0';
    const rebuilt = s.rebuild(withK1, [c]);
    expect(rebuilt.partitionKey).toBe(withK1.partitionKey);
    expect(rebuilt.explicitHashKey).toBe(withK1.explicitHashKey);
    expect(rebuilt.aggregated).toBe(true);
    expect(rebuilt.lane).toBe('s0');
    expect(users(rebuilt).map((u) => Buffer.from(u.data).toString())).toEqual(['c']);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Collector } from '../src/collector';
import type { KinesisRecord } from '../src/kinesis-record';
import { ShardLimiter } from '../src/limiter';
import { kinesisRecord, userRecord } from './stage-fixtures';

const MiB = 1024 * 1024;

function collector() {
  const batches: KinesisRecord[][] = [];
  const c = new Collector(
    { maxCount: 500, maxBytes: 5 * MiB, limiter: new ShardLimiter(100), now: () => Date.now() },
    (batch) => batches.push(batch),
  );
  return { c, batches };
}

describe('Collector', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('cuts a request at 500 entries', () => {
    const { c, batches } = collector();
    // 1,200 small records over 3 shards: 400 each, within each shard's 1,000 records/s.
    for (let i = 0; i < 1200; i++) c.offer(kinesisRecord(`S${i % 3}`, [userRecord('k')]));
    expect(batches.map((b) => b.length)).toEqual([500, 500]);
    c.flush();
    expect(batches.map((b) => b.length)).toEqual([500, 500, 200]);
  });

  it('cuts a request before it would pass 5 MiB', () => {
    const { c, batches } = collector();
    // 1 MiB records on 6 shards: 5 fit one request, the sixth starts the next.
    for (let i = 0; i < 6; i++) c.offer(kinesisRecord(`S${i}`, [userRecord('k')], MiB));
    expect(batches.map((b) => b.length)).toEqual([5]);
    c.flush();
    expect(batches.map((b) => b.length)).toEqual([5, 1]);
  });

  it('a hot shard waits alone for its limiter; the others keep flowing', () => {
    const { c, batches } = collector();
    for (let i = 0; i < 1005; i++) c.offer(kinesisRecord('HOT', [userRecord('k', `h${i}`)]));
    c.offer(kinesisRecord('COLD', [userRecord('j', 'cold')]));
    c.flush();
    const sent = batches.flat();
    expect(sent.filter((r) => r.shardId === 'HOT')).toHaveLength(1000);
    expect(sent.some((r) => r.shardId === 'COLD')).toBe(true);
    expect(c.pending).toBe(5);
    vi.advanceTimersByTime(10);
    expect(batches.flat().filter((r) => r.shardId === 'HOT')).toHaveLength(1005);
    // In the order offered.
    expect(
      batches
        .flat()
        .filter((r) => r.shardId === 'HOT')
        .slice(-2)
        .map((r) => Buffer.from(r.records[0]!.data).toString()),
    ).toEqual(['h1003', 'h1004']);
  });
});

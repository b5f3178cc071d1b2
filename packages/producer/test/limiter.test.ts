import { describe, expect, it } from 'vitest';
import { ShardLimiter, TokenBucket } from '../src/limiter';

describe('TokenBucket', () => {
  it('starts full, refills at its rate up to its capacity, and says how long until enough', () => {
    const b = new TokenBucket(10, 5, 0);
    expect(b.waitFor(10, 0)).toBe(0);
    b.take(10, 0);
    expect(b.waitFor(1, 0)).toBe(200); // 1 token at 5/s
    expect(b.waitFor(5, 500)).toBe(500); // 2.5 there after 0.5 s, 2.5 to go
    expect(b.waitFor(10, 10_000)).toBe(0);
    b.take(10, 10_000);
    expect(b.waitFor(10, 10_000)).toBe(2000); // never more than the capacity
  });

  it('a request larger than the capacity waits only for a full bucket (an oversized record never starves)', () => {
    const b = new TokenBucket(10, 10, 0);
    expect(b.waitFor(50, 0)).toBe(0);
    b.take(50, 0);
    expect(b.waitFor(50, 0)).toBe(5000); // the 40 it owes, then a full bucket, at 10/s
  });
});

describe('ShardLimiter', () => {
  it('limits each shard to rateLimit% of 1,000 records/s and 1 MiB/s, shards apart', () => {
    const l = new ShardLimiter(100);
    for (let i = 0; i < 1000; i++) {
      expect(l.delay('A', 10, 0)).toBe(0);
      l.take('A', 10, 0);
    }
    expect(l.delay('A', 10, 0)).toBe(1); // the 1,001st record waits 1 ms
    expect(l.delay('B', 10, 0)).toBe(0); // another shard does not
    const bytes = new ShardLimiter(150);
    bytes.take('A', 1.5 * 1024 * 1024, 0);
    expect(bytes.delay('A', 1024 * 1024, 0)).toBe(667); // 1 MiB at 1.5 MiB/s
  });

  it('forgets shards that left the map', () => {
    const l = new ShardLimiter(100);
    l.take('A', 1024 * 1024, 0);
    expect(l.delay('A', 1024 * 1024, 0)).toBeGreaterThan(0);
    l.retain(new Set(['B']));
    expect(l.delay('A', 1024 * 1024, 0)).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { newStream } from '../src/streams';
import { ShardLimits } from '../src/throughput';

const shard = () => newStream('s', 1, 'us-east-1', 'PROVISIONED').shards[0]!;

describe('ShardLimits', () => {
  it('admits everything when the limits are off', () => {
    const limits = new ShardLimits(false);
    const s = shard();
    let admitted = 0;
    for (let i = 0; i < 1500; i++) if (limits.admit(s, 1024 * 1024, 0)) admitted++;
    expect(admitted).toBe(1500);
  });

  it('counts records and bytes per shard in one-second windows', () => {
    const limits = new ShardLimits({ recordsPerSecond: 2, bytesPerSecond: 100 });
    const s = shard();
    expect(limits.admit(s, 10, 1_000)).toBe(true);
    expect(limits.admit(s, 10, 1_500)).toBe(true);
    expect(limits.admit(s, 10, 1_999)).toBe(false);
    // A new second starts a new window.
    expect(limits.admit(s, 90, 2_000)).toBe(true);
    expect(limits.admit(s, 11, 2_100)).toBe(false);
    expect(limits.admit(s, 10, 2_100)).toBe(true);
    // Another shard has its own window.
    expect(limits.admit(shard(), 100, 2_100)).toBe(true);
  });

  it('defaults to the service limits: 1000 records or 1 MiB a second', () => {
    const limits = new ShardLimits({});
    const s = shard();
    for (let i = 0; i < 1000; i++) expect(limits.admit(s, 1, 0)).toBe(true);
    expect(limits.admit(s, 1, 0)).toBe(false);
    expect(limits.admit(shard(), 1024 * 1024 + 1, 0)).toBe(false);
  });
});

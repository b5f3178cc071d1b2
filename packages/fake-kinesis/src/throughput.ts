import type { FakeKinesisOptions } from './fake-kinesis';
import type { ShardState } from './streams';

/**
 * The per-shard write limits of the real service, counted in one-second windows; kinesis-local
 * does not throttle, which is why the fake does.
 */
export class ShardLimits {
  private readonly enabled: boolean;
  private readonly recordsPerSecond: number;
  private readonly bytesPerSecond: number;

  constructor(options: FakeKinesisOptions['shardLimits']) {
    this.enabled = options !== undefined && options !== false;
    const limits = options || {};
    this.recordsPerSecond = limits.recordsPerSecond ?? 1000;
    this.bytesPerSecond = limits.bytesPerSecond ?? 1024 * 1024;
  }

  /** Counts a write of `bytes` to `shard` at `now` (ms) if the shard's window has room for it. */
  admit(shard: ShardState, bytes: number, now: number): boolean {
    if (!this.enabled) return true;
    const second = Math.floor(now / 1000);
    if (shard.windowSecond !== second) {
      shard.windowSecond = second;
      shard.windowRecords = 0;
      shard.windowBytes = 0;
    }
    if (
      shard.windowRecords + 1 > this.recordsPerSecond ||
      shard.windowBytes + bytes > this.bytesPerSecond
    )
      return false;
    shard.windowRecords++;
    shard.windowBytes += bytes;
    return true;
  }
}

/** Kinesis' per-shard write limits. */
export const SHARD_RECORDS_PER_SECOND = 1000;
export const SHARD_BYTES_PER_SECOND = 1024 * 1024;

/**
 * A token bucket refilled continuously: `capacity` tokens at most, `ratePerSecond` added per
 * second. Time is passed in, so the arithmetic is tested without clocks.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly capacity: number,
    private readonly ratePerSecond: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.tokens = Math.min(
        this.capacity,
        this.tokens + ((now - this.updatedAt) * this.ratePerSecond) / 1000,
      );
      this.updatedAt = now;
    }
  }

  /** Ms until `amount` tokens are there (0 if they are now). */
  waitFor(amount: number, now: number): number {
    this.refill(now);
    const need = Math.min(amount, this.capacity) - this.tokens;
    return need <= 0 ? 0 : Math.ceil((need * 1000) / this.ratePerSecond);
  }

  take(amount: number, now: number): void {
    this.refill(now);
    this.tokens -= amount;
  }
}

/**
 * The KPL's per-shard limiter: one records bucket and one bytes bucket per predicted shard, each
 * at `rateLimit`% of the shard's limit, so one hot shard waits without holding back the others.
 * An aggregate counts as one record, which is why aggregation multiplies throughput.
 */
export class ShardLimiter {
  private readonly buckets = new Map<string, { records: TokenBucket; bytes: TokenBucket }>();
  private readonly recordsPerSecond: number;
  private readonly bytesPerSecond: number;

  constructor(rateLimitPercent: number) {
    this.recordsPerSecond = (SHARD_RECORDS_PER_SECOND * rateLimitPercent) / 100;
    this.bytesPerSecond = (SHARD_BYTES_PER_SECOND * rateLimitPercent) / 100;
  }

  /** Ms until a Kinesis record of `bytes` may go to `shardId` (0: now). Does not take tokens. */
  delay(shardId: string, bytes: number, now: number): number {
    const b = this.bucket(shardId, now);
    return Math.max(b.records.waitFor(1, now), b.bytes.waitFor(bytes, now));
  }

  /** Takes the tokens for a Kinesis record of `bytes` sent to `shardId`. */
  take(shardId: string, bytes: number, now: number): void {
    const b = this.bucket(shardId, now);
    b.records.take(1, now);
    b.bytes.take(bytes, now);
  }

  /** Forgets shards that no longer exist (after resharding). */
  retain(shardIds: ReadonlySet<string>): void {
    for (const id of this.buckets.keys()) if (!shardIds.has(id)) this.buckets.delete(id);
  }

  private bucket(shardId: string, now: number) {
    let b = this.buckets.get(shardId);
    if (!b) {
      b = {
        records: new TokenBucket(this.recordsPerSecond, this.recordsPerSecond, now),
        bytes: new TokenBucket(this.bytesPerSecond, this.bytesPerSecond, now),
      };
      this.buckets.set(shardId, b);
    }
    return b;
  }
}

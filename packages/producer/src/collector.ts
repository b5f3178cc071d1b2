import type { KinesisRecord } from './kinesis-record';
import type { ShardLimiter } from './limiter';

export interface CollectorOptions {
  maxCount: number;
  maxBytes: number;
  limiter: ShardLimiter;
  now?: () => number;
}

/**
 * Second and third stages: each shard's Kinesis records wait in order for that shard's rate
 * limiter, then join the PutRecords batch being built, which goes out when it is full (500
 * entries or 5 MiB) or when `flush` is called (the buffered-time tick). A shard over its rate
 * waits alone; the others keep flowing.
 */
export class Collector {
  private readonly queues = new Map<string, KinesisRecord[]>();
  private batch: KinesisRecord[] = [];
  private batchBytes = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private queued = 0;
  private readonly now: () => number;

  constructor(
    private readonly options: CollectorOptions,
    private readonly send: (batch: KinesisRecord[]) => void,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Kinesis records waiting for a rate limiter or in the batch being built. */
  get pending(): number {
    return this.queued + this.batch.length;
  }

  offer(record: KinesisRecord): void {
    const queue = this.queues.get(record.shardId);
    if (queue && queue.length > 0) {
      queue.push(record);
      this.queued++;
      return;
    }
    const now = this.now();
    if (this.options.limiter.delay(record.shardId, record.bytes, now) === 0) {
      this.options.limiter.take(record.shardId, record.bytes, now);
      this.append(record);
      return;
    }
    if (queue) queue.push(record);
    else this.queues.set(record.shardId, [record]);
    this.queued++;
    this.pump();
  }

  /** Moves what the limiters allow into the batch and sends the batch, full or not. */
  flush(): void {
    this.pump();
    this.sendBatch();
  }

  stop(): void {
    this.clearWake();
  }

  private append(record: KinesisRecord): void {
    if (
      this.batch.length >= this.options.maxCount ||
      this.batchBytes + record.bytes > this.options.maxBytes
    )
      this.sendBatch();
    this.batch.push(record);
    this.batchBytes += record.bytes;
    if (this.batch.length >= this.options.maxCount) this.sendBatch();
  }

  private sendBatch(): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    this.send(batch);
  }

  private pump(): void {
    const now = this.now();
    let nextWake = Infinity;
    const limiter = this.options.limiter;
    for (const [shardId, queue] of this.queues) {
      while (queue.length > 0) {
        const head = queue[0]!;
        const delay = limiter.delay(shardId, head.bytes, now);
        if (delay > 0) {
          nextWake = Math.min(nextWake, now + delay);
          break;
        }
        limiter.take(shardId, head.bytes, now);
        queue.shift();
        this.queued--;
        this.append(head);
      }
      if (queue.length === 0) this.queues.delete(shardId);
    }
    if (nextWake !== Infinity && nextWake < this.wakeAt) {
      this.clearWake();
      this.wakeAt = nextWake;
      this.wakeTimer = setTimeout(
        () => {
          this.wakeTimer = undefined;
          this.wakeAt = Infinity;
          this.flush();
        },
        Math.max(1, nextWake - now),
      );
    }
  }

  private clearWake(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = Infinity;
  }
}

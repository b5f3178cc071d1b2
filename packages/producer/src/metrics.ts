/** One thing that happened in the producer, for dashboards and alerts. */
export type MetricEvent =
  | { type: 'recordPut'; shardId: string }
  | { type: 'recordSucceeded'; shardId: string; bufferedMs: number; attempts: number }
  | { type: 'recordFailed'; code: string }
  | { type: 'kinesisRecordSent'; shardId: string; userRecords: number; bytes: number }
  | {
      type: 'putRecordsCall';
      entries: number;
      bytes: number;
      durationMs: number;
      failedEntries: number;
    }
  | { type: 'putRecordsError'; code: string; willRetry: boolean }
  | { type: 'entryRetry'; shardId: string; code: string }
  | { type: 'throttle'; shardId: string }
  | { type: 'shardMapRefresh'; shards: number; reason: string };

/** Running totals, for `producer.stats()`. */
export interface ProducerStats {
  recordsPut: number;
  recordsSucceeded: number;
  recordsFailed: number;
  failuresByCode: Record<string, number>;
  kinesisRecordsSent: number;
  putRecordsCalls: number;
  putRecordsErrors: number;
  entryRetries: number;
  throttles: number;
  shardMapRefreshes: number;
  /** Records and bytes (data + partition key) accepted and not yet finished. */
  bufferedRecords: number;
  bufferedBytes: number;
  /**
   * Memory charged for those records against `maxBufferedBytes`: their data plus the producer's
   * working copies (aggregate, serialized request). `put` waits while it is at the bound.
   */
  bufferedMemoryBytes: number;
  /** Per predicted shard: user records succeeded. */
  perShard: Record<
    string,
    { records: number; kinesisRecords: number; bytes: number; throttles: number }
  >;
}

/** Counts metric events and forwards them to the user's hook. */
export class MetricsRecorder {
  readonly stats: ProducerStats = {
    recordsPut: 0,
    recordsSucceeded: 0,
    recordsFailed: 0,
    failuresByCode: {},
    kinesisRecordsSent: 0,
    putRecordsCalls: 0,
    putRecordsErrors: 0,
    entryRetries: 0,
    throttles: 0,
    shardMapRefreshes: 0,
    bufferedRecords: 0,
    bufferedBytes: 0,
    bufferedMemoryBytes: 0,
    perShard: {},
  };

  constructor(private readonly hook: ((event: MetricEvent) => void) | undefined) {}

  /** Per-record counters on the hot path: an event object is built only when someone listens. */
  recordPut(shardId: string): void {
    if (this.hook) this.emit({ type: 'recordPut', shardId });
    else this.stats.recordsPut++;
  }

  /** True when a hook wants every event (then per-record events are built). */
  get listening(): boolean {
    return this.hook !== undefined;
  }

  /** Counts `count` records that succeeded on one shard at once (no hook: no events to build). */
  recordsSucceeded(shardId: string, count: number): void {
    this.stats.recordsSucceeded += count;
    this.shard(shardId).records += count;
  }

  emit(event: MetricEvent): void {
    const s = this.stats;
    switch (event.type) {
      case 'recordPut':
        s.recordsPut++;
        break;
      case 'recordSucceeded':
        s.recordsSucceeded++;
        this.shard(event.shardId).records++;
        break;
      case 'recordFailed':
        s.recordsFailed++;
        s.failuresByCode[event.code] = (s.failuresByCode[event.code] ?? 0) + 1;
        break;
      case 'kinesisRecordSent': {
        s.kinesisRecordsSent++;
        const shard = this.shard(event.shardId);
        shard.kinesisRecords++;
        shard.bytes += event.bytes;
        break;
      }
      case 'putRecordsCall':
        s.putRecordsCalls++;
        break;
      case 'putRecordsError':
        s.putRecordsErrors++;
        break;
      case 'entryRetry':
        s.entryRetries++;
        break;
      case 'throttle':
        s.throttles++;
        this.shard(event.shardId).throttles++;
        break;
      case 'shardMapRefresh':
        s.shardMapRefreshes++;
        break;
    }
    if (this.hook) {
      try {
        this.hook(event);
      } catch {
        // A faulty metrics hook must not break delivery.
      }
    }
  }

  private shard(shardId: string) {
    let entry = this.stats.perShard[shardId];
    if (!entry) {
      entry = { records: 0, kinesisRecords: 0, bytes: 0, throttles: 0 };
      this.stats.perShard[shardId] = entry;
    }
    return entry;
  }
}

import { Aggregator, compress, type CompressionCodec } from '@shardline/aggregation';
import type { KinesisRecord } from './kinesis-record';
import type { PendingRecord } from './user-record';

export interface AggregateStageOptions {
  aggregation: boolean;
  maxBytes: number;
  maxCount: number;
  /** Compress each finished Kinesis record's data (aggregate scope). */
  compressCodec: CompressionCodec | undefined;
}

interface ShardBuffer {
  aggregator: Aggregator;
  records: PendingRecord[];
}

/**
 * First stage: one Aggregator per predicted shard, so every aggregate holds only records that
 * hash into the shard it is routed to (the KCL drops aggregates that break this). A finished
 * aggregate goes on at once; partial ones wait for `flushAll` (the buffered-time tick).
 */
export class AggregateStage {
  private readonly buffers = new Map<string, ShardBuffer>();
  protected buffered = 0;

  constructor(
    protected readonly options: AggregateStageOptions,
    protected readonly emit: (record: KinesisRecord) => void,
  ) {}

  /** User records held here, waiting for their aggregate to be finished. */
  get pending(): number {
    return this.buffered;
  }

  /** Shards with a partial aggregate. */
  shardIds(): IterableIterator<string> {
    return this.buffers.keys();
  }

  add(record: PendingRecord): void {
    if (!this.options.aggregation) {
      this.emit(this.single(record));
      return;
    }
    let buffer = this.buffers.get(record.predictedShard);
    if (!buffer) {
      // Records were validated at put: the aggregator need not check them again.
      buffer = {
        aggregator: new Aggregator({
          maxBytes: this.options.maxBytes,
          maxRecords: this.options.maxCount,
          trustedInput: true,
        }),
        records: [],
      };
      this.buffers.set(record.predictedShard, buffer);
    }
    const finished = buffer.aggregator.add(record);
    if (finished) {
      // Everything pending before this record is in `finished`; this record starts the next one.
      const done = buffer.records;
      buffer.records = [record];
      this.buffered -= done.length - 1;
      this.emit(
        this.finish(
          record.predictedShard,
          finished.partitionKey,
          finished.explicitHashKey,
          finished.data,
          done,
        ),
      );
    } else {
      buffer.records.push(record);
      this.buffered++;
    }
  }

  /** Emits every partial aggregate, except those of shards `hold` says to keep filling. */
  flushAll(hold?: (shardId: string) => boolean): void {
    for (const [shardId, buffer] of this.buffers) {
      if (hold?.(shardId)) continue;
      const out = buffer.aggregator.flush();
      if (!out) continue;
      const records = buffer.records;
      buffer.records = [];
      this.buffered -= records.length;
      this.emit(this.finish(shardId, out.partitionKey, out.explicitHashKey, out.data, records));
    }
  }

  /** Takes back a shard's partial aggregate: its records, in put order (its shard left the map). */
  take(shardId: string): PendingRecord[] {
    const buffer = this.buffers.get(shardId);
    if (!buffer) return [];
    this.buffers.delete(shardId);
    buffer.aggregator.flush();
    this.buffered -= buffer.records.length;
    return buffer.records;
  }

  /**
   * The same Kinesis record without the user records that have finished meanwhile (expired while
   * it waited): rebuilt in place, so it keeps its lane and its place in line. Fewer records never
   * outgrow the limits, so one Kinesis record holds them.
   */
  rebuild(record: KinesisRecord, live: PendingRecord[]): KinesisRecord {
    let out: KinesisRecord;
    if (live.length === 1 || !this.options.aggregation) out = this.single(live[0]!);
    else {
      const aggregator = new Aggregator({
        maxBytes: this.options.maxBytes,
        maxRecords: this.options.maxCount,
        trustedInput: true,
      });
      for (const r of live) aggregator.add(r);
      const packed = aggregator.flush()!;
      out = this.finish(
        record.shardId,
        packed.partitionKey,
        packed.explicitHashKey,
        packed.data,
        live,
      );
    }
    out.shardId = record.shardId;
    if (record.lane !== undefined) out.lane = record.lane;
    return out;
  }

  protected single(record: PendingRecord): KinesisRecord {
    return this.finish(
      record.predictedShard,
      record.partitionKey,
      record.explicitHashKey,
      record.data,
      [record],
    );
  }

  protected finish(
    shardId: string,
    partitionKey: string,
    explicitHashKey: string | undefined,
    data: Uint8Array,
    records: PendingRecord[],
  ): KinesisRecord {
    const keyBytes = partitionKey.length === 1 ? 1 : Buffer.byteLength(partitionKey, 'utf8');
    let out = data;
    if (this.options.compressCodec) {
      const packed = compress(data, this.options.compressCodec);
      // Incompressible data can grow; never let that push a record over the limit.
      if (packed.length + keyBytes <= this.options.maxBytes) out = packed;
    }
    return {
      shardId,
      partitionKey,
      explicitHashKey,
      data: out,
      bytes: out.length + keyBytes,
      records,
      aggregated: records.length > 1,
    };
  }
}

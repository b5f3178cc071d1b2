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
  private buffered = 0;

  constructor(
    private readonly options: AggregateStageOptions,
    private readonly emit: (record: KinesisRecord) => void,
  ) {}

  /** User records held here, waiting for their aggregate to be finished. */
  get pending(): number {
    return this.buffered;
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

  /** Emits every partial aggregate. */
  flushAll(): void {
    for (const [shardId, buffer] of this.buffers) {
      const out = buffer.aggregator.flush();
      if (!out) continue;
      const records = buffer.records;
      buffer.records = [];
      this.buffered -= records.length;
      this.emit(this.finish(shardId, out.partitionKey, out.explicitHashKey, out.data, records));
    }
  }

  /** Takes back every record not yet emitted (to route again after a shard-map change). */
  drain(): PendingRecord[] {
    const out: PendingRecord[] = [];
    for (const buffer of this.buffers.values()) {
      buffer.aggregator.flush();
      out.push(...buffer.records);
    }
    this.buffers.clear();
    this.buffered = 0;
    return out;
  }

  private single(record: PendingRecord): KinesisRecord {
    return this.finish(
      record.predictedShard,
      record.partitionKey,
      record.explicitHashKey,
      record.data,
      [record],
    );
  }

  private finish(
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

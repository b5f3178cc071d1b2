import { AGGREGATE_PARTITION_KEY, Aggregator } from '@shardline/aggregation';
import { AggregateStage, type AggregateStageOptions } from './aggregate-stage';
import type { KinesisRecord } from './kinesis-record';
import { laneHashKey, laneOf, lanePartitionKey, singleAggregateBytes } from './lambda-lanes';
import type { ShardRange } from './shard-map';
import type { PendingRecord } from './user-record';

export interface LaneAggregateStageOptions extends AggregateStageOptions {
  /** Lanes per shard (`lambdaLanes`). */
  lanes: number;
  /** A shard's hash-key range by the current map. */
  rangeOf: (shardId: string) => ShardRange | undefined;
}

interface LaneBuffer {
  aggregator: Aggregator;
  records: PendingRecord[];
}

/**
 * The aggregate stage in `lambdaLanes` mode: one Aggregator per (predicted shard, lane of the
 * user key), and every Kinesis record it makes — a lone record too — goes out as an aggregate
 * with partition key `lane-<n>` and an explicit hash key inside its shard for that lane. Lambda
 * orders and spreads a shard's records by partition key, so a key stays in one Lambda lane and a
 * shard's lanes can run side by side. Kept apart from `AggregateStage` so the default path does
 * no lane work at all.
 */
export class LaneAggregateStage extends AggregateStage {
  private readonly shards = new Map<string, (LaneBuffer | undefined)[]>();
  private readonly aggregatorBytes: number;
  /** Wraps lone records as one-record aggregates; empty between two uses. */
  private readonly wrapper: Aggregator;

  constructor(
    private readonly laneOptions: LaneAggregateStageOptions,
    emit: (record: KinesisRecord) => void,
  ) {
    super(laneOptions, emit);
    // The Aggregator sizes its output for the 1-byte key 'a'; the lane key is longer.
    this.aggregatorBytes =
      laneOptions.maxBytes - (lanePartitionKey(laneOptions.lanes - 1).length - 1);
    this.wrapper = this.newAggregator();
  }

  override shardIds(): IterableIterator<string> {
    return this.shards.keys();
  }

  override add(record: PendingRecord): void {
    const shardId = record.predictedShard;
    const lane = laneOf(record.hashKey, this.laneOptions.lanes);
    let lanes = this.shards.get(shardId);
    if (!lanes) {
      lanes = new Array<LaneBuffer | undefined>(this.laneOptions.lanes);
      this.shards.set(shardId, lanes);
    }
    let buffer = lanes[lane];
    if (!buffer) {
      buffer = { aggregator: this.newAggregator(), records: [] };
      lanes[lane] = buffer;
    }
    const finished = buffer.aggregator.add(record);
    if (finished) {
      const done = buffer.records;
      buffer.records = [record];
      this.buffered -= done.length - 1;
      this.emit(this.laneRecord(shardId, lane, finished.data, done));
    } else {
      buffer.records.push(record);
      this.buffered++;
    }
  }

  override flushAll(hold?: (shardId: string) => boolean): void {
    for (const [shardId, lanes] of this.shards) {
      if (hold?.(shardId)) continue;
      for (let lane = 0; lane < lanes.length; lane++) {
        const buffer = lanes[lane];
        if (!buffer) continue;
        const out = buffer.aggregator.flush();
        if (!out) continue;
        const records = buffer.records;
        buffer.records = [];
        this.buffered -= records.length;
        this.emit(this.laneRecord(shardId, lane, out.data, records));
      }
    }
  }

  /** Every lane's records of the shard: each key's in put order (a key lives in one lane). */
  override take(shardId: string): PendingRecord[] {
    const lanes = this.shards.get(shardId);
    if (!lanes) return [];
    this.shards.delete(shardId);
    const out: PendingRecord[] = [];
    for (const buffer of lanes) {
      if (!buffer) continue;
      buffer.aggregator.flush();
      out.push(...buffer.records);
    }
    this.buffered -= out.length;
    return out;
  }

  override rebuild(record: KinesisRecord, live: PendingRecord[]): KinesisRecord {
    const lane = laneOf(live[0]!.hashKey, this.laneOptions.lanes);
    let data: Uint8Array;
    if (live.length === 1) data = live[0]!.data;
    else {
      const aggregator = this.newAggregator();
      for (const r of live) aggregator.add(r);
      data = aggregator.flush()!.data;
    }
    const out = this.laneRecord(record.shardId, lane, data, live);
    if (record.lane !== undefined) out.lane = record.lane;
    return out;
  }

  private newAggregator(): Aggregator {
    return new Aggregator({
      maxBytes: this.aggregatorBytes,
      maxRecords: this.laneOptions.maxCount,
      trustedInput: true,
    });
  }

  /**
   * `data` is the Aggregator's output: an aggregate for several records, the record's own data
   * for one, which is wrapped as a one-record aggregate unless that would outgrow the limit.
   */
  private laneRecord(
    shardId: string,
    lane: number,
    data: Uint8Array,
    records: PendingRecord[],
  ): KinesisRecord {
    const range = this.laneOptions.rangeOf(shardId);
    if (records.length === 1) {
      const r = records[0]!;
      const keyBytes = Buffer.byteLength(r.partitionKey, 'utf8') + (r.explicitHashKey?.length ?? 0);
      const laneKey = lanePartitionKey(lane);
      // Tags are bounded small (trace context); count them generously.
      let tagBytes = 0;
      if (r.tags) for (const [k, v] of Object.entries(r.tags)) tagBytes += k.length + v.length + 8;
      if (
        range === undefined ||
        singleAggregateBytes(keyBytes, r.data.length, tagBytes) + laneKey.length >
          this.laneOptions.maxBytes
      ) {
        // No room (or no range to aim at): sent alone under its own key, as without lanes.
        return this.single(r);
      }
      this.wrapper.add(r);
      const wrapped = this.wrapper.flush({ singleAsAggregate: true })!;
      // The estimate above is an upper bound of the exact size, so the wrap fits; a plain answer
      // would mean it did not, and the record then goes alone as well.
      if (wrapped.partitionKey !== AGGREGATE_PARTITION_KEY) return this.single(r);
      const out = this.finish(
        shardId,
        laneKey,
        laneHashKey(range, lane, this.laneOptions.lanes).toString(),
        wrapped.data,
        records,
      );
      out.aggregated = true;
      return out;
    }
    const out = this.finish(
      shardId,
      lanePartitionKey(lane),
      range
        ? laneHashKey(range, lane, this.laneOptions.lanes).toString()
        : records[0]!.hashKey.toString(),
      data,
      records,
    );
    return out;
  }
}

import { createHash } from 'node:crypto';
import { ConfigError, InvalidRecordError, RecordTooLargeError } from './errors';
import { partitionKeyHash } from './hash-key';
import { validateExplicitHashKey, validatePartitionKey } from './validate';
import {
  AGGREGATE_OVERHEAD,
  KPL_MAGIC,
  TAG_EHK_TABLE,
  TAG_PK_TABLE,
  TAG_RECORD,
  TAG_R_DATA,
  TAG_R_EHK_INDEX,
  TAG_R_PK_INDEX,
  lengthDelimitedSize,
  recordBodySize,
  varintSize,
  writeVarint,
} from './wire';

/** A user record: what an application puts. */
export interface UserRecord {
  partitionKey: string;
  data: Uint8Array;
  /** Decimal hash key in [0, 2^128 − 1] that overrides the partition key's hash for routing. */
  explicitHashKey?: string;
}

/** A record ready for PutRecords: one user record as it is, or a KPL aggregate of several. */
export interface KinesisRecordOut {
  partitionKey: string;
  explicitHashKey?: string;
  data: Uint8Array;
  /** User records inside (1 when not aggregated). */
  recordCount: number;
}

/** Limits of one emitted Kinesis record. */
export interface AggregatorOptions {
  /**
   * Upper bound, in bytes, of one emitted record's data plus its partition key (what Kinesis
   * counts toward its record limit). Default 1,048,576 (1 MiB, the Kinesis default). Streams
   * raised with UpdateMaxRecordSize may use up to 10 MiB.
   */
  maxBytes?: number;
  /** Most user records in one aggregate. Default 4,294,967,295 (the KPL's). */
  maxRecords?: number;
  /**
   * Skip the per-record checks (key, explicit hash key, bytes) because the caller already made
   * them, as the producer does at `put`. Default false.
   */
  trustedInput?: boolean;
}

/** The Kinesis default record limit: 1 MiB of data plus partition key. */
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;
/** The KPL's default AggregationMaxCount. */
export const DEFAULT_MAX_AGGREGATED_RECORDS = 4_294_967_295;
/** Partition key of every multi-record aggregate, as the KPL writes it. */
export const AGGREGATE_PARTITION_KEY = 'a';

/** The result of `measure`: where a record would go in the tables and what it would add. */
interface Measure {
  newPk: boolean;
  pkIndex: number;
  pkBytes: number;
  newEhk: boolean;
  ehkIndex: number;
  body: number;
  growth: number;
}

interface TableEntry {
  index: number;
  bytes: number;
}

/**
 * Packs user records into KPL aggregates, counting every byte as it goes so an aggregate never
 * exceeds `maxBytes` (data plus partition key) or `maxRecords`.
 *
 * The caller decides what may share an aggregate: everything added between two emits lands in one
 * Kinesis record, routed by the first user record's hash key. Records that hash to different
 * shards must go to different aggregators (the producer keeps one per predicted shard), because
 * the KCL drops an aggregate any of whose records hash outside the shard it was read from.
 *
 * Data is referenced, not copied, until the aggregate is emitted: do not mutate it in between.
 */
export class Aggregator {
  private readonly maxBytes: number;
  private readonly maxRecords: number;
  private readonly trusted: boolean;
  private readonly partitionKeys = new Map<string, TableEntry>();
  private readonly explicitHashKeys = new Map<string, TableEntry>();
  private pkIndexes: number[] = [];
  private ehkIndexes: number[] = [];
  private datas: Uint8Array[] = [];
  private bodySizes: number[] = [];
  /** Bytes of the protobuf message built so far. */
  private protoBytes = 0;
  private first: UserRecord | undefined;
  private firstRawBytes = 0;
  private readonly scratch: Measure = { newPk: false, pkIndex: 0, pkBytes: 0, newEhk: false, ehkIndex: -1, body: 0, growth: 0 };

  constructor(options: AggregatorOptions = {}) {
    this.maxBytes = positiveInteger(options.maxBytes ?? DEFAULT_MAX_RECORD_BYTES, 'maxBytes');
    this.maxRecords = positiveInteger(options.maxRecords ?? DEFAULT_MAX_AGGREGATED_RECORDS, 'maxRecords');
    this.trusted = options.trustedInput === true;
  }

  /** User records pending. */
  get count(): number {
    return this.datas.length;
  }

  /** Exact data + partition key bytes the pending records would emit as now. */
  get sizeBytes(): number {
    const count = this.datas.length;
    if (count === 0) return 0;
    if (count === 1) return this.firstRawBytes;
    return AGGREGATE_OVERHEAD + this.protoBytes + AGGREGATE_PARTITION_KEY.length;
  }

  /** Exact emitted size if `record` were added now, without adding it. */
  sizeWith(record: UserRecord): number {
    if (this.datas.length === 0) return rawBytes(record);
    return AGGREGATE_OVERHEAD + this.protoBytes + this.measure(record).growth + AGGREGATE_PARTITION_KEY.length;
  }

  /**
   * Adds a record. Returns the finished aggregate when this record does not fit beside the pending
   * ones; the record then starts the next aggregate. Throws `RecordTooLargeError` when the record
   * cannot fit even alone, and `InvalidRecordError` for a bad key or data.
   */
  add(record: UserRecord): KinesisRecordOut | undefined {
    const checked = this.trusted ? record : checkRecord(record);
    if (this.datas.length > 0) {
      const m = this.measure(checked);
      if (AGGREGATE_OVERHEAD + this.protoBytes + m.growth + AGGREGATE_PARTITION_KEY.length <= this.maxBytes && this.datas.length < this.maxRecords) {
        this.commit(checked, m);
        return undefined;
      }
      const finished = this.flush();
      this.start(checked);
      return finished;
    }
    this.start(checked);
    return undefined;
  }

  /** Emits what is pending (as a plain record when it is a single one), or undefined if nothing is. */
  flush(): KinesisRecordOut | undefined {
    const count = this.datas.length;
    if (count === 0) return undefined;
    const first = this.first!;
    let out: KinesisRecordOut;
    if (count === 1) {
      out = { partitionKey: first.partitionKey, data: first.data, recordCount: 1 };
      if (first.explicitHashKey !== undefined) out.explicitHashKey = first.explicitHashKey;
    } else {
      out = {
        partitionKey: AGGREGATE_PARTITION_KEY,
        explicitHashKey: first.explicitHashKey ?? partitionKeyHash(first.partitionKey).toString(),
        data: this.encode(),
        recordCount: count,
      };
    }
    this.reset();
    return out;
  }

  /**
   * What adding `record` would take: its table entries (found or new) and how many bytes the
   * protobuf message grows by. One lookup per table serves both the size check and the append.
   * Returns a scratch object, valid until the next call: no allocation per record.
   */
  private measure(record: UserRecord): Measure {
    const m = this.scratch;
    const pk = this.partitionKeys.get(record.partitionKey);
    m.newPk = pk === undefined;
    m.pkBytes = pk === undefined ? Buffer.byteLength(record.partitionKey, 'utf8') : pk.bytes;
    m.pkIndex = pk === undefined ? this.partitionKeys.size : pk.index;
    let tables = pk === undefined ? lengthDelimitedSize(m.pkBytes) : 0;
    m.newEhk = false;
    m.ehkIndex = -1;
    if (record.explicitHashKey !== undefined) {
      const ehk = this.explicitHashKeys.get(record.explicitHashKey);
      m.newEhk = ehk === undefined;
      m.ehkIndex = ehk === undefined ? this.explicitHashKeys.size : ehk.index;
      if (ehk === undefined) tables += lengthDelimitedSize(record.explicitHashKey.length);
    }
    m.body = recordBodySize(m.pkIndex, m.ehkIndex, record.data.length);
    m.growth = tables + 1 + varintSize(m.body) + m.body;
    return m;
  }

  private commit(record: UserRecord, m: Measure): void {
    if (m.newPk) this.partitionKeys.set(record.partitionKey, { index: m.pkIndex, bytes: m.pkBytes });
    // Decimal digits are ASCII: the key's length is its byte count.
    if (m.newEhk) this.explicitHashKeys.set(record.explicitHashKey!, { index: m.ehkIndex, bytes: record.explicitHashKey!.length });
    this.protoBytes += m.growth;
    this.pkIndexes.push(m.pkIndex);
    this.ehkIndexes.push(m.ehkIndex);
    this.datas.push(record.data);
    this.bodySizes.push(m.body);
  }

  private start(record: UserRecord): void {
    const raw = rawBytes(record);
    if (raw > this.maxBytes) throw new RecordTooLargeError(raw, this.maxBytes);
    this.first = record;
    this.firstRawBytes = raw;
    this.commit(record, this.measure(record));
  }

  /** Magic ‖ AggregatedRecord ‖ MD5(AggregatedRecord), in one exact allocation. */
  private encode(): Buffer {
    const protoEnd = KPL_MAGIC.length + this.protoBytes;
    const out = Buffer.allocUnsafe(protoEnd + 16);
    out.set(KPL_MAGIC, 0);
    let offset = KPL_MAGIC.length;
    for (const [key, entry] of this.partitionKeys) {
      out[offset++] = TAG_PK_TABLE;
      offset = writeVarint(out, offset, entry.bytes);
      offset += out.write(key, offset, entry.bytes, 'utf8');
    }
    for (const [key, entry] of this.explicitHashKeys) {
      out[offset++] = TAG_EHK_TABLE;
      offset = writeVarint(out, offset, entry.bytes);
      offset += out.write(key, offset, entry.bytes, 'latin1');
    }
    const count = this.datas.length;
    for (let i = 0; i < count; i++) {
      const data = this.datas[i]!;
      const ehkIndex = this.ehkIndexes[i]!;
      out[offset++] = TAG_RECORD;
      offset = writeVarint(out, offset, this.bodySizes[i]!);
      out[offset++] = TAG_R_PK_INDEX;
      offset = writeVarint(out, offset, this.pkIndexes[i]!);
      if (ehkIndex >= 0) {
        out[offset++] = TAG_R_EHK_INDEX;
        offset = writeVarint(out, offset, ehkIndex);
      }
      out[offset++] = TAG_R_DATA;
      offset = writeVarint(out, offset, data.length);
      out.set(data, offset);
      offset += data.length;
    }
    if (offset !== protoEnd) {
      // Size accounting and encoding disagree: a bug, never bad input. Fail loudly.
      throw new Error(`aggregate size accounting is off: wrote ${offset - 4}, counted ${this.protoBytes}`);
    }
    createHash('md5').update(out.subarray(KPL_MAGIC.length, protoEnd)).digest().copy(out, protoEnd);
    return out;
  }

  private reset(): void {
    this.partitionKeys.clear();
    this.explicitHashKeys.clear();
    this.pkIndexes = [];
    this.ehkIndexes = [];
    this.datas = [];
    this.bodySizes = [];
    this.protoBytes = 0;
    this.first = undefined;
    this.firstRawBytes = 0;
  }
}

/**
 * Aggregates `records` in order into as few Kinesis records as the limits allow. Everything given
 * is packed together regardless of shard: group records by shard first when the stream has more
 * than one (see {@link Aggregator}).
 */
export function aggregate(records: Iterable<UserRecord>, options?: AggregatorOptions): KinesisRecordOut[] {
  const aggregator = new Aggregator(options);
  const out: KinesisRecordOut[] = [];
  for (const record of records) {
    const finished = aggregator.add(record);
    if (finished !== undefined) out.push(finished);
  }
  const last = aggregator.flush();
  if (last !== undefined) out.push(last);
  return out;
}

/** Bytes a record counts toward the Kinesis limit when sent on its own. */
function rawBytes(record: UserRecord): number {
  return record.data.length + Buffer.byteLength(record.partitionKey, 'utf8');
}

function checkRecord(record: UserRecord): UserRecord {
  validatePartitionKey(record.partitionKey);
  validateExplicitHashKey(record.explicitHashKey);
  if (!(record.data instanceof Uint8Array)) {
    // Strings are welcome at the producer (which encodes them once); here data must be bytes.
    throw new InvalidRecordError('DATA_NOT_BYTES', `record data must be a Uint8Array or Buffer, got ${typeof record.data}`);
  }
  return record;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

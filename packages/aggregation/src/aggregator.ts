import { createHash } from './node-builtins';
import { ConfigError, InvalidRecordError, RecordTooLargeError } from '@shardline/common';
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
  encodeTags,
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
  /**
   * Key/value pairs written as the record's `tags` in an aggregate (the KPL format's field 4,
   * which the KCL and aws-kinesis-agg skip: other readers see the same data). Lost when the
   * record goes out alone, because a plain Kinesis record has no place for them. The producer
   * puts the W3C trace context here (`traceparent`, `tracestate`).
   */
  tags?: Readonly<Record<string, string>>;
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

const INITIAL_CAPACITY = 1024;
const TABLE_INITIAL_BYTES = 4096;
const TABLE_KEPT_BYTES = 256 * 1024;

/** The result of `measure`: where a record would go in the tables and what it would add. */
interface Measure {
  newPk: boolean;
  pkIndex: number;
  newEhk: boolean;
  ehkIndex: number;
  body: number;
  growth: number;
  /** The record's encoded tags, when it has any. */
  tags: Buffer | undefined;
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
  /** Key → table index. Insertion order is table order. */
  private readonly partitionKeys = new Map<string, number>();
  private readonly explicitHashKeys = new Map<string, number>();
  /**
   * The two key tables, encoded as each key first arrives (while its string is in cache) so the
   * emit copies each in one piece instead of walking the maps again.
   */
  private readonly pkTable = new EncodedTable(TAG_PK_TABLE);
  private readonly ehkTable = new EncodedTable(TAG_EHK_TABLE);
  /**
   * Per pending record: partition-key index, explicit-hash-key index (−1 for none) and body size,
   * in typed arrays reused from one aggregate to the next. Fresh JS arrays per aggregate cost a
   * measurable share of the 100 B benchmark in growth copies and GC.
   */
  private pkIndexes = new Int32Array(INITIAL_CAPACITY);
  private ehkIndexes = new Int32Array(INITIAL_CAPACITY);
  private bodySizes = new Float64Array(INITIAL_CAPACITY);
  private datas: (Uint8Array | undefined)[] = [];
  /** Encoded tags per pending record; stays empty (no cost) while no record has tags. */
  private tagBytes: (Buffer | undefined)[] = [];
  private tagged = false;
  private pending = 0;
  /** Bytes of the protobuf message built so far. */
  private protoBytes = 0;
  private first: UserRecord | undefined;
  private firstRawBytes = 0;
  private readonly scratch: Measure = {
    newPk: false,
    pkIndex: 0,
    newEhk: false,
    ehkIndex: -1,
    body: 0,
    growth: 0,
    tags: undefined,
  };

  constructor(options: AggregatorOptions = {}) {
    this.maxBytes = positiveInteger(options.maxBytes ?? DEFAULT_MAX_RECORD_BYTES, 'maxBytes');
    this.maxRecords = positiveInteger(
      options.maxRecords ?? DEFAULT_MAX_AGGREGATED_RECORDS,
      'maxRecords',
    );
    this.trusted = options.trustedInput === true;
  }

  /** User records pending. */
  get count(): number {
    return this.pending;
  }

  /** Exact data + partition key bytes the pending records would emit as now. */
  get sizeBytes(): number {
    const count = this.pending;
    if (count === 0) return 0;
    if (count === 1) return this.firstRawBytes;
    return AGGREGATE_OVERHEAD + this.protoBytes + AGGREGATE_PARTITION_KEY.length;
  }

  /** Exact emitted size if `record` were added now, without adding it. */
  sizeWith(record: UserRecord): number {
    if (this.pending === 0) return rawBytes(record);
    return (
      AGGREGATE_OVERHEAD +
      this.protoBytes +
      this.measure(record).growth +
      AGGREGATE_PARTITION_KEY.length
    );
  }

  /**
   * Adds a record. Returns the finished aggregate when this record does not fit beside the pending
   * ones; the record then starts the next aggregate. Throws `RecordTooLargeError` when the record
   * cannot fit even alone, and `InvalidRecordError` for a bad key or data.
   */
  add(record: UserRecord): KinesisRecordOut | undefined {
    const checked = this.trusted ? record : checkRecord(record);
    if (this.pending > 0) {
      const m = this.measure(checked);
      if (
        AGGREGATE_OVERHEAD + this.protoBytes + m.growth + AGGREGATE_PARTITION_KEY.length <=
          this.maxBytes &&
        this.pending < this.maxRecords
      ) {
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

  /**
   * Emits what is pending, or undefined if nothing is. A single pending record is emitted plain,
   * unless `singleAsAggregate` asks for a one-record aggregate (where a caller needs every record
   * in aggregate form under its own partition key, as the producer's Lambda lanes do) and that
   * fits within `maxBytes`.
   */
  flush(options?: { singleAsAggregate?: boolean }): KinesisRecordOut | undefined {
    const count = this.pending;
    if (count === 0) return undefined;
    const first = this.first!;
    let out: KinesisRecordOut;
    const plain =
      count === 1 &&
      !(
        options?.singleAsAggregate === true &&
        AGGREGATE_OVERHEAD + this.protoBytes + AGGREGATE_PARTITION_KEY.length <= this.maxBytes
      );
    if (plain) {
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
    m.pkIndex = pk === undefined ? this.partitionKeys.size : pk;
    let tables = pk === undefined ? this.pkTable.stage(record.partitionKey) : 0;
    m.newEhk = false;
    m.ehkIndex = -1;
    if (record.explicitHashKey !== undefined) {
      const ehk = this.explicitHashKeys.get(record.explicitHashKey);
      m.newEhk = ehk === undefined;
      m.ehkIndex = ehk === undefined ? this.explicitHashKeys.size : ehk;
      if (ehk === undefined) tables += this.ehkTable.stage(record.explicitHashKey);
    }
    m.body = recordBodySize(m.pkIndex, m.ehkIndex, record.data.length);
    m.tags = undefined;
    if (record.tags !== undefined) {
      const tags = encodeTags(record.tags);
      if (tags.length > 0) {
        m.tags = tags;
        m.body += tags.length;
      }
    }
    m.growth = tables + 1 + varintSize(m.body) + m.body;
    return m;
  }

  private commit(record: UserRecord, m: Measure): void {
    if (m.newPk) {
      this.partitionKeys.set(record.partitionKey, m.pkIndex);
      this.pkTable.commit();
    }
    if (m.newEhk) {
      this.explicitHashKeys.set(record.explicitHashKey!, m.ehkIndex);
      this.ehkTable.commit();
    }
    this.protoBytes += m.growth;
    const i = this.pending;
    if (i === this.pkIndexes.length) this.grow();
    this.pkIndexes[i] = m.pkIndex;
    this.ehkIndexes[i] = m.ehkIndex;
    this.bodySizes[i] = m.body;
    this.datas[i] = record.data;
    if (m.tags !== undefined) {
      if (!this.tagged) {
        this.tagged = true;
        this.tagBytes.length = 0;
      }
      this.tagBytes[i] = m.tags;
    } else if (this.tagged) this.tagBytes[i] = undefined;
    this.pending = i + 1;
  }

  private start(record: UserRecord): void {
    const raw = rawBytes(record);
    if (raw > this.maxBytes) throw new RecordTooLargeError(raw, this.maxBytes);
    this.first = record;
    this.firstRawBytes = raw;
    this.commit(record, this.measure(record));
  }

  private grow(): void {
    const capacity = this.pkIndexes.length * 2;
    const pk = new Int32Array(capacity);
    pk.set(this.pkIndexes);
    this.pkIndexes = pk;
    const ehk = new Int32Array(capacity);
    ehk.set(this.ehkIndexes);
    this.ehkIndexes = ehk;
    const body = new Float64Array(capacity);
    body.set(this.bodySizes);
    this.bodySizes = body;
  }

  /** Magic ‖ AggregatedRecord ‖ MD5(AggregatedRecord), in one exact allocation. */
  private encode(): Buffer {
    const protoEnd = KPL_MAGIC.length + this.protoBytes;
    const out = Buffer.allocUnsafe(protoEnd + 16);
    out.set(KPL_MAGIC, 0);
    let offset = KPL_MAGIC.length;
    offset = this.pkTable.copyTo(out, offset);
    offset = this.ehkTable.copyTo(out, offset);
    const count = this.pending;
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
      if (this.tagged) {
        const tags = this.tagBytes[i];
        if (tags !== undefined) {
          out.set(tags, offset);
          offset += tags.length;
        }
      }
    }
    if (offset !== protoEnd) {
      // Size accounting and encoding disagree: a bug, never bad input. Fail loudly.
      throw new Error(
        `aggregate size accounting is off: wrote ${offset - 4}, counted ${this.protoBytes}`,
      );
    }
    createHash('md5').update(out.subarray(KPL_MAGIC.length, protoEnd)).digest().copy(out, protoEnd);
    return out;
  }

  private reset(): void {
    this.partitionKeys.clear();
    this.explicitHashKeys.clear();
    this.pkTable.reset();
    this.ehkTable.reset();
    // Drop the data references (the arrays themselves are kept for the next aggregate).
    this.datas.fill(undefined, 0, this.pending);
    if (this.tagged) {
      this.tagBytes = [];
      this.tagged = false;
    }
    this.pending = 0;
    this.protoBytes = 0;
    this.first = undefined;
    this.firstRawBytes = 0;
  }
}

/**
 * One repeated string field of an `AggregatedRecord`, encoded as keys arrive. A new key is staged
 * (written past the committed end) when it is measured, so its UTF-8 size comes from the one
 * native write that also copies it, and committed if its record fits.
 */
class EncodedTable {
  private bytes: Buffer = Buffer.allocUnsafe(TABLE_INITIAL_BYTES);
  private length = 0;
  private staged = 0;

  constructor(private readonly tag: number) {}

  /** Writes `key` as a field after the committed end; returns the field's encoded size. */
  stage(key: string): number {
    // Up to 42 UTF-16 units, the key has at most 126 UTF-8 bytes: a one-byte length prefix, known
    // before the write. Longer keys are measured first.
    const shortKey = key.length <= 42;
    const keyBytes = shortKey ? 0 : Buffer.byteLength(key, 'utf8');
    const room = shortKey ? 2 + key.length * 3 : lengthDelimitedSize(keyBytes);
    if (this.length + room > this.bytes.length) this.grow(this.length + room);
    const out = this.bytes;
    out[this.length] = this.tag;
    let written: number;
    if (shortKey) {
      written = out.write(key, this.length + 2, 'utf8');
      out[this.length + 1] = written;
    } else {
      const at = writeVarint(out, this.length + 1, keyBytes);
      written = out.write(key, at, keyBytes, 'utf8');
    }
    this.staged = lengthDelimitedSize(written);
    return this.staged;
  }

  /** Keeps the key staged last. */
  commit(): void {
    this.length += this.staged;
  }

  /** Writes the table into `out` at `offset`; returns the offset after it. */
  copyTo(out: Uint8Array, offset: number): number {
    if (this.length > 0) out.set(this.bytes.subarray(0, this.length), offset);
    return offset + this.length;
  }

  reset(): void {
    this.length = 0;
    // A table grown by one huge aggregate is not kept for the (usually idle) rest of its life.
    if (this.bytes.length > TABLE_KEPT_BYTES) this.bytes = Buffer.allocUnsafe(TABLE_INITIAL_BYTES);
  }

  private grow(needed: number): void {
    const grown = Buffer.allocUnsafe(Math.max(needed, this.bytes.length * 2));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }
}

/**
 * Aggregates `records` in order into as few Kinesis records as the limits allow. Everything given
 * is packed together regardless of shard: group records by shard first when the stream has more
 * than one (see {@link Aggregator}).
 */
export function aggregate(
  records: Iterable<UserRecord>,
  options?: AggregatorOptions,
): KinesisRecordOut[] {
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
    throw new InvalidRecordError(
      'DATA_NOT_BYTES',
      `record data must be a Uint8Array or Buffer, got ${typeof record.data}`,
    );
  }
  return record;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

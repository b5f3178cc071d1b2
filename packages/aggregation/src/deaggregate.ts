import { createHash } from './node-builtins';
import { CorruptAggregateError } from '@shardline/common';
import { DIGEST_BYTES, KPL_MAGIC, WireError, WireReader, startsWith } from './wire';

/** A Kinesis record as read from a shard (GetRecords, SubscribeToShard, a Lambda event). */
export interface KinesisRecordIn {
  data: Uint8Array;
  partitionKey: string;
  sequenceNumber: string;
  explicitHashKey?: string;
  approximateArrivalTimestamp?: Date;
}

/** A user record recovered from a Kinesis record. */
export interface DeaggregatedRecord {
  partitionKey: string;
  explicitHashKey?: string;
  data: Uint8Array;
  /** Sequence number of the Kinesis record that carried it. */
  sequenceNumber: string;
  /** Position inside its aggregate, 0..n−1; 0 for a record that was not aggregated. */
  subSequenceNumber: number;
  /** True when it came out of a KPL aggregate. */
  aggregated: boolean;
  approximateArrivalTimestamp?: Date;
  /**
   * The record's `tags` from its aggregate (key → value; a tag without a value reads as `''`),
   * such as the W3C trace context the Shardline producer writes. Absent when it has none.
   */
  tags?: Record<string, string>;
}

/** How to treat records that carry the KPL magic but are not valid aggregates. */
export interface DeaggregateOptions {
  /**
   * Throw `CorruptAggregateError` instead of passing the record through. Default false: like the
   * KCL, a corrupt aggregate is delivered as one raw record, so nothing vanishes.
   */
  strict?: boolean;
  /** Called for every corrupt aggregate passed through raw (non-strict mode), to log or dead-letter it. */
  onCorrupt?: (error: CorruptAggregateError, record: KinesisRecordIn) => void;
}

/** True when `data` starts with the KPL aggregate magic. */
export function isAggregated(data: Uint8Array): boolean {
  return startsWith(data, KPL_MAGIC);
}

/**
 * The user records inside a Kinesis record: the aggregate's records numbered by sub-sequence
 * number, or the record itself when it carries no KPL magic.
 *
 * A record with the magic that fails a check (MD5 trailer, truncated or invalid protobuf, a key
 * index outside its table) is passed through as one raw record and reported to `onCorrupt`, or,
 * with `strict`, throws `CorruptAggregateError` naming the failed check.
 */
export function deaggregate(
  record: KinesisRecordIn,
  options?: DeaggregateOptions,
): DeaggregatedRecord[] {
  if (!isAggregated(record.data)) return [passThrough(record)];
  try {
    return decodeAggregate(record);
  } catch (cause) {
    const error = asCorrupt(cause, record.sequenceNumber);
    if (options?.strict) throw error;
    options?.onCorrupt?.(error, record);
    return [passThrough(record)];
  }
}

function passThrough(record: KinesisRecordIn): DeaggregatedRecord {
  const out: DeaggregatedRecord = {
    partitionKey: record.partitionKey,
    data: record.data,
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: 0,
    aggregated: false,
  };
  if (record.explicitHashKey !== undefined) out.explicitHashKey = record.explicitHashKey;
  if (record.approximateArrivalTimestamp !== undefined) {
    out.approximateArrivalTimestamp = record.approximateArrivalTimestamp;
  }
  return out;
}

function decodeAggregate(record: KinesisRecordIn): DeaggregatedRecord[] {
  const data = record.data;
  const buffer = Buffer.isBuffer(data)
    ? data
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const protoStart = KPL_MAGIC.length;
  const protoEnd = buffer.length - DIGEST_BYTES;
  if (protoEnd < protoStart) {
    throw new CorruptAggregateError(
      'truncated',
      'aggregate is shorter than its magic and MD5 trailer',
      record.sequenceNumber,
    );
  }
  const digest = createHash('md5').update(buffer.subarray(protoStart, protoEnd)).digest();
  if (digest.compare(buffer, protoEnd, buffer.length) !== 0) {
    throw new CorruptAggregateError(
      'md5',
      'aggregate MD5 trailer does not match its contents',
      record.sequenceNumber,
    );
  }

  const partitionKeys: string[] = [];
  const explicitHashKeys: string[] = [];
  const recordRanges: number[] = [];
  const reader = new WireReader(buffer, protoStart, protoEnd);
  while (reader.offset < protoEnd) {
    const tag = reader.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field >= 1 && field <= 3) {
      if (wireType !== 2)
        throw new WireError('protobuf', `field ${field} has wire type ${wireType}`);
      const [start, end] = reader.lengthDelimited();
      if (field === 1) partitionKeys.push(buffer.toString('utf8', start, end));
      else if (field === 2) explicitHashKeys.push(buffer.toString('latin1', start, end));
      else recordRanges.push(start, end);
    } else {
      reader.skip(wireType);
    }
  }

  const out: DeaggregatedRecord[] = new Array(recordRanges.length / 2);
  for (let i = 0, sub = 0; i < recordRanges.length; i += 2, sub++) {
    out[sub] = decodeRecord(
      buffer,
      recordRanges[i]!,
      recordRanges[i + 1]!,
      partitionKeys,
      explicitHashKeys,
      record,
      sub,
    );
  }
  return out;
}

function decodeRecord(
  buffer: Buffer,
  start: number,
  end: number,
  partitionKeys: string[],
  explicitHashKeys: string[],
  parent: KinesisRecordIn,
  subSequenceNumber: number,
): DeaggregatedRecord {
  const reader = new WireReader(buffer, start, end);
  let pkIndex = -1;
  let ehkIndex = -1;
  let dataStart = -1;
  let dataEnd = -1;
  let tags: Record<string, string> | undefined;
  while (reader.offset < end) {
    const tag = reader.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === 0) pkIndex = reader.varint();
    else if (field === 2 && wireType === 0) ehkIndex = reader.varint();
    else if (field === 3 && wireType === 2) [dataStart, dataEnd] = reader.lengthDelimited();
    else if (field === 4 && wireType === 2) {
      const [tagStart, tagEnd] = reader.lengthDelimited();
      tags ??= {};
      readTag(buffer, tagStart, tagEnd, tags);
    } else if (field >= 1 && field <= 4)
      throw new WireError('protobuf', `record field ${field} has wire type ${wireType}`);
    else reader.skip(wireType); // unknown fields
  }
  if (pkIndex < 0 || dataStart < 0) {
    throw new WireError('protobuf', `record ${subSequenceNumber} lacks a required field`);
  }
  const partitionKey = partitionKeys[pkIndex];
  if (partitionKey === undefined) {
    throw new CorruptAggregateError(
      'index',
      `record ${subSequenceNumber} names partition key ${pkIndex} of a table of ${partitionKeys.length}`,
      parent.sequenceNumber,
    );
  }
  const out: DeaggregatedRecord = {
    partitionKey,
    data: buffer.subarray(dataStart, dataEnd),
    sequenceNumber: parent.sequenceNumber,
    subSequenceNumber,
    aggregated: true,
  };
  if (ehkIndex >= 0) {
    const explicitHashKey = explicitHashKeys[ehkIndex];
    if (explicitHashKey === undefined) {
      throw new CorruptAggregateError(
        'index',
        `record ${subSequenceNumber} names explicit hash key ${ehkIndex} of a table of ${explicitHashKeys.length}`,
        parent.sequenceNumber,
      );
    }
    out.explicitHashKey = explicitHashKey;
  }
  if (parent.approximateArrivalTimestamp !== undefined) {
    out.approximateArrivalTimestamp = parent.approximateArrivalTimestamp;
  }
  if (tags !== undefined) out.tags = tags;
  return out;
}

/** One `Tag { required string key = 1; optional string value = 2; }` into `into`. */
function readTag(buffer: Buffer, start: number, end: number, into: Record<string, string>): void {
  const reader = new WireReader(buffer, start, end);
  let key: string | undefined;
  let value = '';
  while (reader.offset < end) {
    const tag = reader.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if ((field === 1 || field === 2) && wireType === 2) {
      const [s, e] = reader.lengthDelimited();
      if (field === 1) key = buffer.toString('utf8', s, e);
      else value = buffer.toString('utf8', s, e);
    } else if (field === 1 || field === 2)
      throw new WireError('protobuf', `tag field ${field} has wire type ${wireType}`);
    else reader.skip(wireType);
  }
  if (key === undefined) throw new WireError('protobuf', 'tag lacks its key');
  // A plain object keyed by arbitrary strings: define, never assign, so "__proto__" is a key.
  Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
}

function asCorrupt(cause: unknown, sequenceNumber: string): CorruptAggregateError {
  if (cause instanceof CorruptAggregateError) return cause;
  if (cause instanceof WireError)
    return new CorruptAggregateError(
      cause.kind,
      `aggregate protobuf is invalid: ${cause.message}`,
      sequenceNumber,
    );
  return new CorruptAggregateError(
    'protobuf',
    `aggregate could not be decoded: ${String(cause)}`,
    sequenceNumber,
  );
}

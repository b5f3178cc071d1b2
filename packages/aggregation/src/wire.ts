/**
 * The protobuf wire format of the KPL's `AggregatedRecord`, written and read by hand.
 *
 * Why not protobufjs on this path: the message has three fields and one nested type, and the
 * aggregator already knows every length before it writes (it tracks sizes to the byte), so a
 * single exact allocation and straight-line writes do the job. protobufjs' Writer builds a linked
 * list of operations per field and its Reader allocates a message object per record; measured
 * with `pnpm bench` the hand-written path is several times faster (figures in the README).
 * protobufjs keeps the schema (src/schema.ts) and cross-checks both directions in the tests.
 *
 *   AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2; repeated Record records = 3; }
 *   Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2; required bytes data = 3; repeated Tag tags = 4; }
 */

/** KPL aggregate magic, `F3 89 9A C2`. */
export const KPL_MAGIC = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);
/** Bytes of an MD5 digest, the aggregate's trailer. */
export const DIGEST_BYTES = 16;
/** Magic plus trailer: what an aggregate costs before any record. */
export const AGGREGATE_OVERHEAD = KPL_MAGIC.length + DIGEST_BYTES;

/** Field tags: (field number << 3) | wire type. */
export const TAG_PK_TABLE = 0x0a; // field 1, length-delimited
export const TAG_EHK_TABLE = 0x12; // field 2, length-delimited
export const TAG_RECORD = 0x1a; // field 3, length-delimited
export const TAG_R_PK_INDEX = 0x08; // Record field 1, varint
export const TAG_R_EHK_INDEX = 0x10; // Record field 2, varint
export const TAG_R_DATA = 0x1a; // Record field 3, length-delimited
export const TAG_R_TAG = 0x22; // Record field 4 (repeated Tag), length-delimited
export const TAG_TAG_KEY = 0x0a; // Tag field 1, length-delimited
export const TAG_TAG_VALUE = 0x12; // Tag field 2, length-delimited

/** True when `data` starts with `magic` (the KPL's, or the compression envelope's). */
export function startsWith(data: Uint8Array, magic: Uint8Array): boolean {
  if (data.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (data[i] !== magic[i]) return false;
  return true;
}

/** Bytes a non-negative integer (< 2^53) takes as a protobuf varint. */
export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  let size = 4;
  let rest = Math.floor(value / 0x10000000);
  while (rest > 0) {
    size++;
    rest = Math.floor(rest / 0x80);
  }
  return size;
}

/** Writes a varint at `offset`; returns the offset after it. */
export function writeVarint(buffer: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    buffer[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buffer[offset++] = value;
  return offset;
}

/** Bytes of a length-delimited field with a one-byte tag and `length` bytes of payload. */
export function lengthDelimitedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** Size of one encoded `Record` message body (without its own tag and length). */
export function recordBodySize(pkIndex: number, ehkIndex: number, dataLength: number): number {
  return (
    1 +
    varintSize(pkIndex) +
    (ehkIndex >= 0 ? 1 + varintSize(ehkIndex) : 0) +
    lengthDelimitedSize(dataLength)
  );
}

/**
 * A record's `tags` (field 4: `Tag { required string key = 1; optional string value = 2; }`),
 * encoded as the bytes that go inside its `Record` message, in insertion order. Built once per
 * tagged record when it is measured, so its size is exact and the encoder copies it in one piece.
 */
export function encodeTags(tags: Readonly<Record<string, string>>): Buffer {
  let size = 0;
  for (const key in tags) {
    const k = Buffer.byteLength(key, 'utf8');
    const v = Buffer.byteLength(tags[key]!, 'utf8');
    size += lengthDelimitedSize(lengthDelimitedSize(k) + lengthDelimitedSize(v));
  }
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const key in tags) {
    const value = tags[key]!;
    const k = Buffer.byteLength(key, 'utf8');
    const v = Buffer.byteLength(value, 'utf8');
    out[offset++] = TAG_R_TAG;
    offset = writeVarint(out, offset, lengthDelimitedSize(k) + lengthDelimitedSize(v));
    out[offset++] = TAG_TAG_KEY;
    offset = writeVarint(out, offset, k);
    offset += out.write(key, offset, 'utf8');
    out[offset++] = TAG_TAG_VALUE;
    offset = writeVarint(out, offset, v);
    offset += out.write(value, offset, 'utf8');
  }
  return out;
}

/** Thrown by the reader; deaggregate turns it into a CorruptAggregateError. */
export class WireError extends Error {
  constructor(
    readonly kind: 'truncated' | 'protobuf',
    message: string,
  ) {
    super(message);
  }
}

/** A cursor over protobuf bytes, bounds-checked at every step. */
export class WireReader {
  offset: number;

  constructor(
    readonly buffer: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.offset = start;
  }

  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) throw new WireError('truncated', 'varint runs past the end');
      const byte = this.buffer[this.offset++]!;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(result)) throw new WireError('protobuf', 'varint out of range');
        return result;
      }
      multiplier *= 0x80;
    }
    throw new WireError('protobuf', 'varint longer than 10 bytes');
  }

  /** Reads a length prefix and returns [start, end) of the payload. */
  lengthDelimited(): [number, number] {
    const length = this.varint();
    const start = this.offset;
    const end = start + length;
    if (end > this.end)
      throw new WireError('truncated', 'length-delimited field runs past the end');
    this.offset = end;
    return [start, end];
  }

  /** Skips an unknown field of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.lengthDelimited();
        return;
      case 5:
        this.advance(4);
        return;
      default:
        throw new WireError('protobuf', `unsupported wire type ${wireType}`);
    }
  }

  private advance(bytes: number): void {
    if (this.offset + bytes > this.end)
      throw new WireError('truncated', 'fixed field runs past the end');
    this.offset += bytes;
  }
}

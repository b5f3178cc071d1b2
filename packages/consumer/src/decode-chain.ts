import {
  CompressionError,
  CorruptAggregateError,
  ENVELOPE_MAGIC,
  MAX_HASH_KEY,
  deaggregate,
  partitionKeyDigest,
  decompress,
  type DeaggregatedRecord,
  type KinesisRecordIn,
} from '@shardline/aggregation';

/**
 * The one decode chain of the consumer and the Lambda adapter; each wraps its own record shapes
 * around it (record-decoder.ts, lambda/decode.ts). It loads nothing but @shardline/aggregation,
 * so the Lambda entry stays light.
 */

/** An aggregate whose user records do not all hash into the shard it was read from. */
export interface OutOfRange {
  /** User records in the aggregate. */
  records: number;
  /** Of those, how many hash outside the shard's range. */
  outside: number;
  /** True when the aggregate was dropped (`dropOutOfRange`), false when delivered. */
  dropped: boolean;
}

export interface ChainOptions {
  /** Largest uncompressed size of one envelope, in bytes; passed to `decompress`. */
  maxDecompressedBytes?: number | undefined;
  /** The shard's hash-key range, to find aggregates holding user records that hash outside it. */
  hashRange?: { start: bigint; end: bigint } | undefined;
  /** Drop such aggregates whole, as the KCL does, instead of delivering them (the default). */
  dropOutOfRange?: boolean | undefined;
  /** User records to leave out, such as those a checkpoint already covers. */
  skip?: ((user: DeaggregatedRecord) => boolean) | undefined;
}

/** Where the chain puts what it decoded, in delivery order. */
export interface ChainSink {
  /** A user record and its data, out of its envelope. */
  record(user: DeaggregatedRecord, data: Uint8Array): void;
  /**
   * Something that cannot be decoded: the whole Kinesis record (a corrupt aggregate, or an
   * envelope around the record that cannot be opened; `user` undefined), or one user record (an
   * envelope around it that cannot be opened; its siblings still flow).
   */
  poison(error: CorruptAggregateError | CompressionError, user?: DeaggregatedRecord): void;
}

/**
 * One Kinesis record → its user records, unwrapping in this order:
 *   1. a compression envelope around the whole record (a compressed aggregate) is opened;
 *   2. a KPL aggregate is split into its user records (sub-sequence numbers 0..n−1);
 *   3. an aggregate holding user records outside `hashRange` is reported, and dropped whole if
 *      `dropOutOfRange`;
 *   4. a compression envelope around each user record is opened.
 * Bad data never throws and is never dropped silently: it goes to `sink.poison`, and the caller
 * decides. Returns the out-of-range report of step 3, if any, for the caller to count.
 */
export function unwrapRecord(
  raw: KinesisRecordIn,
  options: ChainOptions,
  sink: ChainSink,
): OutOfRange | undefined {
  const limit =
    options.maxDecompressedBytes === undefined
      ? undefined
      : { maxBytes: options.maxDecompressedBytes };
  let users: DeaggregatedRecord[];
  try {
    const data = decompress(raw.data, limit);
    users = deaggregate(data === raw.data ? raw : { ...raw, data }, STRICT);
  } catch (error) {
    if (!(error instanceof CorruptAggregateError || error instanceof CompressionError)) throw error;
    sink.poison(error);
    return undefined;
  }
  let outOfRange: OutOfRange | undefined;
  const range = options.hashRange;
  // A plain record is always on the shard its key hashes to (Kinesis routed it); only an
  // aggregate, routed by one key for many records, can hold records of other shards.
  const outside = range && users[0]?.aggregated ? countOutside(users, range) : 0;
  if (outside > 0) {
    // Delivered by default: at-least-once allows the duplicate a KPL-style wrong-shard re-send
    // makes, never a loss, and aws-kinesis-agg writes every multi-key aggregate this way.
    // Dropping (the KCL's choice) de-duplicates that re-send but loses such writers' records.
    outOfRange = { records: users.length, outside, dropped: options.dropOutOfRange === true };
    if (outOfRange.dropped) return outOfRange;
  }
  const skip = options.skip;
  for (let i = 0; i < users.length; i++) {
    const user = users[i]!;
    if (skip !== undefined && skip(user)) continue;
    const data = user.data;
    // Most data carries no envelope: one byte rules it out before decompress is called.
    if (data[0] !== ENVELOPE_FIRST_BYTE) {
      sink.record(user, data);
      continue;
    }
    let opened: Uint8Array;
    try {
      opened = decompress(data, limit);
    } catch (error) {
      if (!(error instanceof CompressionError)) throw error;
      sink.poison(error, user);
      continue;
    }
    sink.record(user, opened);
  }
  return outOfRange;
}

const ENVELOPE_FIRST_BYTE = ENVELOPE_MAGIC[0];
const STRICT = { strict: true } as const;

/**
 * How many of an aggregate's user records hash outside `range`. It runs for every user record of
 * every aggregate, so it avoids what it can: keys repeated back to back are judged once, an
 * explicit hash key is compared as a decimal string (no BigInt), and a partition key's MD5 digest
 * as bytes against the range's bounds (no BigInt either).
 */
function countOutside(users: readonly DeaggregatedRecord[], range: HashRange): number {
  const bounds = boundsOf(range);
  if (bounds.all) return 0;
  if (bounds.none) return users.length;
  let outside = 0;
  let lastKey: string | undefined;
  let lastEhk: string | undefined;
  let lastOutside = false;
  for (const u of users) {
    const ehk = u.explicitHashKey;
    if (u.partitionKey !== lastKey || ehk !== lastEhk) {
      lastKey = u.partitionKey;
      lastEhk = ehk;
      lastOutside =
        ehk === undefined
          ? digestOutside(u.partitionKey, bounds)
          : decimalOutside(ehk, bounds, range);
    }
    if (lastOutside) outside++;
  }
  return outside;
}

type HashRange = { start: bigint; end: bigint };

interface Bounds {
  /** The range is the whole hash-key space: nothing can be outside it. */
  all: boolean;
  /** The range holds no hash key at all: everything is outside it. */
  none: boolean;
  startDecimal: string;
  endDecimal: string;
  startBytes: Buffer;
  endBytes: Buffer;
}

// One shard's range object is passed on every batch: its bounds are worked out once.
const boundsCache = new WeakMap<HashRange, Bounds>();

function boundsOf(range: HashRange): Bounds {
  let bounds = boundsCache.get(range);
  if (!bounds) {
    bounds = {
      all: range.start <= 0n && range.end >= MAX_HASH_KEY,
      none: range.start > range.end || range.start > MAX_HASH_KEY || range.end < 0n,
      // Hash keys are never negative, so a negative start compares as 0 does.
      startDecimal: (range.start < 0n ? 0n : range.start).toString(),
      endDecimal: range.end.toString(),
      startBytes: bytes128(range.start),
      endBytes: bytes128(range.end),
    };
    boundsCache.set(range, bounds);
  }
  return bounds;
}

/**
 * A bound as 16 big-endian bytes, to compare with an MD5 digest (always 0..2^128−1, so clamping
 * a bound into that space changes no answer once `none` is ruled out).
 */
function bytes128(value: bigint): Buffer {
  const clamped = value < 0n ? 0n : value > MAX_HASH_KEY ? MAX_HASH_KEY : value;
  const out = Buffer.alloc(16);
  out.writeBigUInt64BE(clamped >> 64n, 0);
  out.writeBigUInt64BE(clamped & 0xffffffffffffffffn, 8);
  return out;
}

function digestOutside(partitionKey: string, bounds: Bounds): boolean {
  const digest = partitionKeyDigest(partitionKey);
  return digest.compare(bounds.startBytes) < 0 || digest.compare(bounds.endBytes) > 0;
}

/**
 * A key of digits with no leading zero orders by length, then character by character, which is
 * how it compares as a number, without parsing it. A key that starts otherwise (a leading zero,
 * a sign, a space, `0x`) goes through BigInt, as before. One that starts with a digit but holds
 * other characters later, which BigInt refuses, is judged by the same comparison instead of
 * throwing out of the decode (which stopped the shard); checking every character first costs as
 * much as BigInt itself, on every record.
 */
function decimalOutside(ehk: string, bounds: Bounds, range: HashRange): boolean {
  const first = ehk.charCodeAt(0);
  if (first >= 49 && first <= 57) {
    return (
      compareDecimal(ehk, bounds.startDecimal) < 0 || compareDecimal(ehk, bounds.endDecimal) > 0
    );
  }
  const h = BigInt(ehk);
  return h < range.start || h > range.end;
}

/** Compares two non-negative decimals without leading zeros. */
function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

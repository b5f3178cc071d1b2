import {
  CompressionError,
  CorruptAggregateError,
  deaggregate,
  decompress,
  hashKeyOf,
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
    users = deaggregate({ ...raw, data: decompress(raw.data, limit) }, { strict: true });
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
  for (const user of users) {
    if (options.skip?.(user)) continue;
    let data: Uint8Array;
    try {
      data = decompress(user.data, limit);
    } catch (error) {
      if (!(error instanceof CompressionError)) throw error;
      sink.poison(error, user);
      continue;
    }
    sink.record(user, data);
  }
  return outOfRange;
}

function countOutside(
  users: readonly { partitionKey: string; explicitHashKey?: string }[],
  range: { start: bigint; end: bigint },
): number {
  let outside = 0;
  for (const u of users) {
    const h = hashKeyOf(u);
    if (h < range.start || h > range.end) outside++;
  }
  return outside;
}

import {
  CompressionError,
  CorruptAggregateError,
  deaggregate,
  decompress,
} from '@shardline/aggregation';
import { PoisonRecordError } from '../errors';
import type { KinesisEventRecord, KinesisUserRecord, PoisonRecord } from './types';

/** One decoded item of a shard, in delivery order: a user record, or a part that cannot be decoded. */
export type DecodedItem =
  | { kind: 'record'; record: KinesisUserRecord }
  | { kind: 'poison'; error: PoisonRecordError; record: PoisonRecord };

/** Options of {@link decodeEventRecord}. */
export interface DecodeOptions {
  /** Largest uncompressed size of one envelope, in bytes; passed to `decompress`. */
  maxDecompressedBytes?: number;
}

/**
 * One event record → its user records, unwrapping in this order:
 *   1. base64 → bytes;
 *   2. a compression envelope around the whole record (a compressed aggregate) is opened;
 *   3. a KPL aggregate is split into its user records (sub-sequence numbers 0..n−1);
 *   4. a compression envelope around each user record is opened.
 * A corrupt aggregate or an envelope that cannot be opened (step 2) poisons the whole Kinesis
 * record; a bad envelope at step 4 poisons that user record only, and its siblings still flow.
 * Never throws for bad data: it is returned as a poison item so the caller decides.
 * Every user record of an aggregate is delivered, whichever shard its key hashes to: aws-kinesis-agg
 * puts records of many shards in one aggregate, and the consumer delivers them too by default
 * (its `dropOutOfRangeAggregates`; an event names no shard hash range to check against anyway).
 */
export function decodeEventRecord(
  event: KinesisEventRecord,
  shardId: string,
  options: DecodeOptions = {},
): DecodedItem[] {
  const k = event.kinesis;
  const raw = Buffer.from(k.data, 'base64');
  const arrival = new Date(k.approximateArrivalTimestamp * 1000);
  const base = {
    shardId,
    eventSourceARN: event.eventSourceARN,
    eventID: event.eventID,
    sequenceNumber: k.sequenceNumber,
    approximateArrivalTimestamp: arrival,
  };
  const limit =
    options.maxDecompressedBytes === undefined
      ? undefined
      : { maxBytes: options.maxDecompressedBytes };

  let users;
  try {
    const opened = decompress(raw, limit);
    users = deaggregate(
      { data: opened, partitionKey: k.partitionKey, sequenceNumber: k.sequenceNumber },
      { strict: true },
    );
  } catch (error) {
    if (!(error instanceof CorruptAggregateError || error instanceof CompressionError)) throw error;
    return [
      {
        kind: 'poison',
        error: new PoisonRecordError(shardId, k.sequenceNumber, error),
        record: { ...base, partitionKey: k.partitionKey, data: raw },
      },
    ];
  }

  const out: DecodedItem[] = new Array(users.length);
  for (let i = 0; i < users.length; i++) {
    const user = users[i]!;
    let data: Uint8Array;
    try {
      data = decompress(user.data, limit);
    } catch (error) {
      if (!(error instanceof CompressionError)) throw error;
      out[i] = {
        kind: 'poison',
        error: new PoisonRecordError(shardId, k.sequenceNumber, error),
        record: {
          ...base,
          subSequenceNumber: user.subSequenceNumber,
          partitionKey: user.partitionKey,
          data: asBuffer(user.data),
        },
      };
      continue;
    }
    const record: KinesisUserRecord = {
      data: asBuffer(data),
      partitionKey: user.partitionKey,
      sequenceNumber: k.sequenceNumber,
      subSequenceNumber: user.subSequenceNumber,
      aggregated: user.aggregated,
      approximateArrivalTimestamp: arrival,
      shardId,
      eventSourceARN: event.eventSourceARN,
      eventID: event.eventID,
    };
    if (user.explicitHashKey !== undefined) record.explicitHashKey = user.explicitHashKey;
    out[i] = { kind: 'record', record };
  }
  return out;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

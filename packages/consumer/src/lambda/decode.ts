import { unwrapRecord } from '../decode-chain';
import { PoisonRecordError } from '../errors';
import { traceContextOf } from './trace-context';
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
 * One event record → its user records: base64 → bytes, then the decode chain the consumer uses
 * (decode-chain.ts: envelope around the record, KPL aggregate, envelope around each user record).
 * A corrupt aggregate or an envelope around the record that cannot be opened poisons the whole
 * Kinesis record; a bad envelope around one user record poisons that user record only, and its
 * siblings still flow. Never throws for bad data: it is returned as a poison item so the caller
 * decides. Every user record of an aggregate is delivered, whichever shard its key hashes to:
 * aws-kinesis-agg puts records of many shards in one aggregate, and the consumer delivers them
 * too by default (its `dropOutOfRangeAggregates`; an event names no shard hash range to check
 * against anyway, so no range is given to the chain).
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
  const out: DecodedItem[] = [];
  unwrapRecord(
    { data: raw, partitionKey: k.partitionKey, sequenceNumber: k.sequenceNumber },
    { maxDecompressedBytes: options.maxDecompressedBytes },
    {
      record(user, data) {
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
        if (user.tags !== undefined) {
          const traceContext = traceContextOf(user.tags);
          if (traceContext) record.traceContext = traceContext;
        }
        out.push({ kind: 'record', record });
      },
      poison(error, user) {
        out.push({
          kind: 'poison',
          error: new PoisonRecordError(shardId, k.sequenceNumber, error),
          record: user
            ? {
                ...base,
                subSequenceNumber: user.subSequenceNumber,
                partitionKey: user.partitionKey,
                data: asBuffer(user.data),
              }
            : { ...base, partitionKey: k.partitionKey, data: raw },
        });
      },
    },
  );
  return out;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

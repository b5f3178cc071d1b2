import type { _Record as SdkRecord } from '@aws-sdk/client-kinesis';
import type { RawKinesisRecord } from './types';

/**
 * A record as GetRecords and SubscribeToShard both return it, in the shape the decoder takes.
 * Missing data or key become empty rather than undefined, so a malformed answer reaches the
 * decoder's typed errors instead of a TypeError.
 */
export function toRawRecord(r: SdkRecord): RawKinesisRecord {
  const record: RawKinesisRecord = {
    data: r.Data ?? new Uint8Array(0),
    partitionKey: r.PartitionKey ?? '',
    sequenceNumber: r.SequenceNumber!,
  };
  if (r.ApproximateArrivalTimestamp)
    record.approximateArrivalTimestamp = r.ApproximateArrivalTimestamp;
  if (r.EncryptionType) record.encryptionType = r.EncryptionType;
  return record;
}

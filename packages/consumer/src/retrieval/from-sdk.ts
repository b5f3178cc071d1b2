import type { ChildShard, _Record as SdkRecord } from '@aws-sdk/client-kinesis';
import type { ChildShardInfo, RawKinesisRecord } from './types';

/**
 * What GetRecords and SubscribeToShard both return, in the shapes the shard worker takes.
 */

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

/** A child shard, as a closed shard's last GetRecords answer or fan-out event names it. */
export function toChildShard(c: ChildShard): ChildShardInfo {
  return {
    shardId: c.ShardId!,
    parentShards: c.ParentShards ?? [],
    ...(c.HashKeyRange
      ? {
          hashKeyRange: {
            startingHashKey: c.HashKeyRange.StartingHashKey!,
            endingHashKey: c.HashKeyRange.EndingHashKey!,
          },
        }
      : {}),
  };
}

import type { Lease } from '../leases/lease';
import { multiStreamLeaseKey, parseMultiStreamLeaseKey } from './stream-identifier';

/**
 * Pure: multi-stream leases and their per-stream views. A multi-stream lease (the KCL's
 * `MultiStreamLease`) is keyed `<stream identifier>:<shardId>`, while its `parentShardId` and
 * `childShardIds` hold bare shard ids of the same stream (`HierarchicalShardSyncer`
 * `newKCLMultiStreamLease`; `BlockOnParentShardTask` and `ShutdownTask` prefix them with
 * `ShardInfo.getLeaseKey`). Viewed with the shard id as its key, a stream's leases are exactly a
 * single-stream table's, so shard sync and lease cleanup run on views unchanged.
 */

/** The stream a lease belongs to: its `streamName` attribute, else its key; undefined for a single-stream lease. */
export function streamIdOfLease(lease: Lease): string | undefined {
  return lease.streamIdentifier ?? parseMultiStreamLeaseKey(lease.leaseKey)?.streamIdentifier;
}

/** The bare shard id of a lease of either kind. */
export function shardIdOfLease(lease: Lease): string {
  return lease.shardId ?? parseMultiStreamLeaseKey(lease.leaseKey)?.shardId ?? lease.leaseKey;
}

/** A stream's lease keyed by its shard id, as shard sync and cleanup see single-stream leases. */
export function shardView(lease: Lease): Lease {
  return { ...lease, leaseKey: shardIdOfLease(lease) };
}

/** A lease made for a shard of `streamId` (keyed by shard id) as it is stored: the KCL's multi-stream form. */
export function toMultiStreamLease(lease: Lease, streamId: string): Lease {
  return {
    ...lease,
    leaseKey: multiStreamLeaseKey(streamId, lease.leaseKey),
    streamIdentifier: streamId,
    shardId: lease.leaseKey,
  };
}

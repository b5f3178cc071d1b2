import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * A lease on one shard, as stored in the lease table. Attribute names are the KCL's where the
 * concept is the same, so an operator who knows the KCL can read the table.
 */
export interface Lease {
  /** The shard id. */
  leaseKey: string;
  /** Worker that holds (or, during a hand-off, is taking over) the lease; undefined when free. */
  leaseOwner: string | undefined;
  /** Incremented by every renewal and every change of hands: the fencing token. */
  leaseCounter: number;
  /** Sequence number, or TRIM_HORIZON / LATEST / AT_TIMESTAMP / SHARD_END. */
  checkpoint: string;
  checkpointSubSequenceNumber: number;
  ownerSwitchesSinceCheckpoint: number;
  parentShardIds: string[];
  childShardIds: string[];
  startingHashKey: string | undefined;
  endingHashKey: string | undefined;
  /**
   * Set during a graceful hand-off (KCL 3): the previous owner, which must checkpoint and clear it
   * before the new owner (`leaseOwner`) starts reading.
   */
  checkpointOwner: string | undefined;
}

export function leaseFromItem(item: Record<string, AttributeValue>): Lease {
  return {
    leaseKey: item.leaseKey?.S ?? '',
    leaseOwner: item.leaseOwner?.S,
    leaseCounter: Number(item.leaseCounter?.N ?? 0),
    checkpoint: item.checkpoint?.S ?? 'TRIM_HORIZON',
    checkpointSubSequenceNumber: Number(item.checkpointSubSequenceNumber?.N ?? 0),
    ownerSwitchesSinceCheckpoint: Number(item.ownerSwitchesSinceCheckpoint?.N ?? 0),
    parentShardIds: item.parentShardIds?.SS ?? [],
    childShardIds: item.childShardIds?.SS ?? [],
    startingHashKey: item.startingHashKey?.S,
    endingHashKey: item.endingHashKey?.S,
    checkpointOwner: item.checkpointOwner?.S,
  };
}

export function leaseToItem(lease: Lease): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    leaseKey: { S: lease.leaseKey },
    leaseCounter: { N: String(lease.leaseCounter) },
    checkpoint: { S: lease.checkpoint },
    checkpointSubSequenceNumber: { N: String(lease.checkpointSubSequenceNumber) },
    ownerSwitchesSinceCheckpoint: { N: String(lease.ownerSwitchesSinceCheckpoint) },
  };
  if (lease.leaseOwner) item.leaseOwner = { S: lease.leaseOwner };
  if (lease.parentShardIds.length > 0) item.parentShardIds = { SS: lease.parentShardIds };
  if (lease.childShardIds.length > 0) item.childShardIds = { SS: lease.childShardIds };
  if (lease.startingHashKey) item.startingHashKey = { S: lease.startingHashKey };
  if (lease.endingHashKey) item.endingHashKey = { S: lease.endingHashKey };
  if (lease.checkpointOwner) item.checkpointOwner = { S: lease.checkpointOwner };
  return item;
}

/** True once the shard has been read to its end and checkpointed there. */
export function isFinished(lease: Lease): boolean {
  return lease.checkpoint === 'SHARD_END';
}

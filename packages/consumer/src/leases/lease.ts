import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { parseRenewalStamp, RENEWAL_STAMP_ATTRIBUTE, type RenewalStamp } from './renewal-stamp';
import { WAKE_ATTRIBUTE } from './wake-hints';

/**
 * A lease on one shard, as stored in the lease table. Attribute names are the KCL's
 * (`DynamoDBLeaseSerializer`), so KCL workers and Shardline workers read each other's leases.
 */
export interface Lease {
  /** The shard id; in a multi-stream table `account:stream:creationEpoch:shardId` (the KCL's `MultiStreamLease`). */
  leaseKey: string;
  /** Worker that holds (or, during a hand-off, is taking over) the lease; undefined when free. */
  leaseOwner: string | undefined;
  /** Incremented by every renewal and every change of hands: the fencing token. */
  leaseCounter: number;
  /** Sequence number, or TRIM_HORIZON / LATEST / AT_TIMESTAMP / SHARD_END. */
  checkpoint: string;
  checkpointSubSequenceNumber: number;
  ownerSwitchesSinceCheckpoint: number;
  /** Stored as the KCL's `parentShardId` string set (read from `parentShardIds` too, see below). */
  parentShardIds: string[];
  childShardIds: string[];
  startingHashKey: string | undefined;
  endingHashKey: string | undefined;
  /**
   * Set during a graceful hand-off (KCL 3): the previous owner, which must checkpoint and clear it
   * before the new owner (`leaseOwner`) starts reading.
   */
  checkpointOwner: string | undefined;
  /**
   * Multi-stream tables only: the serialized stream identifier (`account:stream:creationEpoch`),
   * stored, as `DynamoDBMultiStreamLeaseSerializer` does, under the attribute `streamName`.
   */
  streamIdentifier?: string;
  /** Multi-stream tables only: the shard id alone (attribute `shardId`). */
  shardId?: string;
  /**
   * Shardline's renewal stamp (`shardlineRenewedAt`): the owner's clock at its last renewal or
   * take, and the counter it wrote; lets one look tell an expired lease (`renewal-stamp.ts`).
   */
  renewalStamp?: RenewalStamp;
  /** Last wake-up hint written on the lease (`shardlineWake`, epoch ms; `wake-hints.ts`). */
  wakeAt?: number;
}

/** The KCL's `entityType` of a lease item (`EntityType.LEASE`). */
export const LEASE_ENTITY_TYPE = 'LEASE';

/**
 * True for an item that is a lease. KCL 3.5 keeps other entities in the lease table (worker
 * metrics, the `Leader` lock, the `Migration3.0` and `TableMigration3.5` states), each with an
 * `entityType`; an item without one is a lease, as in `DynamoDBLeaseSerializer.fromDynamoRecord`.
 */
export function isLeaseItem(item: Record<string, AttributeValue>): boolean {
  const type = item.entityType?.S;
  return type === undefined || type === LEASE_ENTITY_TYPE;
}

export function leaseFromItem(item: Record<string, AttributeValue>): Lease {
  return {
    leaseKey: item.leaseKey?.S ?? '',
    leaseOwner: item.leaseOwner?.S,
    leaseCounter: Number(item.leaseCounter?.N ?? 0),
    checkpoint: item.checkpoint?.S ?? 'TRIM_HORIZON',
    checkpointSubSequenceNumber: Number(item.checkpointSubSequenceNumber?.N ?? 0),
    ownerSwitchesSinceCheckpoint: Number(item.ownerSwitchesSinceCheckpoint?.N ?? 0),
    // The KCL writes `parentShardId`; Shardline up to 0.1 wrote `parentShardIds`. Read both, so a
    // child of either kind of lease waits for its parents.
    parentShardIds: [
      ...new Set([...(item.parentShardId?.SS ?? []), ...(item.parentShardIds?.SS ?? [])]),
    ],
    childShardIds: item.childShardIds?.SS ?? [],
    startingHashKey: item.startingHashKey?.S,
    endingHashKey: item.endingHashKey?.S,
    checkpointOwner: item.checkpointOwner?.S,
    ...(item.streamName?.S !== undefined ? { streamIdentifier: item.streamName.S } : {}),
    ...(item.shardId?.S !== undefined ? { shardId: item.shardId.S } : {}),
    ...stampAndHint(item),
  };
}

/**
 * The item `DynamoDBLeaseSerializer.toDynamoRecord` (KCL 3.5) would write for this lease, types
 * included, so a KCL worker can deserialize every lease Shardline creates. Parents go under the
 * KCL's `parentShardId`, and also under `parentShardIds` so Shardline workers of earlier versions
 * still in the fleet during an upgrade see them (the KCL ignores attributes it does not know).
 */
export function leaseToItem(lease: Lease): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    leaseKey: { S: lease.leaseKey },
    leaseCounter: { N: String(lease.leaseCounter) },
    checkpoint: { S: lease.checkpoint },
    checkpointSubSequenceNumber: { N: String(lease.checkpointSubSequenceNumber) },
    ownerSwitchesSinceCheckpoint: { N: String(lease.ownerSwitchesSinceCheckpoint) },
    entityType: { S: LEASE_ENTITY_TYPE },
  };
  if (lease.leaseOwner) item.leaseOwner = { S: lease.leaseOwner };
  if (lease.parentShardIds.length > 0) {
    item.parentShardId = { SS: lease.parentShardIds };
    item.parentShardIds = { SS: lease.parentShardIds };
  }
  if (lease.childShardIds.length > 0) item.childShardIds = { SS: lease.childShardIds };
  if (lease.startingHashKey) item.startingHashKey = { S: lease.startingHashKey };
  if (lease.endingHashKey) item.endingHashKey = { S: lease.endingHashKey };
  if (lease.checkpointOwner) item.checkpointOwner = { S: lease.checkpointOwner };
  // `DynamoDBMultiStreamLeaseSerializer.toDynamoRecord`: the stream id under `streamName`.
  if (lease.streamIdentifier !== undefined) item.streamName = { S: lease.streamIdentifier };
  if (lease.shardId !== undefined) item.shardId = { S: lease.shardId };
  return item;
}

/** Shardline's own attributes (renewal stamp, wake-up hint), when the item has them. */
function stampAndHint(
  item: Record<string, AttributeValue>,
): Pick<Lease, 'renewalStamp' | 'wakeAt'> {
  const stamp = parseRenewalStamp(item[RENEWAL_STAMP_ATTRIBUTE]?.S);
  const wake = item[WAKE_ATTRIBUTE]?.N;
  return {
    ...(stamp ? { renewalStamp: stamp } : {}),
    ...(wake !== undefined ? { wakeAt: Number(wake) } : {}),
  };
}

/** True once the shard has been read to its end and checkpointed there. */
export function isFinished(lease: Lease): boolean {
  return lease.checkpoint === 'SHARD_END';
}

/**
 * Not finished and no hand-off pending: its owner, if any, goes on renewing it as it is (the
 * leases a wake-up hint, a probe or a stampless owner's judgement can go by).
 */
export function isSteadilyHeld(lease: Lease): boolean {
  return lease.checkpointOwner === undefined && !isFinished(lease);
}

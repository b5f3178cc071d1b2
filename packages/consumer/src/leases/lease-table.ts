import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { LeaseTableError } from '../errors';
import { isLeaseItem, LEASE_ENTITY_TYPE, leaseFromItem, leaseToItem, type Lease } from './lease';
import { formatRenewalStamp, RENEWAL_STAMP_ATTRIBUTE } from './renewal-stamp';
import { WAKE_ATTRIBUTE } from './wake-hints';

/** A conditional write that lost: somebody else changed the lease first. */
export class LeaseConflict extends Error {
  constructor(
    readonly leaseKey: string,
    readonly operation: string,
  ) {
    super(`${operation} of lease ${leaseKey} lost a conditional check`);
  }
}

/**
 * The lease table's I/O. Every write is conditional on what the caller last read (`leaseCounter`
 * and/or `leaseOwner`): the fencing is in the data, not in timing assumptions. A failed condition
 * comes back as `LeaseConflict`, never as a silent overwrite.
 */
export class LeaseTable {
  /**
   * Whether the table has KCL 3's `LeaseOwnerToLeaseKeyIndex` (known after `ensure()`): created
   * with every new table; tables of older Shardline versions and of KCL 2.x have none and work
   * the same (nothing Shardline does needs it; see "Lease table cost" in the README).
   */
  ownerIndex: 'ACTIVE' | 'CREATING' | 'absent' | 'unknown' = 'unknown';

  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private opts() {
    return { abortSignal: AbortSignal.timeout(this.timeoutMs) };
  }

  /**
   * Creates the table (on-demand, hash key `leaseKey`, with KCL 3's `LeaseOwnerToLeaseKeyIndex`)
   * if absent; refuses one with another key schema. An existing table is used as it is: no index
   * is added to it (that would need `UpdateTable` rights and change a table KCL workers share).
   */
  async ensure(): Promise<void> {
    try {
      const out = await this.client.send(
        new DescribeTableCommand({ TableName: this.tableName }),
        this.opts(),
      );
      this.checkSchema(out.Table?.KeySchema);
      this.noteOwnerIndex(out.Table?.GlobalSecondaryIndexes);
      if (out.Table?.TableStatus === 'ACTIVE') return;
    } catch (error) {
      if (
        !(error instanceof ResourceNotFoundException) &&
        (error as Error).name !== 'ResourceNotFoundException'
      )
        throw error;
      try {
        await this.client.send(
          new CreateTableCommand({
            TableName: this.tableName,
            AttributeDefinitions: [
              { AttributeName: 'leaseKey', AttributeType: 'S' },
              { AttributeName: 'leaseOwner', AttributeType: 'S' },
            ],
            KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
            GlobalSecondaryIndexes: [OWNER_INDEX],
          }),
          this.opts(),
        );
      } catch (createError) {
        // Another worker created it first: fine.
        if ((createError as Error).name !== 'ResourceInUseException') throw createError;
      }
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      const out = await this.client.send(
        new DescribeTableCommand({ TableName: this.tableName }),
        this.opts(),
      );
      this.checkSchema(out.Table?.KeySchema);
      this.noteOwnerIndex(out.Table?.GlobalSecondaryIndexes);
      if (out.Table?.TableStatus === 'ACTIVE') return;
      if (Date.now() > deadline)
        throw new LeaseTableError(
          `lease table ${this.tableName} did not become ACTIVE within 60 s`,
        );
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  private noteOwnerIndex(
    indexes: { IndexName?: string; IndexStatus?: string }[] | undefined,
  ): void {
    const index = indexes?.find((i) => i.IndexName === OWNER_INDEX_NAME);
    this.ownerIndex =
      index === undefined ? 'absent' : index.IndexStatus === 'ACTIVE' ? 'ACTIVE' : 'CREATING';
  }

  private checkSchema(schema: { AttributeName?: string; KeyType?: string }[] | undefined): void {
    const ok =
      schema?.length === 1 &&
      schema[0]!.AttributeName === 'leaseKey' &&
      schema[0]!.KeyType === 'HASH';
    if (!ok) {
      throw new LeaseTableError(
        `table ${this.tableName} exists with key schema ${JSON.stringify(schema)}; a lease table needs a single HASH key named leaseKey`,
      );
    }
  }

  /**
   * Every item of the table, leases and KCL 3.5 entities alike (the start-up checks look at the
   * latter); `list()` is what lease handling uses.
   */
  async scanItems(options: ScanOptions = {}): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: options.consistent ?? true,
          ...(options.leasesOnly
            ? { ProjectionExpression: LEASE_PROJECTION, ExpressionAttributeNames: LEASE_NAMES }
            : {}),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
        this.opts(),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * The leases. Items of another `entityType` (KCL 3.5 worker metrics, leader lock, migration
   * states) are skipped, as `DynamoDBLeaseRefresher.list` skips what `fromDynamoRecord` returns
   * null for: they are never taken, balanced or written.
   */
  async list(options: { consistent?: boolean } = {}): Promise<Lease[]> {
    return (await this.scanItems({ ...options, leasesOnly: true }))
      .filter(isLeaseItem)
      .map(leaseFromItem);
  }

  /**
   * Deletes a lease, conditional on what the caller decided on (`LeaseConflict` otherwise): a
   * finished one only while it is still at `SHARD_END`, any other only while its checkpoint is
   * the one seen (nobody has made progress on it since). `DynamoDBLeaseRefresher.deleteLease`
   * deletes unconditionally; the condition keeps a worker acting on a stale scan harmless.
   */
  async delete(lease: Lease): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { leaseKey: s(lease.leaseKey) },
          ConditionExpression: `attribute_exists(leaseKey) AND checkpoint = :cp AND ${IS_LEASE}`,
          ExpressionAttributeValues: { ':cp': s(lease.checkpoint), ':lease': s(LEASE_ENTITY_TYPE) },
        }),
        this.opts(),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new LeaseConflict(lease.leaseKey, 'delete');
      throw error;
    }
  }

  /** Creates a lease unless one exists; returns false if it did. */
  async create(lease: Lease): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: leaseToItem(lease),
          ConditionExpression: 'attribute_not_exists(leaseKey)',
        }),
        this.opts(),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Renews a held lease (counter + 1). Like `DynamoDBLeaseRefresher.renewLease` (KCL 3) it goes on
   * succeeding while this worker is the `checkpointOwner` of a hand-off it was asked for, so the
   * lease stays alive (not expired, not taken by a third worker) until the hand-off completes. The
   * lease as now stored comes back: `checkpointOwner === owner` with another `leaseOwner` is how
   * the owner learns of a hand-off request, which leaves the counter alone. It also writes the
   * renewal stamp (`at`, this worker's clock, with the new counter; `renewal-stamp.ts`) and returns
   * any wake-up hint left on the lease (`wake-hints.ts`).
   */
  async renew(lease: Lease, owner: string, at: number = Date.now()): Promise<Lease> {
    return this.update(lease.leaseKey, 'renew', {
      update: `SET leaseCounter = leaseCounter + :one, ${RENEWAL_STAMP_ATTRIBUTE} = :stamp`,
      condition:
        'leaseCounter = :counter AND ((leaseOwner = :owner AND attribute_not_exists(checkpointOwner)) OR checkpointOwner = :owner)',
      values: {
        ':one': n(1),
        ':counter': n(lease.leaseCounter),
        ':owner': s(owner),
        ':stamp': s(formatRenewalStamp(lease.leaseCounter + 1, at)),
      },
    });
  }

  /**
   * Takes a free or expired lease, conditional on the counter this worker last saw, and clears a
   * pending hand-off: `DynamoDBLeaseRefresher.takeLease` with `getDynamoTakeLeaseUpdate`. Stamped
   * as a renewal is (`at`).
   */
  async take(lease: Lease, owner: string, at: number = Date.now()): Promise<Lease> {
    const switched = lease.leaseOwner !== owner || lease.checkpointOwner !== undefined;
    return this.update(lease.leaseKey, 'take', {
      update: `SET leaseOwner = :owner, leaseCounter = leaseCounter + :one, ${RENEWAL_STAMP_ATTRIBUTE} = :stamp${switched ? ', ownerSwitchesSinceCheckpoint = ownerSwitchesSinceCheckpoint + :one' : ''} REMOVE checkpointOwner`,
      condition: 'leaseCounter = :counter',
      values: {
        ':owner': s(owner),
        ':one': n(1),
        ':counter': n(lease.leaseCounter),
        ':stamp': s(formatRenewalStamp(lease.leaseCounter + 1, at)),
      },
    });
  }

  /**
   * Leaves a wake-up hint (`wake-hints.ts`) on a lease `owner` holds: its next renewal returns it,
   * and it looks at the table at once instead of at its next shared slot. The counter is left
   * alone, so no renewal's condition is disturbed; a KCL owner ignores the attribute.
   */
  async wake(lease: Lease, owner: string, at: number = Date.now()): Promise<void> {
    await this.update(lease.leaseKey, 'wake-up hint', {
      update: `SET ${WAKE_ATTRIBUTE} = :wake`,
      condition: 'leaseOwner = :owner',
      values: { ':wake': n(Math.floor(at)), ':owner': s(owner) },
    });
  }

  /**
   * Asks the current owner to hand the lease over, as KCL 3's
   * `DynamoDBLeaseRefresher.initiateGracefulLeaseHandoff` does: the new owner is written as
   * `leaseOwner` and the current one as `checkpointOwner`, and the counter is left alone, so the
   * owner's renewals go on (a KCL 3 owner would otherwise read the request as a lost lease). The
   * owner finishes its batch, checkpoints, and completes the hand-off; only then does the new
   * owner read, and until then it does not write the lease.
   */
  async requestHandoff(lease: Lease, newOwner: string): Promise<Lease> {
    return this.update(lease.leaseKey, 'hand-off request', {
      update: 'SET leaseOwner = :new, checkpointOwner = :old',
      condition:
        'attribute_exists(leaseKey) AND leaseOwner = :old AND attribute_not_exists(checkpointOwner)',
      values: { ':new': s(newOwner), ':old': s(lease.leaseOwner!) },
    });
  }

  /**
   * The hand-over: the previous owner's last act in a hand-off, its final checkpoint (optional)
   * and the transfer in ONE conditional write (`handoff/graceful-handoff.ts` makes it). The
   * transfer is assign-style, as `LeaseGracefulShutdownHandler.attemptLeaseTransfer` →
   * `assignLease` in KCL 3: conditional on still being the `checkpointOwner`, it removes it and
   * increments `leaseCounter` and `ownerSwitchesSinceCheckpoint`, so the new owner starts
   * renewing from a fresh counter. With a checkpoint, the write is also the KCL's checkpoint
   * update (`pendingCheckpoint*` removed), and the switch count restarts at this one switch.
   */
  async completeHandoff(
    leaseKey: string,
    previousOwner: string,
    checkpoint?: { checkpoint: string; sub: number },
  ): Promise<Lease> {
    return this.update(leaseKey, 'hand-off completion', {
      update: checkpoint
        ? `SET checkpoint = :cp, checkpointSubSequenceNumber = :sub, ownerSwitchesSinceCheckpoint = :one, leaseCounter = leaseCounter + :one REMOVE checkpointOwner, ${PENDING_CHECKPOINT}`
        : 'SET leaseCounter = leaseCounter + :one, ownerSwitchesSinceCheckpoint = ownerSwitchesSinceCheckpoint + :one REMOVE checkpointOwner',
      condition: 'checkpointOwner = :old',
      values: {
        ':old': s(previousOwner),
        ':one': n(1),
        ...(checkpoint ? { ':cp': s(checkpoint.checkpoint), ':sub': n(checkpoint.sub) } : {}),
      },
    });
  }

  /**
   * The new owner goes on without the previous owner's hand-off (it died, or it never hands over,
   * as KCL 2.x workers do not): conditional on the counter, like a take, so an owner still renewing
   * loses the lease at its next renewal and cannot checkpoint any more.
   */
  async clearStaleHandoff(lease: Lease, owner: string, at: number = Date.now()): Promise<Lease> {
    return this.update(lease.leaseKey, 'stale hand-off clear', {
      update: `SET leaseCounter = leaseCounter + :one, ownerSwitchesSinceCheckpoint = ownerSwitchesSinceCheckpoint + :one, ${RENEWAL_STAMP_ATTRIBUTE} = :stamp REMOVE checkpointOwner`,
      condition: 'leaseCounter = :counter AND leaseOwner = :owner',
      values: {
        ':one': n(1),
        ':counter': n(lease.leaseCounter),
        ':owner': s(owner),
        ':stamp': s(formatRenewalStamp(lease.leaseCounter + 1, at)),
      },
    });
  }

  /**
   * Writes a checkpoint, conditional on this worker still owning the lease with no hand-off
   * pending, or (`handingOff`) on this worker being the `checkpointOwner` of a hand-off. Like the
   * KCL's checkpoint (`DynamoDBLeaseSerializer.getDynamoUpdateLeaseUpdate`), it removes the
   * two-phase `pendingCheckpoint*` attributes a KCL `prepareCheckpoint` may have left: a worker
   * taking the lease later must not be told of a prepared checkpoint that is no longer true.
   */
  async checkpoint(
    leaseKey: string,
    owner: string,
    checkpoint: string,
    sub: number,
    handingOff = false,
  ): Promise<Lease> {
    return this.update(leaseKey, 'checkpoint', {
      update: `SET checkpoint = :cp, checkpointSubSequenceNumber = :sub, ownerSwitchesSinceCheckpoint = :zero REMOVE ${PENDING_CHECKPOINT}`,
      condition: handingOff
        ? 'checkpointOwner = :owner'
        : 'leaseOwner = :owner AND attribute_not_exists(checkpointOwner)',
      values: { ':cp': s(checkpoint), ':sub': n(sub), ':zero': n(0), ':owner': s(owner) },
    });
  }

  /**
   * Reads one lease, strongly consistent unless `consistent: false` (half the read units: 0.5 for
   * an item under 4 KB; the slot probe's read, for which a stale answer costs at most a scan).
   */
  async get(leaseKey: string, options: { consistent?: boolean } = {}): Promise<Lease | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { leaseKey: s(leaseKey) },
        ConsistentRead: options.consistent ?? true,
      }),
      this.opts(),
    );
    return out.Item && isLeaseItem(out.Item) ? leaseFromItem(out.Item) : undefined;
  }

  /** Gives a lease up (graceful stop without a taker): another worker takes it at once. */
  async release(lease: Lease, owner: string): Promise<void> {
    await this.update(lease.leaseKey, 'release', {
      update: 'REMOVE leaseOwner SET leaseCounter = leaseCounter + :one',
      condition: 'leaseOwner = :owner AND attribute_not_exists(checkpointOwner)',
      values: { ':owner': s(owner), ':one': n(1) },
    });
  }

  /** Records the children of an ended shard on its lease. */
  async setChildren(leaseKey: string, children: string[]): Promise<void> {
    if (children.length === 0) return;
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { leaseKey: s(leaseKey) },
        UpdateExpression: 'ADD childShardIds :c',
        ExpressionAttributeValues: { ':c': { SS: children }, ':lease': s(LEASE_ENTITY_TYPE) },
        ConditionExpression: `attribute_exists(leaseKey) AND ${IS_LEASE}`,
      }),
      this.opts(),
    );
  }

  private async update(
    leaseKey: string,
    operation: string,
    spec: { update: string; condition: string; values: Record<string, AttributeValue> },
  ): Promise<Lease> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { leaseKey: s(leaseKey) },
          UpdateExpression: spec.update,
          // Never a write to a KCL 3.5 entity row, whatever the caller's key.
          ConditionExpression: `(${spec.condition}) AND ${IS_LEASE}`,
          ExpressionAttributeValues: { ...spec.values, ':lease': s(LEASE_ENTITY_TYPE) },
          ReturnValues: 'ALL_NEW',
        }),
        this.opts(),
      );
      return leaseFromItem(out.Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) throw new LeaseConflict(leaseKey, operation);
      throw error;
    }
  }
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error)?.name === 'ConditionalCheckFailedException'
  );
}

export interface ScanOptions {
  /** Strongly consistent (default) or eventually consistent (half the read units). */
  consistent?: boolean;
  /**
   * Only the attributes a lease is read from (`leaseFromItem`) and `entityType`: less to transfer
   * and parse. (DynamoDB charges a Scan by the size of the items it reads, projected or not.)
   */
  leasesOnly?: boolean;
}

/** KCL 3's index of leases by owner (`DynamoDBLeaseRefresher.LEASE_OWNER_TO_LEASE_KEY_INDEX_NAME`). */
export const OWNER_INDEX_NAME = 'LeaseOwnerToLeaseKeyIndex';

/**
 * The index as KCL 3 creates it (`createLeaseOwnerToLeaseKeyIndexIfNotExists`, key schema from
 * `DynamoDBLeaseSerializer.getWorkerIdToLeaseKeyIndexKeySchema`): `leaseOwner` HASH, `leaseKey`
 * RANGE, KEYS_ONLY; on an on-demand table it has no throughput of its own.
 */
const OWNER_INDEX = {
  IndexName: OWNER_INDEX_NAME,
  KeySchema: [
    { AttributeName: 'leaseOwner', KeyType: 'HASH' as const },
    { AttributeName: 'leaseKey', KeyType: 'RANGE' as const },
  ],
  Projection: { ProjectionType: 'KEYS_ONLY' as const },
};

const LEASE_ATTRIBUTES = [
  'leaseKey',
  'leaseOwner',
  'leaseCounter',
  'checkpoint',
  'checkpointSubSequenceNumber',
  'ownerSwitchesSinceCheckpoint',
  'parentShardId',
  'parentShardIds',
  'childShardIds',
  'startingHashKey',
  'endingHashKey',
  'checkpointOwner',
  'entityType',
  RENEWAL_STAMP_ATTRIBUTE,
  WAKE_ATTRIBUTE,
  // Multi-stream leases (`DynamoDBMultiStreamLeaseSerializer`): the stream id and the shard id.
  'streamName',
  'shardId',
];
const LEASE_NAMES = Object.fromEntries(LEASE_ATTRIBUTES.map((a, i) => [`#a${i}`, a]));
const LEASE_PROJECTION = Object.keys(LEASE_NAMES).join(', ');

/** The KCL's two-phase checkpoint attributes, which a checkpoint write removes. */
const PENDING_CHECKPOINT =
  'pendingCheckpoint, pendingCheckpointSubSequenceNumber, pendingCheckpointState';

/** Condition: the item is a lease (no `entityType`, or `LEASE`), as `fromDynamoRecord` decides. */
const IS_LEASE = '(attribute_not_exists(entityType) OR entityType = :lease)';

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });

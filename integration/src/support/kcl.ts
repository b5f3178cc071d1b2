import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  UpdateTableCommand,
  type AttributeValue,
  type AttributeValueUpdate,
  type DynamoDBClient,
  type ExpectedAttributeValue,
} from '@aws-sdk/client-dynamodb';
import { waitFor } from '../backend';

// What the Java KCL (awslabs/amazon-kinesis-client 3.5.1) writes to and reads from its lease
// table, restated from its source for tests: the table as DynamoDBLeaseRefresher creates it, items
// as DynamoDBLeaseSerializer writes them, the strict reading of fromDynamoRecord, KCL 3.5's other
// entities, and a scripted worker that issues exactly the KCL's conditional writes (the legacy
// Expected / AttributeUpdates API the KCL uses).

/** KCL 3's GSI on the lease table (`DynamoDBLeaseRefresher.LEASE_OWNER_TO_LEASE_KEY_INDEX_NAME`). */
export const LEASE_OWNER_INDEX = 'LeaseOwnerToLeaseKeyIndex';

/**
 * The table `createLeaseTableIfNotExists` makes (on-demand, `leaseKey` string hash key), with the
 * `LeaseOwnerToLeaseKeyIndex` that `createLeaseOwnerToLeaseKeyIndexIfNotExists` adds (`leaseOwner`
 * hash, `leaseKey` range, keys only; on-demand, so no throughput).
 */
export async function createKclLeaseTable(
  client: DynamoDBClient,
  tableName: string,
): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      DeletionProtectionEnabled: false,
    }),
  );
  await waitFor(
    async () =>
      (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus ===
      'ACTIVE',
    { timeoutMs: 10_000, message: 'KCL lease table active' },
  );
  const index = (throughput: boolean) =>
    new UpdateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'leaseOwner', AttributeType: 'S' },
        { AttributeName: 'leaseKey', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexUpdates: [
        {
          Create: {
            IndexName: LEASE_OWNER_INDEX,
            KeySchema: [
              { AttributeName: 'leaseOwner', KeyType: 'HASH' },
              { AttributeName: 'leaseKey', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
            ...(throughput
              ? { ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } }
              : {}),
          },
        },
      ],
    });
  try {
    await client.send(index(false));
  } catch (error) {
    // dynalite insists on a throughput even for an on-demand table (DynamoDB does not): same
    // index, with a nominal one.
    if (!/provisionedThroughput/i.test((error as Error).message)) throw error;
    await client.send(index(true));
  }
}

/** A lease as the KCL's `Lease` holds it (the fields its serializer stores). */
export interface KclLease {
  leaseKey: string;
  leaseOwner?: string | undefined;
  leaseCounter: number;
  checkpoint: string;
  checkpointSubSequenceNumber: number;
  ownerSwitchesSinceCheckpoint: number;
  parentShardIds: string[];
  childShardIds: string[];
  pendingCheckpoint?: { sequenceNumber: string; subSequenceNumber: number } | undefined;
  pendingCheckpointState?: Uint8Array | undefined;
  startingHashKey?: string | undefined;
  endingHashKey?: string | undefined;
  throughputKBps?: number | undefined;
  checkpointOwner?: string | undefined;
}

/** `DynamoDBLeaseSerializer.toDynamoRecord`, attribute for attribute. */
export function kclLeaseItem(lease: KclLease): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    leaseKey: { S: lease.leaseKey },
    leaseCounter: { N: String(lease.leaseCounter) },
    ownerSwitchesSinceCheckpoint: { N: String(lease.ownerSwitchesSinceCheckpoint) },
    checkpoint: { S: lease.checkpoint },
    checkpointSubSequenceNumber: { N: String(lease.checkpointSubSequenceNumber) },
    entityType: { S: 'LEASE' },
  };
  if (lease.leaseOwner) item.leaseOwner = { S: lease.leaseOwner };
  if (lease.parentShardIds.length > 0) item.parentShardId = { SS: lease.parentShardIds };
  if (lease.childShardIds.length > 0) item.childShardIds = { SS: lease.childShardIds };
  if (lease.pendingCheckpoint) {
    item.pendingCheckpoint = { S: lease.pendingCheckpoint.sequenceNumber };
    item.pendingCheckpointSubSequenceNumber = {
      N: String(lease.pendingCheckpoint.subSequenceNumber),
    };
  }
  if (lease.pendingCheckpointState)
    item.pendingCheckpointState = { B: lease.pendingCheckpointState };
  if (lease.startingHashKey && lease.endingHashKey) {
    item.startingHashKey = { S: lease.startingHashKey };
    item.endingHashKey = { S: lease.endingHashKey };
  }
  if (lease.throughputKBps !== undefined) item.throughputKBps = { N: String(lease.throughputKBps) };
  if (lease.checkpointOwner) item.checkpointOwner = { S: lease.checkpointOwner };
  return item;
}

/**
 * The item `DynamoDBMultiStreamLeaseSerializer.toDynamoRecord` writes for a `MultiStreamLease`:
 * the single-stream item (key `<stream identifier>:<shardId>`) plus the serialized stream
 * identifier under `streamName` ("Keeping the stream id as streamName for legacy reasons") and
 * the bare `shardId`.
 */
export function kclMultiStreamLeaseItem(
  lease: KclLease,
  streamIdentifier: string,
  shardId: string,
): Record<string, AttributeValue> {
  return {
    ...kclLeaseItem(lease),
    streamName: { S: streamIdentifier },
    shardId: { S: shardId },
  };
}

/**
 * `DynamoDBLeaseSerializer.fromDynamoRecord`, strictly: null for another entity type; for a lease,
 * every attribute the KCL reads must have the KCL's type, and those its `Lease` setters mark
 * `@NonNull` (leaseKey, leaseCounter, checkpoint, checkpointSubSequenceNumber via
 * ExtendedSequenceNumber, ownerSwitchesSinceCheckpoint) must be there. Throws otherwise.
 */
export function kclReadLease(item: Record<string, AttributeValue>): KclLease | null {
  const entityType = item.entityType?.S;
  if (entityType !== undefined && entityType !== 'LEASE') return null;
  const key = item.leaseKey?.S ?? '?';
  const str = (name: string, required: boolean): string | undefined => {
    const v = item[name];
    if (v === undefined) {
      if (required) throw new Error(`lease ${key}: ${name} missing`);
      return undefined;
    }
    if (v.S === undefined) throw new Error(`lease ${key}: ${name} is not S: ${JSON.stringify(v)}`);
    return v.S;
  };
  const num = (name: string, required: boolean): number | undefined => {
    const v = item[name];
    if (v === undefined) {
      if (required) throw new Error(`lease ${key}: ${name} missing`);
      return undefined;
    }
    if (v.N === undefined || !/^-?[0-9]+(\.[0-9]+)?$/.test(v.N))
      throw new Error(`lease ${key}: ${name} is not N: ${JSON.stringify(v)}`);
    return Number(v.N);
  };
  const set = (name: string): string[] => {
    const v = item[name];
    if (v === undefined) return [];
    if (v.SS === undefined)
      throw new Error(`lease ${key}: ${name} is not SS: ${JSON.stringify(v)}`);
    return v.SS;
  };
  const pending = str('pendingCheckpoint', false);
  const state = item.pendingCheckpointState;
  if (state !== undefined && state.B === undefined)
    throw new Error(`lease ${key}: pendingCheckpointState is not B`);
  return {
    leaseKey: str('leaseKey', true)!,
    leaseOwner: str('leaseOwner', false),
    leaseCounter: num('leaseCounter', true)!,
    ownerSwitchesSinceCheckpoint: num('ownerSwitchesSinceCheckpoint', true)!,
    checkpoint: str('checkpoint', true)!,
    checkpointSubSequenceNumber: num('checkpointSubSequenceNumber', true)!,
    parentShardIds: set('parentShardId'),
    childShardIds: set('childShardIds'),
    pendingCheckpoint: pending
      ? {
          sequenceNumber: pending,
          subSequenceNumber: num('pendingCheckpointSubSequenceNumber', false) ?? 0,
        }
      : undefined,
    pendingCheckpointState: state?.B,
    startingHashKey: str('startingHashKey', false),
    endingHashKey: str('endingHashKey', false),
    throughputKBps: num('throughputKBps', false),
    checkpointOwner: str('checkpointOwner', false),
  };
}

/**
 * The non-lease entities KCL 3.5 keeps in the lease table: a worker's metrics
 * (`WorkerMetricStats`, keyed by worker id), the leader lock (`LeaderLock`), the client-version
 * state (`MigrationState`, `cv` = `clientVersion`) and the table-migration state
 * (`TableMigrationState`).
 */
export function kclEntityRows(
  clientVersion: string,
  workerId = 'java-worker-1',
): Record<string, AttributeValue>[] {
  const now = String(Date.now());
  return [
    {
      leaseKey: { S: workerId },
      entityType: { S: 'WORKER_METRIC_STATS' },
      lut: { N: String(Math.floor(Date.now() / 1000)) },
      sts: { M: { CPU: { L: [{ N: '12.5' }, { N: '13' }] } } },
      opr: { M: { CPU: { L: [{ N: '100' }] } } },
    },
    { leaseKey: { S: 'Leader' }, entityType: { S: 'LEADER' }, leaseDuration: { S: '10000' } },
    {
      leaseKey: { S: 'Migration3.0' },
      entityType: { S: 'CLIENT_VERSION_MIGRATION' },
      cv: { S: clientVersion },
      mb: { S: workerId },
      mts: { N: now },
    },
    {
      leaseKey: { S: 'TableMigration3.5' },
      entityType: { S: 'TABLE_MIGRATION' },
      tm: { S: 'TABLE_MIGRATION_STATUS_COMPLETE' },
      mb: { S: workerId },
      mts: { N: now },
    },
  ];
}

export async function putItems(
  client: DynamoDBClient,
  tableName: string,
  items: Record<string, AttributeValue>[],
): Promise<void> {
  for (const item of items)
    await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
}

export async function scanAll(
  client: DynamoDBClient,
  tableName: string,
): Promise<Record<string, AttributeValue>[]> {
  const out = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return out.Items ?? [];
}

const put = (value: AttributeValue): AttributeValueUpdate => ({ Action: 'PUT', Value: value });
const add1: AttributeValueUpdate = { Action: 'ADD', Value: { N: '1' } };
const del: AttributeValueUpdate = { Action: 'DELETE' };
const is = (value: AttributeValue): ExpectedAttributeValue => ({ Value: value });
const absent: ExpectedAttributeValue = { Exists: false };

/**
 * One KCL worker, scripted: each method is one of the KCL's lease writes, with its conditions
 * and updates (`DynamoDBLeaseRefresher` + `DynamoDBLeaseSerializer`), as KCL 3.5 issues them or,
 * with `version: 2`, as KCL 2.7 does (which knows nothing of `checkpointOwner`). It keeps its
 * leases in memory as the KCL's renewer does; a method returns false where the KCL sees a failed
 * condition.
 */
export class ScriptedKclWorker {
  /** The leases it holds, as its renewer knows them. */
  readonly held = new Map<string, KclLease>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    readonly workerId: string,
    readonly version: 2 | 3 = 3,
  ) {}

  async get(leaseKey: string): Promise<KclLease | null> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { leaseKey: { S: leaseKey } },
        ConsistentRead: true,
      }),
    );
    return out.Item ? kclReadLease(out.Item) : null;
  }

  private async write(
    leaseKey: string,
    expected: Record<string, ExpectedAttributeValue>,
    updates: Record<string, AttributeValueUpdate>,
  ): Promise<KclLease | null> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { leaseKey: { S: leaseKey } },
          Expected: expected,
          AttributeUpdates: updates,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return kclReadLease(out.Attributes!);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  }

  /**
   * A lease assigned to this worker that no hand-off holds any more, as KCL 3's lease discovery
   * picks it up (`DynamoDBLeaseRenewer.initialize` skips those still pending a checkpoint).
   */
  async adopt(leaseKey: string): Promise<KclLease | null> {
    const lease = await this.get(leaseKey);
    if (lease?.leaseOwner !== this.workerId || lease.checkpointOwner !== undefined) return null;
    this.held.set(leaseKey, lease);
    return lease;
  }

  /** `takeLease`: counter expected, counter + 1, owner PUT, checkpointOwner DELETE (KCL 3). */
  async take(lease: KclLease): Promise<boolean> {
    const switched =
      (lease.leaseOwner !== undefined && lease.leaseOwner !== this.workerId) ||
      (this.version === 3 && lease.checkpointOwner === this.workerId);
    const taken = await this.write(
      lease.leaseKey,
      { leaseCounter: is({ N: String(lease.leaseCounter) }) },
      {
        leaseCounter: put({ N: String(lease.leaseCounter + 1) }),
        leaseOwner: put({ S: this.workerId }),
        ...(this.version === 3 ? { checkpointOwner: del } : {}),
        ...(switched ? { ownerSwitchesSinceCheckpoint: add1 } : {}),
      },
    );
    if (taken) this.held.set(lease.leaseKey, taken);
    return taken !== null;
  }

  /**
   * `renewLease` as `DynamoDBLeaseRenewer` calls it: counter expected (and no checkpointOwner
   * unless a shutdown was already requested); on failure, a lease found pending a hand-off
   * from this worker (`handleGracefulShutdown`) is taken on in memory and renewed with the
   * counter alone. Returns `'renewed'`, `'handoff'` (renewed, and a hand-off is requested) or
   * `'lost'` (the lease is dropped). KCL 2.x expects the counter alone, and never sees a hand-off.
   */
  async renew(leaseKey: string): Promise<'renewed' | 'handoff' | 'lost'> {
    const lease = this.held.get(leaseKey);
    if (!lease) return 'lost';
    const once = (requested: boolean) =>
      this.write(
        leaseKey,
        {
          leaseCounter: is({ N: String(lease.leaseCounter) }),
          ...(requested || this.version === 2 ? {} : { checkpointOwner: absent }),
        },
        { leaseCounter: put({ N: String(lease.leaseCounter + 1) }) },
      );
    let renewed = await once(lease.checkpointOwner !== undefined);
    if (!renewed && this.version === 3 && lease.checkpointOwner === undefined) {
      const now = await this.get(leaseKey);
      if (now?.checkpointOwner === this.workerId && now.leaseOwner !== this.workerId) {
        lease.checkpointOwner = now.checkpointOwner;
        lease.leaseOwner = now.leaseOwner;
        renewed = await once(true);
      }
    }
    if (!renewed) {
      this.held.delete(leaseKey);
      return 'lost';
    }
    lease.leaseCounter += 1;
    return this.version === 3 && lease.checkpointOwner === this.workerId ? 'handoff' : 'renewed';
  }

  /**
   * A checkpoint (`DynamoDBLeaseRenewer.updateLease` → `DynamoDBLeaseRefresher.updateLease`):
   * counter expected, counter + 1, checkpoint PUT, owner switches reset, pending checkpoint DELETE.
   */
  async checkpoint(leaseKey: string, sequenceNumber: string, sub = 0): Promise<boolean> {
    const lease = this.held.get(leaseKey);
    if (!lease) return false;
    const done = await this.write(
      leaseKey,
      { leaseCounter: is({ N: String(lease.leaseCounter) }) },
      {
        leaseCounter: put({ N: String(lease.leaseCounter + 1) }),
        checkpoint: put({ S: sequenceNumber }),
        checkpointSubSequenceNumber: put({ N: String(sub) }),
        ownerSwitchesSinceCheckpoint: put({ N: '0' }),
        pendingCheckpoint: del,
        pendingCheckpointSubSequenceNumber: del,
        pendingCheckpointState: del,
      },
    );
    if (!done) {
      this.held.delete(leaseKey);
      return false;
    }
    lease.leaseCounter += 1;
    lease.checkpoint = sequenceNumber;
    lease.checkpointSubSequenceNumber = sub;
    return true;
  }

  /**
   * `initiateGracefulLeaseHandoff` (what KCL 3's leader issues): owner expected, no checkpointOwner,
   * the lease exists; leaseOwner = this worker, checkpointOwner = the owner; counter untouched.
   */
  async requestHandoff(lease: KclLease): Promise<boolean> {
    const requested = await this.write(
      lease.leaseKey,
      {
        leaseOwner: is({ S: lease.leaseOwner! }),
        checkpointOwner: absent,
        leaseKey: { Exists: true, Value: { S: lease.leaseKey } },
      },
      { leaseOwner: put({ S: this.workerId }), checkpointOwner: put({ S: lease.leaseOwner! }) },
    );
    return requested !== null;
  }

  /**
   * The hand-over after its shutdown checkpoint (`attemptLeaseTransfer` → `assignLease`): owner and
   * checkpointOwner expected, the lease exists; owner PUT, checkpointOwner DELETE, counter ADD 1.
   */
  async completeHandoff(leaseKey: string): Promise<boolean> {
    const lease = this.held.get(leaseKey);
    if (!lease?.leaseOwner) return false;
    this.held.delete(leaseKey);
    const assigned = await this.write(
      leaseKey,
      {
        leaseOwner: is({ S: lease.leaseOwner }),
        checkpointOwner: is({ S: this.workerId }),
        leaseKey: { Exists: true, Value: { S: leaseKey } },
      },
      { leaseOwner: put({ S: lease.leaseOwner }), checkpointOwner: del, leaseCounter: add1 },
    );
    return assigned !== null;
  }
}

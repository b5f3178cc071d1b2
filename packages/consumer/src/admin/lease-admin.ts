import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { ShardlineError } from '@shardline/aggregation';
import { isSequenceNumber } from '../checkpoint/sequence';
import { isFinished, leaseFromItem, type Lease } from '../leases/lease';
import { LeaseTable } from '../leases/lease-table';
import { abortableSleep } from '../retrieval/backoff';
import { parseStreamArn, parseStreamIdentifier } from '../streams/stream-identifier';
import { shardIdOfLease, shardView, streamIdOfLease } from '../streams/stream-leases';
import { LeaseWatch, type LeaseLiveness } from './liveness';
import {
  planRewind,
  sentinelTarget,
  type CheckpointPosition,
  type PlannedChange,
  type ResolvedTarget,
  type RewindTarget,
} from './rewind-plan';
import {
  leaseLag,
  probeShard,
  timestampTarget,
  type ShardLag,
  type StreamRef,
} from './shard-probe';

/**
 * Why a lease administration call refused or failed. `code`: `LEASE_TABLE_NOT_FOUND`,
 * `LEASES_IN_USE` (see {@link LeasesInUseError}), `REWIND_INVALID` (a shard without a lease, a
 * malformed sequence number, a timestamp rewind without a stream).
 */
export class LeaseAdminError extends ShardlineError {}

/** A rewind refused because workers hold (or may hold) leases it would change. */
export class LeasesInUseError extends LeaseAdminError {
  constructor(
    readonly leases: readonly { shardId: string; owner: string; liveness: LeaseLiveness }[],
  ) {
    const owners = [...new Set(leases.map((l) => l.owner))];
    super(
      'LEASES_IN_USE',
      `${leases.length} lease(s) held by running worker(s) ${owners.join(', ')} (${leases
        .map((l) => l.shardId)
        .join(', ')}): stop the application first, or force the rewind (--force) to fence them`,
    );
  }
}

/** Where the lease table is, and (optionally) the stream, for lag and timestamp rewinds. */
export interface LeaseAdminOptions {
  /** The application whose leases these are; names the table unless `leaseTableName` is given. */
  applicationName: string;
  dynamoDBClient: DynamoDBClient;
  /** Default: `applicationName`, as for the consumer. */
  leaseTableName?: string;
  /** With a stream: lag per lease (`listLeases`), timestamp rewinds, rewinds of finished shards. */
  kinesisClient?: KinesisClient;
  streamName?: string;
  streamArn?: string;
  /** Aborts reads and the watch; once `rewindCheckpoints` writes, it makes every write. */
  signal?: AbortSignal;
  /** This reader's clock (ms). Default `Date.now`; tests inject one. */
  clock?: () => number;
}

/** One lease as `listLeases` reports it. */
export interface LeaseStatus {
  lease: Lease;
  /** Present when a stream was given. */
  lag?: ShardLag;
}

/**
 * Every lease of an application, sorted by shard id, read consistently: owner, counter,
 * checkpoint (with sub-sequence number), parents and children, and, when a stream is given, the
 * lag of each checkpoint ({@link ShardLag}: one GetShardIterator and GetRecords with `Limit: 1`
 * per shard right after the checkpoint; `MillisBehindLatest` alone is only known to a reader).
 * A single read says nothing about whether an owner is alive: see `rewindCheckpoints`.
 */
export async function listLeases(options: LeaseAdminOptions): Promise<LeaseStatus[]> {
  const table = tableOf(options);
  const leases = sorted(await readLeases(table));
  const stream = streamOf(options);
  const now = options.clock ?? Date.now;
  const out: LeaseStatus[] = [];
  for (const lease of leases) {
    // A multi-stream table's lease of another stream than the one given has no lag to tell.
    if (!stream || !ofStream(lease, stream)) {
      out.push({ lease });
      continue;
    }
    // One shard at a time: these reads share each shard's 5 reads/s with the running workers.
    // A shard that cannot be read (throttled past the SDK's retries, say) costs its lag only.
    const lag = await leaseLag(stream.client, stream, shardView(lease), now, options.signal).catch(
      (error: unknown): ShardLag => {
        if (options.signal?.aborted) throw error;
        const e = error as Error;
        return { available: false, reason: `reading the shard failed: ${e.name}: ${e.message}` };
      },
    );
    out.push({ lease, lag });
  }
  return out;
}

/** A checkpoint to write on one shard: the shard resumes right after it (sub-sequence -1: at it). */
export interface SequencePosition {
  sequenceNumber: string;
  /** Default 0. Inside an aggregate: the last sub-record processed; -1: before the record. */
  subSequenceNumber?: number;
}

/** Options of `rewindCheckpoints`. At least one of `to` and `sequences`. */
export interface RewindOptions extends LeaseAdminOptions {
  /** Where the selected shards go: `TRIM_HORIZON`, `LATEST`, or `{ timestamp }` (needs the stream). */
  to?: RewindTarget;
  /** Shards `to` applies to. Default: every lease of the application. */
  shardIds?: readonly string[];
  /** Per-shard checkpoints, written as given (these shards are not also moved by `to`). */
  sequences?: Readonly<Record<string, SequencePosition>>;
  /**
   * Rewind even leases held by running workers, fencing them: the write takes the lease away
   * (owner removed, `leaseCounter` + 1), so the owner's next renewal and checkpoint fail and it
   * stops processing the shard; the next owner reads from the rewound checkpoint. Default false.
   */
  force?: boolean;
  /** Plan (and watch) but write nothing. */
  dryRun?: boolean;
  /**
   * The application's `failoverTimeMillis` (default 10,000, the consumer's): how long an owned
   * lease's counter must stand still before it counts as expired. Give the application's value
   * or a larger one: a smaller one could take a slow but live worker for dead.
   */
  failoverTimeMillis?: number;
  /** Sleeps between reads of the watch. Default: a timer; tests inject one to drive the clock. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called once when owned leases are watched, before the wait. */
  onWatch?: (info: { ownedLeases: number; failoverTimeMillis: number }) => void;
}

/** One lease the rewind changed, would change (`dryRun`), or could not change (`conflict`). */
export interface RewindChange extends PlannedChange {
  status: 'planned' | 'rewound' | 'conflict';
  /** The lease's counter after the write. */
  leaseCounterAfter?: number;
}

/** What `rewindCheckpoints` did. */
export interface RewindResult {
  tableName: string;
  dryRun: boolean;
  forced: boolean;
  changes: RewindChange[];
  skipped: { shardId: string; reason: string }[];
  /** How long owned leases were watched before they were judged (0 when none was owned, or forced). */
  watchedMillis: number;
}

/**
 * Moves an application's checkpoints: every shard (or `shardIds`) to `to`, and/or shards to
 * explicit `sequences`. Safe against running workers:
 *
 * - Without `force`, owned leases are watched as the KCL's taker does: re-read every quarter of
 *   `failoverTimeMillis` until each one's counter has stood still for longer than that (expired:
 *   its worker is gone) or has moved (live). A live one refuses the whole rewind with
 *   {@link LeasesInUseError} before anything is written. With no owned lease (a fleet that
 *   stopped gracefully releases its leases) there is nothing to wait for.
 * - Each write removes `leaseOwner` (and any hand-off or pending checkpoint) and adds 1 to the
 *   counter, conditional on the `leaseCounter` just read: a worker that renews in between makes
 *   the write fail (`conflict`) rather than be overwritten. Removing the owner is what fences a
 *   Shardline worker's checkpoints (conditional on `leaseOwner`) and KCL workers' (conditional on
 *   `leaseCounter`); either's next renewal fails and it drops the shard.
 * - With `force`, nothing is watched and the write is conditional only on the lease existing, so
 *   it fences whoever holds the lease when it lands; each change reports what it overwrote.
 *
 * Finished shards (`SHARD_END`) are rewound only when the stream is given and still has them.
 * A timestamp rewind reads each shard once (see `timestampTarget`). The writes are one per lease,
 * not a transaction: a `conflict` leaves the other leases rewound, and says so.
 */
export async function rewindCheckpoints(options: RewindOptions): Promise<RewindResult> {
  const table = tableOf(options);
  const clock = options.clock ?? Date.now;
  const signal = options.signal ?? new AbortController().signal;
  const failover = options.failoverTimeMillis ?? 10_000;
  const force = options.force === true;
  let leases = await readLeases(table);
  const targets = await resolveTargets(options, leases);

  const watch = new LeaseWatch(failover);
  const started = clock();
  watch.observe(leases, started);
  const changing = (l: Lease) => {
    const target = targets.get(l.leaseKey);
    return target !== undefined && !('skip' in target);
  };
  const owned = () => leases.filter((l) => changing(l) && l.leaseOwner !== undefined);
  const watching = !force && owned().length > 0;
  if (watching) {
    options.onWatch?.({ ownedLeases: owned().length, failoverTimeMillis: failover });
    const sleep = options.sleep ?? abortableSleep;
    for (;;) {
      const now = clock();
      const judged = owned().map((l) => watch.judge(l.leaseKey, now));
      if (judged.includes('live') || !judged.includes('unknown')) break;
      await sleep(Math.max(50, Math.floor(failover / 4)), signal);
      leases = await readLeases(table);
      watch.observe(leases, clock());
    }
  }
  const watchedMillis = watching ? clock() - started : 0;
  const judgedAt = clock();
  const plan = planRewind({
    leases,
    targets,
    liveness: (lease) => (force ? 'unknown' : watch.judge(lease.leaseKey, judgedAt)),
    force,
  });
  if (plan.blockers.length > 0) throw new LeasesInUseError(plan.blockers);

  const result: RewindResult = {
    tableName: table.tableName,
    dryRun: options.dryRun === true,
    forced: force,
    changes: [],
    skipped: plan.skipped,
    watchedMillis,
  };
  for (const change of plan.changes) {
    if (result.dryRun) {
      result.changes.push({ ...change, status: 'planned' });
      continue;
    }
    // No abort check here: a few quick writes finished beat a rewind left half done.
    result.changes.push(await applyChange(options.dynamoDBClient, table.tableName, change, force));
  }
  return result;
}

/**
 * The rewind-and-fence write of one lease: the new checkpoint, no owner, counter + 1. It also
 * clears a hand-off in progress (`checkpointOwner`) and the KCL's two-phase `pendingCheckpoint*`,
 * which describe positions the rewind has made meaningless. Without `force` it is conditional on
 * the counter read (a worker that renewed since wins: `conflict`); with `force` only on the lease
 * still existing, so it fences whoever holds the lease when it lands, and the change reports the
 * lease as the write found it (`ALL_OLD`), not as it was read.
 */
async function applyChange(
  client: DynamoDBClient,
  tableName: string,
  change: PlannedChange,
  force: boolean,
): Promise<RewindChange> {
  try {
    const out = await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { leaseKey: { S: change.shardId } },
        UpdateExpression:
          'SET checkpoint = :cp, checkpointSubSequenceNumber = :sub, ownerSwitchesSinceCheckpoint = :zero, leaseCounter = leaseCounter + :one REMOVE leaseOwner, checkpointOwner, pendingCheckpoint, pendingCheckpointSubSequenceNumber, pendingCheckpointState',
        ConditionExpression: force ? 'attribute_exists(leaseCounter)' : 'leaseCounter = :counter',
        ExpressionAttributeValues: {
          ':cp': { S: change.to.checkpoint },
          ':sub': { N: String(change.to.checkpointSubSequenceNumber) },
          ':zero': { N: '0' },
          ':one': { N: '1' },
          ...(force ? {} : { ':counter': { N: String(change.leaseCounter) } }),
        },
        ReturnValues: 'ALL_OLD',
      }),
      { abortSignal: AbortSignal.timeout(10_000) },
    );
    const before = leaseFromItem(out.Attributes ?? {});
    return {
      ...change,
      from: {
        checkpoint: before.checkpoint,
        checkpointSubSequenceNumber: before.checkpointSubSequenceNumber,
      },
      owner: before.leaseOwner,
      leaseCounter: before.leaseCounter,
      status: 'rewound',
      leaseCounterAfter: before.leaseCounter + 1,
    };
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException')
      return { ...change, status: 'conflict' };
    throw error;
  }
}

/** Shard id → where it goes, for every shard the options select. */
async function resolveTargets(
  options: RewindOptions,
  leases: readonly Lease[],
): Promise<Map<string, ResolvedTarget>> {
  const byKey = new Map(leases.map((l) => [l.leaseKey, l]));
  const targets = new Map<string, ResolvedTarget>();
  const known = (shardId: string): Lease => {
    const lease = byKey.get(shardId);
    if (!lease)
      throw new LeaseAdminError(
        'REWIND_INVALID',
        `${shardId} has no lease in table ${tableNameOf(options)}`,
      );
    return lease;
  };
  for (const [shardId, position] of Object.entries(options.sequences ?? {})) {
    known(shardId);
    targets.set(shardId, sequenceTarget(shardId, position));
  }
  if (options.to === undefined) {
    if (targets.size === 0)
      throw new LeaseAdminError('REWIND_INVALID', 'nothing to rewind: give a target or sequences');
    return targets;
  }
  const stream = streamOf(options);
  const to = options.to;
  if (typeof to === 'object' && !stream)
    throw new LeaseAdminError(
      'REWIND_INVALID',
      'a timestamp rewind reads the stream: give kinesisClient and streamName or streamArn',
    );
  const selected = options.shardIds
    ? options.shardIds.map(known)
    : sorted(leases).filter(
        // In a multi-stream table, a rewind that reads the stream moves that stream's leases.
        (l) => !targets.has(l.leaseKey) && (!stream || ofStream(l, stream)),
      );
  for (const lease of selected) {
    if (stream && !ofStream(lease, stream))
      throw new LeaseAdminError(
        'REWIND_INVALID',
        `${lease.leaseKey} is a lease of stream ${streamIdOfLease(lease)}, not of the stream given`,
      );
    if (typeof to === 'object') {
      targets.set(
        lease.leaseKey,
        await timestampTarget(
          stream!.client,
          stream!,
          shardIdOfLease(lease),
          to.timestamp,
          options.signal,
        ),
      );
      continue;
    }
    let target = sentinelTarget(lease, to, stream !== undefined);
    if (stream && isFinished(lease) && !('skip' in target)) {
      // A finished shard is rewound only if the stream still has it: else no worker could read it.
      const found = await probeShard(
        stream.client,
        stream,
        shardIdOfLease(lease),
        { type: to },
        options.signal,
      );
      if (found.kind === 'not-found') target = { skip: 'finished, and no longer in the stream' };
    }
    targets.set(lease.leaseKey, target);
  }
  return targets;
}

/** Checks one explicit checkpoint. */
function sequenceTarget(shardId: string, position: SequencePosition): CheckpointPosition {
  const sub = position.subSequenceNumber ?? 0;
  if (!isSequenceNumber(position.sequenceNumber))
    throw new LeaseAdminError(
      'REWIND_INVALID',
      `${shardId}: ${JSON.stringify(position.sequenceNumber)} is not a sequence number`,
    );
  if (!Number.isSafeInteger(sub) || sub < -1)
    throw new LeaseAdminError(
      'REWIND_INVALID',
      `${shardId}: sub-sequence number must be an integer ≥ -1, got ${sub}`,
    );
  return { checkpoint: position.sequenceNumber, checkpointSubSequenceNumber: sub };
}

function tableNameOf(options: LeaseAdminOptions): string {
  return options.leaseTableName ?? options.applicationName;
}

function tableOf(options: LeaseAdminOptions): LeaseTable {
  return new LeaseTable(options.dynamoDBClient, tableNameOf(options));
}

/**
 * Whether a lease is of the given stream: always in a single-stream table; in a multi-stream one
 * (keys `account:stream:creationEpoch:shardId`), when the stream names match.
 */
function ofStream(lease: Lease, stream: StreamRef): boolean {
  const id = streamIdOfLease(lease);
  if (id === undefined) return true;
  const name = stream.streamName ?? parseStreamArn(stream.streamArn ?? '')?.streamName;
  return parseStreamIdentifier(id)?.streamName === name;
}

function streamOf(options: LeaseAdminOptions): (StreamRef & { client: KinesisClient }) | undefined {
  if (!options.kinesisClient || (!options.streamName && !options.streamArn)) return undefined;
  return {
    client: options.kinesisClient,
    streamName: options.streamName,
    streamArn: options.streamArn,
  };
}

/** Every lease; a missing table is the application never having run against this account. */
async function readLeases(table: LeaseTable): Promise<Lease[]> {
  try {
    return await table.list();
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException')
      throw new LeaseAdminError(
        'LEASE_TABLE_NOT_FOUND',
        `lease table ${table.tableName} not found (has a consumer of this application run here?)`,
        { cause: error },
      );
    throw error;
  }
}

function sorted(leases: readonly Lease[]): Lease[] {
  return [...leases].sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
}

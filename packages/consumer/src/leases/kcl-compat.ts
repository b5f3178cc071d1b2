import {
  GetItemCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Logger } from 'pino';
import { KclCompatibilityError } from '../errors';
import type { InitialPosition } from '../options';
import { isLeaseItem, leaseFromItem, type Lease } from './lease';
import type { LeaseTable } from './lease-table';

/** Client versions in which KCL 3 workers assign leases by leader (`ClientVersion`). */
const NATIVE_CLIENT_VERSIONS: ReadonlySet<string> = new Set([
  'CLIENT_VERSION_3X',
  'CLIENT_VERSION_3X_WITH_ROLLBACK',
]);

/** The key of KCL 3's client-version state (`MigrationState.MIGRATION_HASH_KEY`). */
const MIGRATION_KEY = 'Migration3.0';

/**
 * A multi-stream lease key, `account:stream:creationEpoch:shardId`: a serialized
 * `StreamIdentifier` (`accountId:streamName:creationEpoch`) and the shard id (`MultiStreamLease`).
 */
const MULTI_STREAM_KEY = /^[0-9]+:[^:]+:[0-9]+:./;

export interface CompatibilityInput {
  client: DynamoDBClient;
  table: LeaseTable;
  /** KCL 3.0–3.4 keep their state in `<applicationName>-CoordinatorState` / `-WorkerMetricStats`. */
  applicationName: string;
  initialPosition: InitialPosition;
  logger: Logger;
  /** The consumer reads a list of streams (`streams`): the table must be a multi-stream one. */
  multiStream?: boolean;
  /**
   * Multi-stream: the initial position of the stream a lease belongs to, undefined for a stream
   * this consumer does not read (its leases are never taken, so they are not checked).
   */
  initialPositionOf?: (lease: Lease) => InitialPosition | undefined;
}

/**
 * The start-up checks of a lease table that Java KCL workers wrote or still use. Refuses, with a
 * `KclCompatibilityError` that says what to do:
 * - a KCL 3 application in native mode (`Migration3.0` at `CLIENT_VERSION_3X[_WITH_ROLLBACK]`,
 *   in the lease table as KCL 3.5 keeps it or in the KCL 3.0–3.4 `-CoordinatorState` table; or
 *   worker metrics with no client-version state to tell the mode): its leader assigns leases to
 *   the workers that publish worker metrics and would take them from Shardline's;
 * - a multi-stream table (the KCL's `MultiStreamLease` keys or a `streamName` attribute) for a
 *   consumer of one stream, and a single-stream table for a consumer of `streams`: each side
 *   would read the other's lease keys as shards of its own streams (the KCL picks its serializer,
 *   `DynamoDBMultiStreamLeaseSerializer` or not, by `isMultiStream()` in the same way);
 * - a lease at the `AT_TIMESTAMP` sentinel when no `initialPosition: { timestamp }` is given: the
 *   KCL resumes such a shard from its configured timestamp (`IteratorBuilder`), which the lease
 *   does not record.
 */
export async function checkLeaseTableCompatibility(input: CompatibilityInput): Promise<void> {
  const { table } = input;
  const items = await table.scanItems();
  const leases = items.filter(isLeaseItem).map(leaseFromItem);
  const name = table.tableName;

  const isMultiStreamItem = (item: Record<string, AttributeValue>): boolean =>
    item.streamName !== undefined || MULTI_STREAM_KEY.test(item.leaseKey?.S ?? '');
  const leaseItems = items.filter(isLeaseItem);
  if (!input.multiStream) {
    const multiStream = leaseItems.find(isMultiStreamItem);
    if (multiStream) {
      throw new KclCompatibilityError(
        'KCL_MULTI_STREAM',
        name,
        `lease table ${name} is a multi-stream table (lease ${multiStream.leaseKey?.S}), as a KCL multi-stream application or a Shardline consumer of streams writes it; this consumer reads one stream. To continue from it, create the consumer with streams: [{ streamName }] (one entry per stream) instead of streamName/streamArn; or give this consumer its own applicationName (a new table; set initialPosition for where to start)`,
      );
    }
  } else {
    const single = leaseItems.find((item) => !isMultiStreamItem(item));
    if (single) {
      throw new KclCompatibilityError(
        'SINGLE_STREAM_TABLE',
        name,
        `lease table ${name} is a single-stream table (lease ${single.leaseKey?.S} is keyed by a bare shard id), and this consumer reads streams: it would not know which stream that lease's shard belongs to, and a KCL multi-stream worker would misread it the same way. Use streamName/streamArn for that one stream, or give this consumer its own applicationName (a new table) for its streams`,
      );
    }
  }

  const mode = await kclClientVersion(input, items);
  if (mode.version !== undefined && NATIVE_CLIENT_VERSIONS.has(mode.version)) {
    throw new KclCompatibilityError(
      'KCL_NATIVE_MODE',
      name,
      `lease table ${name} is used by KCL 3 workers in native mode (${mode.version} in ${mode.where}): their leader assigns leases from worker metrics that Shardline does not publish, and would take leases from Shardline workers. For a rolling switch, run the Java workers in 2.x-compatible mode (clientVersionConfig CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X_PHASE1, or roll a CLIENT_VERSION_3X_WITH_ROLLBACK fleet back with the KCL migration tool). For a stop-and-switch, stop every Java worker first, then delete the ${MIGRATION_KEY} state and the worker-metrics entries (see MIGRATING-FROM-KCL.md)`,
    );
  }
  if (mode.version === undefined && mode.workerMetrics) {
    throw new KclCompatibilityError(
      'KCL_NATIVE_MODE',
      name,
      `lease table ${name} has KCL 3 worker metrics (${mode.workerMetrics}) but no ${MIGRATION_KEY} client-version state in the lease table or in ${input.applicationName}-CoordinatorState, so whether its leader assigns leases cannot be told. If the Java workers run with a custom coordinator-state table, check that it is in a 2.x-compatible version; if every Java worker is stopped for good, delete the worker-metrics entries (see MIGRATING-FROM-KCL.md)`,
    );
  }
  if (mode.version !== undefined)
    input.logger.info(
      { table: name, clientVersion: mode.version },
      'KCL 3 workers share this lease table in 2.x-compatible mode',
    );

  // A lease of a stream this consumer does not read is never taken, so it is not checked.
  checkStreamLeases({
    tableName: name,
    leases,
    initialPositionOf: input.initialPositionOf ?? (() => input.initialPosition),
    where: input.multiStream ? "in streams, that lease's stream's initialPosition" : undefined,
  });
}

/** What {@link checkStreamLeases} looks at. */
export interface StreamLeasesInput {
  tableName: string;
  leases: readonly Lease[];
  /** The initial position of a lease's stream; undefined for a stream that is not read (not checked). */
  initialPositionOf: (lease: Lease) => InitialPosition | undefined;
  /** Where the timestamp goes, for the message (e.g. which stream's `initialPosition`). */
  where?: string | undefined;
}

/**
 * The checks of {@link checkLeaseTableCompatibility} that depend on a stream's own settings, so
 * they hold per stream: `start()` runs them over every stream's leases, and `addStream` over the
 * added stream's before anything of it starts. Refuses (`KCL_AT_TIMESTAMP_UNKNOWN`) a lease at
 * the `AT_TIMESTAMP` sentinel whose stream has no `initialPosition: { timestamp }`.
 */
export function checkStreamLeases(input: StreamLeasesInput): void {
  const name = input.tableName;
  const atTimestamp = input.leases
    .filter((l) => l.checkpoint === 'AT_TIMESTAMP')
    .filter((l) => {
      const position = input.initialPositionOf(l);
      return position !== undefined && typeof position !== 'object';
    })
    .map((l) => l.leaseKey);
  if (atTimestamp.length > 0) {
    throw new KclCompatibilityError(
      'KCL_AT_TIMESTAMP_UNKNOWN',
      name,
      `leases ${atTimestamp.join(', ')} of table ${name} are checkpointed at AT_TIMESTAMP, which stands for the application's initial timestamp (the lease does not record it; the KCL reads it from its InitialPositionInStreamExtended). Start with initialPosition: { timestamp } set to the timestamp the Java application was configured with${input.where ? ` (${input.where})` : ''}`,
    );
  }
}

interface ClientVersionFound {
  version: string | undefined;
  where: string;
  /** Where worker metrics were found, if anywhere. */
  workerMetrics: string | undefined;
}

/** KCL 3's client version: from the lease table (KCL 3.5), else the legacy KCL 3.0–3.4 tables. */
async function kclClientVersion(
  input: CompatibilityInput,
  items: Record<string, AttributeValue>[],
): Promise<ClientVersionFound> {
  const name = input.table.tableName;
  const migration = items.find(
    (item) =>
      item.entityType?.S === 'CLIENT_VERSION_MIGRATION' || item.leaseKey?.S === MIGRATION_KEY,
  );
  let workerMetrics = items.some((item) => item.entityType?.S === 'WORKER_METRIC_STATS')
    ? `WORKER_METRIC_STATS items in ${name}`
    : undefined;
  if (migration) return { version: migration.cv?.S, where: name, workerMetrics };

  const coordinatorTable = `${input.applicationName}-CoordinatorState`;
  const legacy = await optionalTable(input, coordinatorTable, () =>
    input.client.send(
      new GetItemCommand({
        TableName: coordinatorTable,
        Key: { key: { S: MIGRATION_KEY } },
        ConsistentRead: true,
      }),
    ),
  );
  const metricsTable = `${input.applicationName}-WorkerMetricStats`;
  if (!workerMetrics) {
    const metrics = await optionalTable(input, metricsTable, () =>
      input.client.send(new ScanCommand({ TableName: metricsTable, Limit: 1 })),
    );
    if ((metrics?.Items?.length ?? 0) > 0) workerMetrics = `table ${metricsTable}`;
  }
  return { version: legacy?.Item?.cv?.S, where: coordinatorTable, workerMetrics };
}

/** Reads a KCL 3.0–3.4 side table: absent is fine; not allowed to look is logged, not fatal. */
async function optionalTable<T>(
  input: CompatibilityInput,
  tableName: string,
  read: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    const name = (error as Error)?.name;
    if (name === 'ResourceNotFoundException') return undefined;
    if (name === 'AccessDeniedException') {
      input.logger.warn(
        { table: tableName },
        'cannot read this KCL 3 table to check for KCL native mode (access denied); assuming none',
      );
      return undefined;
    }
    throw error;
  }
}

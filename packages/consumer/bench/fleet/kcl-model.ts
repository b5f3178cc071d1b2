/**
 * DynamoDB units per shard-hour the Java KCL spends on its lease table with its defaults, worked
 * out from its schedule (awslabs/amazon-kinesis-client at 024eb86e, paths under
 * amazon-kinesis-client/src/main/java/software/amazon/kinesis/):
 *
 * - leases/LeaseManagementConfig.java: failoverTimeMillis 10000, epsilonMillis 25,
 *   consistentReads false, leaseAssignmentIntervalMillis 2 × failover (KCL 3), worker metrics
 *   reported every 30 s (workerMetricsReporterFreqInMillis).
 * - leases/dynamodb/DynamoDBLeaseCoordinator.java: renewer every
 *   common/CommonCalculations.getRenewerTakerIntervalMillis = failover / 3 − epsilon; taker (KCL
 *   2.x) every (failover + epsilon) × 2; lease discoverer (KCL 3) every
 *   leaseAssignmentInterval / 2 − epsilon.
 * - leases/dynamodb/DynamoDBLeaseRenewer.java: one conditional UpdateItem per held lease per
 *   renewal (1 WCU for an item under 1 KB).
 * - leases/dynamodb/DynamoDBLeaseTaker.java (KCL 2.x): every worker lists the whole table at each
 *   taker pass (`leaseRefresher.listLeases()`), a Scan without ConsistentRead
 *   (DynamoDBLeaseRefresher.java's ScanRequest), so half a unit per 4 KB.
 * - coordinator/assignment/LeaseAssignmentManager.java (KCL 3): only the leader scans the lease
 *   table (and the worker metrics table), every leaseAssignmentInterval;
 *   leases/dynamodb/DynamoDBLeaseDiscoverer.java: every worker queries the leaseOwner GSI
 *   (KEYS_ONLY, DynamoDBLeaseRefresher.createLeaseOwnerToLeaseKeyIndexIfNotExists) for its own
 *   lease keys, eventually consistent, and GetItems only leases new to it (none in steady state).
 *   Renewals change neither the GSI key nor a projected attribute: no GSI write units.
 *
 * Busy: the KCL's processor checkpoints once per batch (the brief's "checkpoint per batch"), one
 * UpdateItem (1 WCU) each: the same number of batches as Shardline delivered in the measured run.
 */

export interface KclModelInput {
  shards: number;
  workers: number;
  /** failoverTimeMillis the model runs at (the KCL default is 10,000). */
  failoverTimeMillis: number;
  /** Mean DynamoDB size of a lease item, in bytes (the same items as the measured table's). */
  itemBytes: number;
  /** Size of a GSI entry (leaseOwner + leaseKey names and values), in bytes. */
  gsiEntryBytes: number;
  /** Checkpoints per shard-hour (0 when idle). */
  checkpointsPerShardHour: number;
}

export interface UnitsPerShardHour {
  reads: number;
  writes: number;
}

const HOUR = 3_600_000;
const EPSILON = 25;
const WORKER_METRICS_REPORT_MS = 30_000;

/** Units of one eventually consistent Scan or Query returning `bytes` (pages of 1 MB). */
function eventualReadUnits(bytes: number): number {
  const pages = Math.max(1, Math.ceil(bytes / (1024 * 1024)));
  return Math.max(pages, Math.ceil(bytes / 4096)) * 0.5;
}

const renewalWritesPerShardHour = (f: number) => HOUR / (f / 3 - EPSILON);

export function kcl2(m: KclModelInput): UnitsPerShardHour {
  const scansPerHour = (m.workers * HOUR) / ((m.failoverTimeMillis + EPSILON) * 2);
  return {
    reads: (scansPerHour * eventualReadUnits(m.shards * m.itemBytes)) / m.shards,
    writes: renewalWritesPerShardHour(m.failoverTimeMillis) + m.checkpointsPerShardHour,
  };
}

export function kcl3(m: KclModelInput): UnitsPerShardHour {
  const assignment = 2 * m.failoverTimeMillis;
  const leaderScans = HOUR / assignment;
  // The leader also scans the worker metrics table (one small item per worker).
  const leaderReads = leaderScans * (eventualReadUnits(m.shards * m.itemBytes) + 0.5);
  const discoveries = (m.workers * HOUR) / (assignment / 2 - EPSILON);
  const discoveryReads =
    discoveries * eventualReadUnits(Math.ceil(m.shards / m.workers) * m.gsiEntryBytes);
  const metricWrites = (m.workers * HOUR) / WORKER_METRICS_REPORT_MS;
  return {
    reads: (leaderReads + discoveryReads) / m.shards,
    writes:
      renewalWritesPerShardHour(m.failoverTimeMillis) +
      metricWrites / m.shards +
      m.checkpointsPerShardHour,
  };
}

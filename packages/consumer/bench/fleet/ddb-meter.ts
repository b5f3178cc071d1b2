/**
 * Counts a DynamoDB client's requests by operation and the read and write units they consume.
 * Every request is sent with `ReturnConsumedCapacity: 'TOTAL'`; dynalite answers it as DynamoDB
 * does (node_modules/dynalite/db/index.js `capacityUnits` and the Scan loop: item sizes summed,
 * reads in 4 KB units, half for eventually consistent reads, writes in 1 KB units, the larger of
 * the old and new item for an update). A write whose condition fails is answered without units;
 * DynamoDB still charges it (the item's size in 1 KB units), so it is counted as 1 WCU, what a
 * lease item (< 1 KB) costs.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Counters of one or more metered clients. */
export interface DdbCounts {
  /** Requests per operation (`UpdateItem:checkpoint` split from other updates). */
  requests: Map<string, number>;
  /** Read capacity units consumed. */
  rcu: number;
  /** Write capacity units consumed. */
  wcu: number;
  /** Write units of checkpoint writes alone (their rate does not depend on failoverTimeMillis). */
  checkpointWcu: number;
  /** Conditional writes that failed (counted as 1 WCU each). */
  conditionFailures: number;
  /** Sum of request latencies (ms), to tell a slow backend from a slow consumer. */
  latencyMs: number;
  /** When each lease-table scan of the fleet began (ms), and the read units of all its pages. */
  scans: { at: number; units: number }[];
  /** Per lease key, when each renewal-like update (not a checkpoint) was sent, and its units. */
  updates: Map<string, { at: number; units: number }[]>;
}

export function emptyCounts(): DdbCounts {
  return {
    requests: new Map(),
    rcu: 0,
    wcu: 0,
    checkpointWcu: 0,
    conditionFailures: 0,
    latencyMs: 0,
    scans: [],
    updates: new Map(),
  };
}

export function resetCounts(c: DdbCounts): void {
  Object.assign(c, emptyCounts());
}

const READS = new Set(['GetItemCommand', 'ScanCommand', 'QueryCommand', 'BatchGetItemCommand']);
const WRITES = new Set([
  'UpdateItemCommand',
  'PutItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
]);

/** Adds the meter to `client`, counting into `counts`. */
export function meter(client: DynamoDBClient, counts: DdbCounts): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      const input = args.input as {
        ReturnConsumedCapacity?: string;
        UpdateExpression?: string;
        ExclusiveStartKey?: unknown;
        Key?: { leaseKey?: { S?: string } };
      };
      const isCheckpoint =
        command === 'UpdateItemCommand' && /\bcheckpoint = :/.test(input.UpdateExpression ?? '');
      const name = command.replace(/Command$/, '') + (isCheckpoint ? ':checkpoint' : '');
      const metered = READS.has(command) || WRITES.has(command);
      if (metered) input.ReturnConsumedCapacity = 'TOTAL';
      counts.requests.set(name, (counts.requests.get(name) ?? 0) + 1);
      const sent = performance.now();
      try {
        const out = await next(args);
        const consumed = (out.output as { ConsumedCapacity?: { CapacityUnits?: number } })
          .ConsumedCapacity;
        const units = consumed?.CapacityUnits ?? 0;
        if (READS.has(command)) counts.rcu += units;
        else if (WRITES.has(command)) {
          counts.wcu += units;
          if (isCheckpoint) counts.checkpointWcu += units;
        }
        if (command === 'ScanCommand') {
          // Later pages belong to the scan their first page began.
          const last = counts.scans[counts.scans.length - 1];
          if (input.ExclusiveStartKey && last) last.units += units;
          else counts.scans.push({ at: sent, units });
        }
        const leaseKey = input.Key?.leaseKey?.S;
        if (command === 'UpdateItemCommand' && !isCheckpoint && leaseKey !== undefined) {
          const series = counts.updates.get(leaseKey) ?? [];
          series.push({ at: sent, units });
          counts.updates.set(leaseKey, series);
        }
        return out;
      } catch (error) {
        if ((error as Error).name === 'ConditionalCheckFailedException' && WRITES.has(command)) {
          counts.conditionFailures++;
          counts.wcu += 1;
          if (isCheckpoint) counts.checkpointWcu += 1;
        }
        throw error;
      } finally {
        counts.latencyMs += performance.now() - sent;
      }
    },
    { step: 'initialize', name: 'fleetBenchDdbMeter' },
  );
}

/**
 * Units per ms of a periodic series counted over whole periods: the units of every event but the
 * last over the time from the first to the last, so a window holding 2 or 3 periods by chance
 * does not move the figure. A series that does not span half the window is not periodic there
 * (one event; a take and a renewal a moment apart; a lease taken late in the window) and is
 * counted over the window instead: over whole periods it would divide by almost nothing.
 */
function periodicRate(series: { at: number; units: number }[], windowMs: number): number {
  const span = series.length < 2 ? 0 : series[series.length - 1]!.at - series[0]!.at;
  if (span < windowMs / 2) return series.reduce((a, e) => a + e.units, 0) / windowMs;
  let units = 0;
  for (let i = 0; i < series.length - 1; i++) units += series[i]!.units;
  return units / (series[series.length - 1]!.at - series[0]!.at);
}

/**
 * Read and write units per ms of a window, with the periodic lease maintenance counted over
 * whole periods: scans over the fleet's scan periods (settled workers share one scan per period,
 * so the fleet's scans are the periodic series), renewals over each lease's renewal periods.
 * Everything else (takes, checkpoints, gets, queries) is counted over the window as it is.
 */
export function wholePeriodRates(
  c: DdbCounts,
  windowMs: number,
): { rcuPerMs: number; wcuPerMs: number; maintenanceWcuPerMs: number } {
  const scanUnits = c.scans.reduce((a, e) => a + e.units, 0);
  const rcuPerMs = periodicRate(c.scans, windowMs) + (c.rcu - scanUnits) / windowMs;
  let updateUnits = 0;
  let updateRate = 0;
  for (const series of c.updates.values()) {
    updateUnits += series.reduce((a, e) => a + e.units, 0);
    updateRate += periodicRate(series, windowMs);
  }
  const maintenanceWcuPerMs = updateRate + (c.wcu - c.checkpointWcu - updateUnits) / windowMs;
  return {
    rcuPerMs,
    wcuPerMs: maintenanceWcuPerMs + c.checkpointWcu / windowMs,
    maintenanceWcuPerMs,
  };
}

/** DynamoDB's size of an item: attribute names plus values (numbers about 1 byte per 2 digits). */
export function itemBytes(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item))
    size += Buffer.byteLength(name) + valueBytes(value);
  return size;
}

function valueBytes(v: unknown): number {
  const a = v as Record<string, unknown>;
  if ('S' in a) return Buffer.byteLength(a.S as string);
  if ('N' in a) return Math.ceil(String(a.N).replace(/^-/, '').replace(/^0+/, '').length / 2) + 1;
  if ('SS' in a) return (a.SS as string[]).reduce((n, s) => n + Buffer.byteLength(s), 0);
  if ('BOOL' in a || 'NULL' in a) return 1;
  if ('B' in a) return (a.B as Uint8Array).length;
  if ('L' in a) return 3 + (a.L as unknown[]).reduce<number>((n, x) => n + 1 + valueBytes(x), 0);
  if ('M' in a) return 3 + itemBytes(a.M as Record<string, unknown>);
  return 0;
}

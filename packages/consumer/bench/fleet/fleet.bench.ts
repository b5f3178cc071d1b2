/**
 * Fleet simulation (issue 17): W in-process consumers (one `Consumer` each, own SDK clients) share
 * one stream of S shards on the fake Kinesis and one lease table on dynalite, each in its own child
 * process (backend.ts) so this process's CPU and heap are the consumers' alone. Every DynamoDB
 * request of the fleet goes through ddb-meter.ts, which counts requests per operation and the
 * read and write units dynalite reports (`ReturnConsumedCapacity`, computed as DynamoDB does).
 *
 * Per cell (S shards, W workers):
 *  - cold start: W workers started together; time until the lease table shows every worker at its
 *    fair share ± 1 with every lease held and no hand-off pending (balance-probe.ts);
 *  - idle: units over a steady-state window, no records;
 *  - busy: units over a window with 1 record per shard per second flowing (default checkpoint
 *    cadence: autoCheckpoint, one checkpoint per batch);
 *  - join: a worker W+1 joins; time to balance;
 *  - kill: one worker's DynamoDB and Kinesis requests all fail from one instant on (the
 *    in-process stand-in for SIGKILL: it renews nothing, hands nothing over); time to balance
 *    among the rest.
 * Then the cost per held shard (shard-cost.ts): one worker alone in a child process of its own
 * holding S idle shards (S ∈ FLEET_COST_SHARDS, default 100 and 1000, to show it scales), polled
 * with the default options, by enhanced fan-out, and two floors for comparison (the bare SDK
 * client reading as an idle polled shard is read; plain node:http doing the same reads): live
 * heap per shard after GC and CPU per 1000 shards. And what the backend sustains (conditional
 * UpdateItems per second against dynalite), which is what bounds the cells here.
 *
 * Time scaling: cells run with a scaled failoverTimeMillis F (FLEET_FAILOVER_MS, default 10000;
 * larger where dynalite could not keep up with the renewals, see failoverFor) and every other
 * lease timer scaled with it (shardSyncIntervalMillis 60 s × F/10 s, gracefulLeaseHandoffTimeout
 * 30 s × F/10 s). Balance times are printed in ms and as multiples of F (the target is 3 × F).
 * Lease maintenance (renewals, scans, takes, hand-offs, shard sync) runs on those timers, so its
 * rate is inversely proportional to F: units per shard-hour at F are scaled by F / 10 s to give the
 * figure at the default failover, which is what the KCL column is computed for. Checkpoint writes
 * follow the batches, not F, and are not scaled.
 *
 * Units: idle and busy windows of FLEET_WINDOW_F × F (default 6, 3 at S ≥ 1000), lease maintenance
 * counted over whole periods (ddb-meter.ts `wholePeriodRates`: the fleet's scans over whole scan
 * periods, each lease's renewals over whole renewal periods), so a window holding one scan more
 * or less by chance does not move the figure.
 *
 * Env: FLEET_CELLS=all runs every cell (default: S=100 × W∈{1,4,16}: the larger ones outrun
 * dynalite on a 2-core machine); FLEET_CELLS=100x4,1000x16 picks cells, `1000x4:units` only the
 * cold take and the idle window of one, `none` no cell; FLEET_FAILOVER_MS; FLEET_WINDOW_F;
 * FLEET_COST_SHARDS (default 100,1000; `none`), FLEET_COST_MODES (default
 * polling,fanout,sdk-floor,http-floor; also fanout-http1), FLEET_COST_RUNS (default 1),
 * FLEET_COST_WINDOW_MS (default 30000); FLEET_BACKEND_PROBE=0 skips the dynalite probe.
 * Run: pnpm bench:fleet (shard-cost.ts children are forked with --expose-gc for the heap figure).
 */
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { fakeKinesisClient } from '@shardline/fake-kinesis';
import { Consumer } from '@shardline/consumer';
import { readSplit, timeToBalance } from './balance-probe';
import {
  emptyCounts,
  itemBytes,
  meter,
  resetCounts,
  wholePeriodRates,
  type DdbCounts,
} from './ddb-meter';
import { kcl2, kcl3, type UnitsPerShardHour } from './kcl-model';
import type { CostResult, Mode as CostMode } from './shard-cost';

const DEFAULT_FAILOVER = 10_000;
const BASE_FAILOVER = Number(process.env.FLEET_FAILOVER_MS ?? 10_000);
/**
 * Renewal writes per second a cell may ask of dynalite: half what the probe measured (the other
 * half for takes, shard sync, checkpoints), or 50/s if the probe did not run (it measured ~100
 * conditional UpdateItems/s at a load average of 6-7 on this 2-core machine).
 */
let renewalBudgetPerS = 50;
const ALL_S = [100, 1000, 4000];
/** Idle and busy windows in multiples of F: 6 at S < 1000, 3 above (F is longer there). */
const windowF = (shards: number) => Number(process.env.FLEET_WINDOW_F ?? (shards >= 1000 ? 3 : 6));
/** How long a balance phase may take, in multiples of F (the target is 3). */
const BALANCE_CAP_F = Number(process.env.FLEET_BALANCE_CAP_F ?? 6);
const ALL_W = [1, 4, 16];

interface Backend {
  kinesisEndpoint: string;
  /** The fake's h2c endpoint, for SubscribeToShard. */
  kinesisHttp2Endpoint: string;
  dynamodbEndpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

function startBackend(role: 'kinesis' | 'dynamodb') {
  const proc = fork(new URL('./backend.ts', import.meta.url).pathname, [], {
    execArgv: process.execArgv.filter((a) => !a.startsWith('--cpu-prof') && a !== '--expose-gc'),
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, FLEET_BACKEND: role },
  });
  const ready = new Promise<Partial<Backend>>((resolve) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        proc.stdout!.off('data', onData);
        resolve(JSON.parse(out) as Partial<Backend>);
      }
    };
    proc.stdout!.on('data', onData);
  });
  return { proc, ready };
}
const kinesisSide = startBackend('kinesis');
const dynamoSide = startBackend('dynamodb');
const child = kinesisSide.proc;
const [k, d] = await Promise.all([kinesisSide.ready, dynamoSide.ready]);
const backend = {
  ...d,
  kinesisEndpoint: k.kinesisEndpoint,
  kinesisHttp2Endpoint: k.kinesisHttp2Endpoint,
} as Backend;
const ask = (message: object) =>
  new Promise<{ ok: boolean; records?: number }>((resolve) => {
    child.once('message', (m) => resolve(m as { ok: boolean; records?: number }));
    child.send(message);
  });

const progress = (m: string) => {
  if (process.env.FLEET_QUIET !== '1')
    console.error(`[fleet ${new Date().toISOString().slice(11, 19)}] ${m}`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const dynamoClient = () =>
  new DynamoDBClient({
    endpoint: backend.dynamodbEndpoint,
    region: backend.region,
    credentials: { ...backend.credentials },
  });
const probeClient = dynamoClient();

/** Lease renewals are S × 3 / F writes per second: keep that within what dynalite sustains. */
function failoverFor(shards: number): number {
  return Math.max(BASE_FAILOVER, Math.ceil((shards * 3 * 1000) / renewalBudgetPerS / 1000) * 1000);
}

interface Worker {
  consumer: Consumer;
  kinesis: KinesisClient;
  dynamo: DynamoDBClient;
  killed: { value: boolean };
  batches: { value: number };
}

function failWhenKilled(client: KinesisClient | DynamoDBClient, killed: { value: boolean }): void {
  (client as DynamoDBClient).middlewareStack.add(
    (next) => (args) => {
      if (killed.value) return Promise.reject(new Error('worker killed (bench)'));
      return next(args);
    },
    { step: 'initialize', name: 'fleetBenchKill' },
  );
}

function makeWorker(
  stream: string,
  app: string,
  id: string,
  failover: number,
  idleReadMs: number,
  counts: DdbCounts,
): Worker {
  const killed = { value: false };
  const batches = { value: 0 };
  const kinesis = fakeKinesisClient(backend.kinesisEndpoint, { region: backend.region });
  const dynamo = dynamoClient();
  meter(dynamo, counts);
  failWhenKilled(kinesis, killed);
  failWhenKilled(dynamo, killed);
  const scale = failover / DEFAULT_FAILOVER;
  const consumer = new Consumer({
    streamName: stream,
    applicationName: app,
    workerId: id,
    kinesisClient: kinesis,
    dynamoDBClient: dynamo,
    initialPosition: 'LATEST',
    failoverTimeMillis: failover,
    shardSyncIntervalMillis: Math.round(60_000 * scale),
    gracefulLeaseHandoffTimeoutMillis: Math.max(300, Math.round(30_000 * scale)),
    idleTimeBetweenReadsMillis: idleReadMs,
    stallTimeoutMillis: Math.max(60_000, idleReadMs * 4),
    processor: {
      processRecords(batch) {
        if (batch.records.length > 0) batches.value++;
      },
    },
  });
  return { consumer, kinesis, dynamo, killed, batches };
}

async function stopWorker(w: Worker): Promise<void> {
  await w.consumer.stop({ timeoutMs: 5000 }).catch(() => {});
  w.kinesis.destroy();
  w.dynamo.destroy();
}

interface Units {
  /** Per shard-hour at the F the cell ran at. */
  atF: UnitsPerShardHour;
  /**
   * Normalised to failover 10 s (lease maintenance × F / 10 s, checkpoints as measured), lease
   * maintenance counted over whole scan and renewal periods.
   */
  at10s: UnitsPerShardHour;
  /** The same, every request counted over the plain window (what the first run reported). */
  windowCounted10s: UnitsPerShardHour;
  /** Scans in the window (fleet-wide). */
  scans: number;
  checkpointsPerShardHour: number;
  requests: Record<string, number>;
  /** Lease-maintenance writes per lease per F/3, over whole periods (nominal: 1). */
  renewalsOfNominal: number;
  /** Mean DynamoDB request latency in the window (ms); the service answers in single digits. */
  meanLatencyMs: number;
}

function units(c: DdbCounts, shards: number, windowMs: number, failover: number): Units {
  const perShardHour = (x: number) => (x / shards) * (3_600_000 / windowMs);
  const scale = failover / DEFAULT_FAILOVER;
  // Lease maintenance counted over whole scan and renewal periods (ddb-meter.ts), so a window
  // that holds one scan more or less by chance does not move the figure.
  const whole = wholePeriodRates(c, windowMs);
  const perShardHourOfRate = (perMs: number) => (perMs * 3_600_000) / shards;
  return {
    atF: { reads: perShardHour(c.rcu), writes: perShardHour(c.wcu) },
    at10s: {
      reads: perShardHourOfRate(whole.rcuPerMs) * scale,
      writes: perShardHourOfRate(whole.maintenanceWcuPerMs) * scale + perShardHour(c.checkpointWcu),
    },
    windowCounted10s: {
      reads: perShardHour(c.rcu) * scale,
      writes: perShardHour(c.wcu - c.checkpointWcu) * scale + perShardHour(c.checkpointWcu),
    },
    scans: c.scans.length,
    checkpointsPerShardHour: perShardHour(c.requests.get('UpdateItem:checkpoint') ?? 0),
    requests: Object.fromEntries(c.requests),
    // Over whole renewal periods too (a lease item is under 1 KB: one unit per renewal), so a
    // short window does not read as a backend falling behind.
    renewalsOfNominal: (whole.maintenanceWcuPerMs * (failover / 3)) / shards,
    meanLatencyMs:
      c.latencyMs /
      Math.max(
        1,
        [...c.requests.values()].reduce((a, b) => a + b, 0),
      ),
  };
}

interface CellResult {
  shards: number;
  workers: number;
  failover: number;
  skipped?: string;
  cold?: number | undefined;
  join?: number | undefined;
  kill?: number | undefined;
  balanceCapMs: number;
  balanceRun: boolean;
  idle?: Units;
  busy?: Units;
  /** Mean size of the measured table's items (Shardline's, with its own attributes). */
  itemBytes: number;
  /**
   * The same items as a KCL table would hold them: without the attributes only Shardline writes
   * (`SHARDLINE_ONLY_ATTRIBUTES`), measured after the idle and after the busy window (checkpoints
   * make busy items longer, in a KCL table as in ours).
   */
  kclItemBytes: { idle: number; busy: number };
  gsiBytes: number;
  notes: string[];
}

/** Lease attributes Shardline writes and the KCL does not (the renewal stamp, wake-up hints). */
const SHARDLINE_ONLY_ATTRIBUTES = ['shardlineRenewedAt', 'shardlineWake'];

/** Mean size of the table's lease items without Shardline's own attributes. */
async function meanKclItemBytes(table: string, workers: readonly string[]): Promise<number> {
  const split = await readSplit(probeClient, table, workers);
  const sizes = split.items.map((it) =>
    itemBytes(
      Object.fromEntries(
        Object.entries(it).filter(([name]) => !SHARDLINE_ONLY_ATTRIBUTES.includes(name)),
      ),
    ),
  );
  return sizes.length === 0 ? 0 : sizes.reduce((a, b) => a + b, 0) / sizes.length;
}

async function runCell(shards: number, workers: number, full: boolean): Promise<CellResult> {
  const failover = failoverFor(shards);
  const stream = `fleet-${shards}-${workers}`;
  const app = `fleet-app-${shards}-${workers}`;
  await ask({ op: 'stream', name: stream, shards });
  const counts = emptyCounts();
  const idleReadMs = shards >= 1000 ? 10_000 : 1000;
  const capMs = full ? BALANCE_CAP_F * failover : 0;
  const result: CellResult = {
    shards,
    workers,
    failover,
    balanceCapMs: capMs,
    balanceRun: full,
    itemBytes: 0,
    kclItemBytes: { idle: 0, busy: 0 },
    gsiBytes: 0,
    notes: [],
  };
  if (idleReadMs !== 1000)
    result.notes.push(
      `idleTimeBetweenReadsMillis ${idleReadMs} (Kinesis load; no lease-table effect)`,
    );
  const fleet: Worker[] = [];
  const ids = () => fleet.filter((w) => !w.killed.value).map((w) => w.consumer.workerId);
  const add = (n: number) => {
    const id = `w${String(n).padStart(2, '0')}-${shards}-${workers}`;
    const w = makeWorker(stream, app, id, failover, idleReadMs, counts);
    fleet.push(w);
    return w;
  };
  const balance = (since: number) =>
    timeToBalance({
      client: probeClient,
      table: app,
      shards,
      workers: ids,
      since,
      capMs,
      everyMs: Math.max(100, Math.min(500, failover / 10)),
      trace: (line) => progress(`  S=${shards} W=${workers} ${line}`),
    });
  try {
    // Cold start.
    const started = Date.now();
    for (let i = 0; i < workers; i++) add(i);
    await Promise.all(fleet.map((w) => w.consumer.start()));
    progress(`S=${shards} W=${workers}: started (F ${failover} ms)`);
    if (full) result.cold = await balance(started);
    progress(`cold: ${result.cold}`);
    // Units need every lease held (balanced or not: units of an unbalanced fleet are noted).
    const held = Date.now();
    for (;;) {
      const split = await readSplit(probeClient, app, ids());
      if (split.leases >= shards && split.unowned === 0 && split.handoffs === 0) {
        const sizes = split.items.map((it) => itemBytes(it));
        result.itemBytes = sizes.reduce((a, b) => a + b, 0) / sizes.length;
        result.gsiBytes =
          split.items
            .map((it) => itemBytes({ leaseKey: it.leaseKey, leaseOwner: it.leaseOwner }))
            .reduce((a, b) => a + b, 0) / split.items.length;
        break;
      }
      if (Date.now() - held > BALANCE_CAP_F * failover) {
        result.notes.push(
          `leases not all held after ${BALANCE_CAP_F} × F more; units measured anyway`,
        );
        break;
      }
      await sleep(250);
    }
    if (full && result.cold === undefined)
      result.notes.push('not balanced at the cap: the idle window includes balancing');
    // Idle and busy windows: WINDOW_F × F (≥ WINDOW_F settled scan periods, 3 × WINDOW_F renewal
    // rounds), counted over whole periods (units()).
    const windowMs = Math.max(windowF(shards) * failover + 1000, 12_000);
    // Steady state: past the warm-up passes every worker makes at failover / 2 after it starts
    // (three of them) and the fast passes that follow the last take, which are not maintenance.
    await sleep(2 * failover);
    resetCounts(counts);
    let from = Date.now();
    await sleep(windowMs);
    result.idle = units(counts, shards, Date.now() - from, failover);
    result.kclItemBytes.idle = await meanKclItemBytes(app, ids());
    result.kclItemBytes.busy = result.kclItemBytes.idle;
    progress(`idle: ${JSON.stringify(result.idle.at10s)} ${JSON.stringify(result.idle.requests)}`);
    if (result.idle.renewalsOfNominal < 0.9)
      result.notes.push(
        `idle: dynalite kept up with ${Math.round(result.idle.renewalsOfNominal * 100)} % of the nominal renewals`,
      );
    if (full) {
      // Busy window: 1 record per shard per second; readers pick it up at their pace.
      await ask({ op: 'feed', name: stream, perShardPerSecond: 1 });
      await sleep(Math.max(3000, failover));
      resetCounts(counts);
      from = Date.now();
      await sleep(windowMs);
      result.busy = units(counts, shards, Date.now() - from, failover);
      result.kclItemBytes.busy = await meanKclItemBytes(app, ids());
      progress(
        `busy: ${JSON.stringify(result.busy.at10s)} ${JSON.stringify(result.busy.requests)}`,
      );
      if (result.busy.renewalsOfNominal < 0.9)
        result.notes.push(
          `busy: dynalite kept up with ${Math.round(result.busy.renewalsOfNominal * 100)} % of the nominal renewals`,
        );
      await ask({ op: 'unfeed' });
      // Join.
      const joined = add(workers);
      const joinAt = Date.now();
      try {
        await joined.consumer.start();
        result.join = await balance(joinAt);
      } catch (error) {
        // A start that times out against a saturated backend is a result, not a crash.
        result.notes.push(`joining worker failed to start: ${(error as Error).message}`);
      }
      progress(`join: ${result.join}`);
      // Kill (a fleet of at least two remains).
      const victim = fleet[0]!;
      victim.killed.value = true;
      const killAt = Date.now();
      result.kill = await balance(killAt);
      progress(`kill: ${result.kill}`);
    }
  } finally {
    await Promise.all(fleet.map(stopWorker));
  }
  return result;
}

/**
 * Failover of the cost worker: S renewals per F/3 must stay well within what dynalite sustains
 * here, or renewal rounds queue behind each other and the heap grows with the queue, not the
 * shards. Renewals are lease maintenance, whose units the table above counts; here they are a
 * few writes per second (1000 × 3 / 120 s = 25/s).
 */
const COST_FAILOVER = 120_000;
const COST_WINDOW_MS = Number(process.env.FLEET_COST_WINDOW_MS ?? 30_000);

/** One worker holding `shards` idle shards, in a child process of its own (shard-cost.ts). */
async function shardCost(shards: number, mode: CostMode, run: number) {
  const stream = `fleet-cost-${mode}-${shards}-${run}`;
  await ask({ op: 'stream', name: stream, shards });
  const proc = fork(new URL('./shard-cost.ts', import.meta.url).pathname, [], {
    execArgv: [
      ...process.execArgv.filter((a) => !a.startsWith('--cpu-prof') && a !== '--expose-gc'),
      '--expose-gc',
    ],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: {
      ...process.env,
      COST_KINESIS: backend.kinesisEndpoint,
      COST_KINESIS_HTTP2: backend.kinesisHttp2Endpoint,
      COST_DYNAMODB: backend.dynamodbEndpoint,
      COST_REGION: backend.region,
      COST_CREDENTIALS: JSON.stringify(backend.credentials),
      COST_STREAM: stream,
      COST_SHARDS: String(shards),
      COST_MODE: mode,
      COST_FAILOVER_MS: String(COST_FAILOVER),
      COST_WINDOW_MS: String(COST_WINDOW_MS),
      LOG_LEVEL: 'warn',
    },
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || !line) throw new Error(`shard-cost ${mode} S=${shards} exited ${code}: ${out}`);
  const result = JSON.parse(line) as CostResult;
  return { ...result, run, loadAverage: loadavg()[0]! };
}

/**
 * What the backend sustains: conditional UpdateItems (a renewal's shape) against dynalite, 16 at
 * a time, for `ms`; the lease maintenance of S leases at failover F needs 3 × S / F of them per
 * second, and a cell whose renewals outrun this falls behind (the "renewals % of nominal").
 */
async function dynaliteWritesPerSecond(ms = 10_000): Promise<number> {
  const table = 'fleet-backend-probe';
  await probeClient.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
  for (const k of keys)
    await probeClient.send(
      new PutItemCommand({ TableName: table, Item: { k: { S: k }, c: { N: '0' } } }),
    );
  let writes = 0;
  const end = Date.now() + ms;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 16 }, async (_, lane) => {
      for (let i = lane; Date.now() < end; i += 16) {
        await probeClient.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { k: { S: keys[i % keys.length]! } },
            UpdateExpression: 'SET c = c + :one',
            ConditionExpression: 'attribute_exists(k)',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          }),
        );
        writes++;
      }
    }),
  );
  return writes / ((Date.now() - started) / 1000);
}

// Which cells.
const spec = process.env.FLEET_CELLS;
const chosen = (s: number, w: number): 'full' | 'units' | undefined => {
  if (spec === 'all') return 'full';
  if (spec) {
    const picked = spec.split(',');
    if (picked.includes(`${s}x${w}`)) return 'full';
    // `SxW:units`: cold take and the idle window only (no busy window, no balance phases).
    if (picked.includes(`${s}x${w}:units`)) return 'units';
    return undefined;
  }
  if (s === 100) return 'full';
  return undefined;
};
const benchStart = Date.now();
const backendWrites =
  process.env.FLEET_BACKEND_PROBE === '0'
    ? undefined
    : { perS: await dynaliteWritesPerSecond(), loadAverage: loadavg()[0]! };
if (backendWrites) {
  renewalBudgetPerS = backendWrites.perS / 2;
  progress(`dynalite: ${backendWrites.perS.toFixed(0)} conditional UpdateItem/s`);
}
const results: CellResult[] = [];
for (const s of ALL_S) {
  for (const w of ALL_W) {
    const mode = chosen(s, w);
    if (!mode) {
      results.push({
        shards: s,
        workers: w,
        failover: failoverFor(s),
        skipped:
          s === 4000
            ? 'not run (4000 leases need 3 × 4000 / F renewals/s: F ≥ 120 s at the backend rate below, windows and balance phases of hours; FLEET_CELLS=all)'
            : 'not run (bench time; FLEET_CELLS=all)',
        balanceCapMs: 0,
        balanceRun: false,
        itemBytes: 0,
        kclItemBytes: { idle: 0, busy: 0 },
        gsiBytes: 0,
        notes: [],
      });
      continue;
    }
    const t = Date.now();
    const r = await runCell(s, w, mode === 'full');
    if (mode === 'units')
      r.notes.push('units only (FLEET_CELLS=SxW:units): no busy window, no balance phases');
    results.push(r);
    console.error(`cell S=${s} W=${w} done in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
}
const costSizes = (process.env.FLEET_COST_SHARDS ?? '100,1000')
  .split(',')
  .filter((x) => x !== 'none' && x !== '')
  .map(Number);
const costModes = (process.env.FLEET_COST_MODES ?? 'polling,fanout,sdk-floor,http-floor').split(
  ',',
) as CostMode[];
const costRuns = Number(process.env.FLEET_COST_RUNS ?? 1);
const costs: (CostResult & { run: number; loadAverage: number })[] = [];
for (const mode of costModes)
  for (const shards of costSizes)
    for (let run = 1; run <= costRuns; run++) {
      const t = Date.now();
      const c = await shardCost(shards, mode, run);
      costs.push(c);
      progress(
        `cost ${mode} S=${shards} run ${run}: ${(c.heapPerShardBytes / 1024).toFixed(1)} KiB/shard, ${(c.cpuFraction * 100).toFixed(1)} % CPU, load ${c.loadAverage.toFixed(2)}, ${((Date.now() - t) / 1000).toFixed(0)} s; ${JSON.stringify(c)}`,
      );
    }

// One table: every figure beside the KCL's (where the KCL has one) and its target, met or not.
const f0 = (x: number) => Math.round(x).toLocaleString('en-US');
const ratio = (a: number, b: number) => (b === 0 ? '—' : `${(a / b).toFixed(2)}x`);
const time = (ms: number | undefined, r: CellResult) =>
  ms === undefined
    ? `> ${f0(r.balanceCapMs / 1000)} s (> ${(r.balanceCapMs / r.failover).toFixed(0)} F)`
    : `${(ms / 1000).toFixed(1)} s (${(ms / r.failover).toFixed(1)} F)`;
const rows: string[][] = [];
const row = (...cells: string[]) => rows.push(cells);
let allMet = true;
const judge = (ok: boolean, detail = '') => {
  allMet &&= ok;
  return ok ? 'met' : `NOT met${detail ? ` (${detail})` : ''}`;
};
for (const r of results) {
  const cell = `S=${r.shards} W=${r.workers}${r.skipped ? '' : `, F ${r.failover / 1000} s`}`;
  if (r.skipped) {
    row('DynamoDB units, balance', cell, r.skipped, '', '', '', 'not run');
    continue;
  }
  const states: [string, Units | undefined][] = [
    ['idle', r.idle],
    ['busy', r.busy],
  ];
  if (r.idle && r.busy && r.busy.renewalsOfNominal < 0.9) {
    // The backend fell behind on renewals while records flowed: the measured busy writes are
    // short of what the consumer asks for. Lease maintenance runs on the same timers idle or
    // busy, so the idle window's maintenance plus the busy window's checkpoints is the figure.
    states.push([
      'busy*',
      {
        ...r.busy,
        at10s: {
          reads: r.idle.at10s.reads,
          writes: r.idle.at10s.writes + r.busy.checkpointsPerShardHour,
        },
      },
    ]);
  }
  for (const [state, u] of states) {
    if (!u) {
      row(`reads, writes per shard-hour, ${state}`, cell, 'not run', '', '', '', 'not run');
      continue;
    }
    const model = {
      shards: r.shards,
      workers: r.workers,
      failoverTimeMillis: DEFAULT_FAILOVER,
      itemBytes: state === 'idle' ? r.kclItemBytes.idle : r.kclItemBytes.busy,
      gsiEntryBytes: r.gsiBytes,
      checkpointsPerShardHour: u.checkpointsPerShardHour,
    };
    const k2 = kcl2(model);
    const k3 = kcl3(model);
    // A busy window the backend could not keep up with is judged by its busy* row instead.
    const judged = !(state === 'busy' && states.length === 3);
    for (const [what, mine, a, b] of [
      ['reads', u.at10s.reads, k2.reads, k3.reads],
      ['writes', u.at10s.writes, k2.writes, k3.writes],
    ] as const) {
      const ok = mine <= a && mine <= b;
      row(
        `${what} per shard-hour, ${state}`,
        cell,
        f0(mine),
        `${f0(a)} (${ratio(mine, a)})`,
        `${f0(b)} (${ratio(mine, b)})`,
        '≤ KCL 2.x and KCL 3',
        // Writes of a window where the backend fell behind on renewals understate.
        (judged ? judge(ok) : 'see busy*') +
          (what === 'writes' && u.renewalsOfNominal < 0.9 && state !== 'busy*'
            ? ` (backend kept up with ${Math.round(u.renewalsOfNominal * 100)} % of the renewals: understated)`
            : ''),
      );
    }
  }
  if (r.notes.length > 0) row('notes', cell, r.notes.join('; '), '', '', '', '—');
  for (const [what, ms] of [
    ['cold start → balanced', r.cold],
    ['W+1 joins → balanced', r.join],
    ['1 of W+1 killed → balanced', r.kill],
  ] as const) {
    if (!r.balanceRun) {
      row(what, cell, 'not run', '', '', '≤ 3 F', 'not run');
      continue;
    }
    row(what, cell, time(ms, r), '', '', '≤ 3 F', judge(ms !== undefined && ms <= 3 * r.failover));
  }
}
if (backendWrites)
  row(
    'backend: dynalite conditional UpdateItem/s, 16 at a time (10 s)',
    `load ${backendWrites.loadAverage.toFixed(1)}`,
    `${f0(backendWrites.perS)}/s`,
    '',
    '',
    '(renewals of S leases need 3 × S / F per s: S=1000 at F 10 s: 300/s)',
    '—',
  );
for (const c of costs) {
  const cell = `${c.mode}, ${c.shards} shards, run ${c.run}, load ${c.loadAverage.toFixed(1)}`;
  const kib = c.heapPerShardBytes / 1024;
  const floor =
    c.mode === 'sdk-floor'
      ? '(SDK alone, no consumer)'
      : c.mode === 'http-floor'
        ? '(node:http alone: no SDK, no signing)'
        : undefined;
  row(
    'live heap per held shard (after GC)',
    cell,
    `${kib.toFixed(1)} KiB`,
    '',
    '',
    floor ?? '≤ 64 KiB',
    floor ? '—' : judge(kib <= 64),
  );
  const rate = Object.entries(c.kinesisPerS)
    .filter(([, n]) => n > 0)
    .map(([op, n]) => `${op} ${n}/s`)
    .join(', ');
  const measured1000 = (c.cpuFraction * 1000 * 100) / c.shards;
  // A machine this loaded reads fewer than the nominal one GetRecords per shard per idle second
  // (the reads queue), which lowers the CPU with them: judge polling at its CPU per read × the
  // nominal 1000 reads/s of 1000 shards (idleTimeBetweenReadsMillis 1000, answers in ~0 ms).
  const reads = c.kinesisPerS.GetRecords ?? 0;
  const nominal1000 = reads > 0 ? (c.cpuFraction / reads) * 1000 * 100 : measured1000;
  row(
    'idle CPU per 1000 held shards',
    cell,
    `${nominal1000.toFixed(1)} % of a core${reads > 0 ? ` at 1000 reads/s (${((c.cpuFraction / reads) * 1000).toFixed(2)} ms CPU per GetRecords; measured ${(c.cpuFraction * 100).toFixed(1)} % at ${reads} GetRecords/s, nominal ${c.shards}/s)` : ` (measured ${(c.cpuFraction * 100).toFixed(1)} % at ${c.shards} shards)`}; ${rate || 'no Kinesis calls'}; ${c.dynamoRequests} DynamoDB calls in ${(c.windowMs / 1000).toFixed(0)} s`,
    '',
    '',
    floor ?? '≤ 25 %',
    floor ? '—' : judge(nominal1000 <= 25),
  );
}
const lines: string[] = [];
const out = (l = '') => lines.push(l);
out(
  `Fleet scale (${results.filter((r) => !r.skipped).length} cells, ${costs.length} per-shard runs, ${((Date.now() - benchStart) / 1000).toFixed(0)} s): in-process consumers on the fake Kinesis + dynalite (child processes); units per shard-hour normalised to failover 10 s, lease maintenance counted over whole scan and renewal periods; KCL figures from its defaults at 10 s (kcl-model.ts), on the measured items without Shardline's own attributes (renewal stamp, wake hint), measured after each window; per-shard cost: one worker alone in a child process (shard-cost.ts), default idleTimeBetweenReadsMillis 1000, failover ${COST_FAILOVER / 1000} s.`,
);
out();
out('| measure | cell | Shardline | KCL 2.x | KCL 3 | target | verdict |');
out('|---|---|---|---|---|---|---|');
for (const cells of rows) out(`| ${cells.join(' | ')} |`);
out();
out(
  "busy*: the backend fell behind on renewals in the busy window, so the measured busy writes understate; busy* = the idle window's lease maintenance + the busy window's checkpoint writes, and the verdict is taken on it. Per-shard runs: heap = (after − before the consumer started, same process, same modules loaded, both after GC) / shards; CPU = process.cpuUsage() over the window / window, scaled by 1000 / shards. fanout: the retrieval builds its own HTTP/2 client (createFanoutHttpHandler) on the fake's h2c endpoint, every subscription on one session; fanout-http1: SubscribeToShard over an HTTP/1.1 client, one socket per shard.",
);
out();
out(
  `Targets: ${allMet ? 'every target met in what ran' : 'NOT every target met (see the verdicts)'}.`,
);
console.log(lines.join('\n'));
// Per-window detail, for the method notes in RESULTS.md.
for (const r of results) {
  if (r.skipped) continue;
  for (const [state, u] of [
    ['idle', r.idle],
    ['busy', r.busy],
  ] as const) {
    if (!u) continue;
    progress(
      `detail S=${r.shards} W=${r.workers} ${state}: at F: reads ${f0(u.atF.reads)}, writes ${f0(u.atF.writes)}; at 10 s whole periods ${f0(u.at10s.reads)} / ${f0(u.at10s.writes)}, plain window ${f0(u.windowCounted10s.reads)} / ${f0(u.windowCounted10s.writes)}; ${u.scans} scans; checkpoints ${f0(u.checkpointsPerShardHour)}/shard-h; renewals ${Math.round(u.renewalsOfNominal * 100)} % of nominal; mean DynamoDB latency ${u.meanLatencyMs.toFixed(0)} ms; item ${Math.round(r.itemBytes)} B (KCL items: idle ${Math.round(r.kclItemBytes.idle)} B, busy ${Math.round(r.kclItemBytes.busy)} B); ${JSON.stringify(u.requests)}; notes: ${r.notes.join('; ')}`,
    );
  }
}

probeClient.destroy();
await Promise.all(
  [kinesisSide.proc, dynamoSide.proc].map(
    (proc) =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.send('stop');
      }),
  ),
);

/**
 * Consumer benchmarks. The backend (fake Kinesis + dynalite) runs in a child process
 * (backend-process.ts), so this process's CPU time is the consumer's (or the bare loop's) and the
 * SDK's alone, as against the service:
 *  1. the polling consumer beside a bare SDK loop over the same data, in interleaved rounds:
 *     start-up (clients, shard listing, lease table and leases, first read of every shard) and
 *     steady state (from every shard's first batch to the last record) reported apart, as user
 *     records per CPU-second (process.cpuUsage) and per second;
 *  2. lease-table writes per second of one worker holding 100 shards.
 *
 * The bare loop is what a user writes without this library: ListShards, then per shard
 * GetShardIterator(TRIM_HORIZON) and GetRecords in a loop, each Kinesis record de-aggregated with
 * `deaggregate` from @shardline/aggregation (the decoder the consumer uses, so the ratio is the
 * cost of everything else), the next read no sooner than 200 ms after the last (the service's 5
 * reads per second per shard, which the consumer keeps too). Same Limit, same records, same no-op
 * processor.
 *
 * Run: pnpm bench (or pnpm build, then npx tsx packages/consumer/bench/consumer.bench.ts: benchmarks
 * run the built packages, as users do). BENCH_ONLY=consumer|bare runs one contender (for
 * node --cpu-prof), BENCH_ROUNDS sets the rounds (default 5), BENCH_SKIP_LEASES=1 skips part 2,
 * BENCH_PROFILE=<dir> profiles each round's steady state alone, BENCH_VARIANT and BENCH_CALLS=1
 * help diagnosis (see below).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { deaggregate, type DeaggregatedRecord } from '@shardline/aggregation';
import { fakeKinesisClient } from '@shardline/fake-kinesis';
import { Consumer, type RecordBatch } from '@shardline/consumer';
import { runConsumerUntil } from './run-consumer';
import { startBackend } from './start-backend';

const RECORDS = 400_000;
const SHARDS = 4;
/** The KPL's default AggregationMaxSize. */
const AGGREGATE_BYTES = 51_200;
/** Kinesis records per GetRecords: about 8,000 user records, 1.2 MB, per read. */
const LIMIT = 25;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ONLY = process.env.BENCH_ONLY;
const READ_INTERVAL_MS = 200;

const backend = await startBackend({
  BENCH_PER_SHARD: String(RECORDS / SHARDS),
  BENCH_AGGREGATE_BYTES: String(AGGREGATE_BYTES),
});

// BENCH_PROFILE=<dir>: a CPU profile of each round's steady state alone (not start-up, not module
// loading) into <dir>/<contender>-<round>.cpuprofile, for the README's breakdown.
const PROFILE_DIR = process.env.BENCH_PROFILE;
const profiler = PROFILE_DIR ? new Session() : undefined;
profiler?.connect();
profiler?.post('Profiler.enable');

const kinesisClient = () => fakeKinesisClient(backend.kinesisEndpoint, { region: backend.region });
const dynamoClient = backend.dynamoClient;

/** Wall seconds and CPU seconds (user + system) of this process since `from`. */
interface Mark {
  wall: bigint;
  cpu: NodeJS.CpuUsage;
  delivered: number;
}
const mark = (delivered: number): Mark => ({
  wall: process.hrtime.bigint(),
  cpu: process.cpuUsage(),
  delivered,
});
interface Phase {
  records: number;
  seconds: number;
  cpuSeconds: number;
}
const phase = (a: Mark, b: Mark): Phase => ({
  records: b.delivered - a.delivered,
  seconds: Number(b.wall - a.wall) / 1e9,
  cpuSeconds: (b.cpu.user - a.cpu.user + b.cpu.system - a.cpu.system) / 1e6,
});
interface Round {
  startup: Phase;
  steady: Phase;
  total: Phase;
}

/**
 * Counts deliveries like a no-op processor; marks the end of start-up (every shard has delivered
 * its first batch) and the end (every record delivered).
 */
function tally(
  onEnd: (round: Round) => void,
  name: string,
): (shardId: string, records: number) => void {
  const start = mark(0);
  const seen = new Set<string>();
  let steady: Mark | undefined;
  let delivered = 0;
  return (shardId, records) => {
    delivered += records;
    if (!steady) {
      seen.add(shardId);
      if (seen.size === SHARDS) {
        steady = mark(delivered);
        profiler?.post('Profiler.start');
      }
    }
    if (delivered >= RECORDS) {
      const end = mark(delivered);
      profiler?.post('Profiler.stop', (error, result) => {
        if (!error)
          writeFileSync(`${PROFILE_DIR}/${name}.cpuprofile`, JSON.stringify(result.profile));
      });
      onEnd({
        startup: phase(start, steady!),
        steady: phase(steady!, end),
        total: phase(start, end),
      });
    }
  };
}

async function consumerRound(round: number, extra: object = {}): Promise<Round> {
  gc();
  let result!: (r: Round) => void;
  const done = new Promise<Round>((resolve) => (result = resolve));
  const deliver = tally(result, `consumer${Object.keys(extra).length ? '-variant' : ''}-${round}`);
  const kinesis = kinesisClient();
  const dynamo = dynamoClient();
  countCalls(kinesis);
  countCalls(dynamo);
  const consumer = new Consumer({
    streamName: 'bench',
    applicationName: `bench-app-${round}-${Object.keys(extra).length}`,
    kinesisClient: kinesis,
    dynamoDBClient: dynamo,
    initialPosition: 'TRIM_HORIZON',
    maxRecords: LIMIT,
    ...extra,
    processor: {
      processRecords(batch: RecordBatch) {
        deliver(batch.shardId, batch.records.length);
      },
    },
  });
  return runConsumerUntil(consumer, done, kinesis, dynamo);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function bareShard(
  kinesis: KinesisClient,
  shardId: string,
  deliver: (shardId: string, records: number) => void,
): Promise<void> {
  let iterator = (
    await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: 'bench',
        ShardId: shardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    )
  ).ShardIterator;
  let read = 0;
  let nextReadAt = 0;
  // The bench knows how many records each shard holds; a real loop polls on.
  while (iterator && read < RECORDS / SHARDS) {
    const wait = nextReadAt - Date.now();
    if (wait > 0) await sleep(wait);
    const out = await kinesis.send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: LIMIT }),
    );
    nextReadAt = Date.now() + READ_INTERVAL_MS;
    const users: DeaggregatedRecord[] = [];
    for (const r of out.Records ?? []) {
      for (const user of deaggregate({
        data: r.Data!,
        partitionKey: r.PartitionKey!,
        sequenceNumber: r.SequenceNumber!,
        ...(r.ApproximateArrivalTimestamp
          ? { approximateArrivalTimestamp: r.ApproximateArrivalTimestamp }
          : {}),
      }))
        users.push(user);
    }
    read += users.length;
    if (users.length > 0) deliver(shardId, users.length);
    iterator = out.NextShardIterator;
  }
}

async function bareRound(round: number): Promise<Round> {
  gc();
  let result!: (r: Round) => void;
  const done = new Promise<Round>((resolve) => (result = resolve));
  const deliver = tally(result, `bare-${round}`);
  const kinesis = kinesisClient();
  const listed = await kinesis.send(new ListShardsCommand({ StreamName: 'bench' }));
  await Promise.all((listed.Shards ?? []).map((s) => bareShard(kinesis, s.ShardId!, deliver)));
  const r = await done;
  kinesis.destroy();
  return r;
}

/** Calls per command of the consumer's rounds, with BENCH_CALLS=1 (diagnosis). */
const calls = new Map<string, number>();
function countCalls(client: KinesisClient | DynamoDBClient): void {
  if (process.env.BENCH_CALLS !== '1') return;
  (client as KinesisClient).middlewareStack.add(
    (next, context) => (args) => {
      calls.set(context.commandName!, (calls.get(context.commandName!) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize' },
  );
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const consumerRounds: Round[] = [];
const bareRounds: Round[] = [];
// Diagnosis: BENCH_VARIANT='{"autoCheckpoint":false}' adds a third contender, the consumer with
// those options, to measure what one part costs.
const variant = process.env.BENCH_VARIANT
  ? (JSON.parse(process.env.BENCH_VARIANT) as object)
  : undefined;
const variantRounds: Round[] = [];
for (let i = 0; i < ROUNDS; i++) {
  // Rotating which goes first spreads any drift in machine load over every contender.
  const contenders = variant ? ['consumer', 'bare', 'variant'] : ['consumer', 'bare'];
  const order = contenders.map((_, j) => contenders[(i + j) % contenders.length]!);
  for (const who of order) {
    if (ONLY && ONLY !== who) continue;
    if (who === 'consumer') consumerRounds.push(await consumerRound(i));
    else if (who === 'bare') bareRounds.push(await bareRound(i));
    else variantRounds.push(await consumerRound(i, variant));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const perCpu = (p: Phase) => p.records / p.cpuSeconds;
const perSecond = (p: Phase) => p.records / p.seconds;
const k = (n: number) => `${Math.round(n / 1000).toLocaleString()}k`;
const spread = (rounds: Round[], f: (r: Round) => number, fmt: (n: number) => string) => {
  const xs = rounds.map(f);
  return `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
};
const ms = (s: number) => `${Math.round(s * 1000)} ms`;

console.log(
  `1. polling path, ${RECORDS} user records of 100 B in ${backend.kinesisRecords} aggregates (${AGGREGATE_BYTES} B, the KPL's default) over ${SHARDS} shards, GetRecords Limit ${LIMIT}; ${ROUNDS} interleaved rounds, median (min–max)`,
);
if (consumerRounds.length && bareRounds.length) {
  const totalSeconds = median(consumerRounds.map((r) => r.total.seconds));
  const bareTotalSeconds = median(bareRounds.map((r) => r.total.seconds));
  console.log(
    `   consumer (leases + GetRecords + de-aggregate + dispatch): ${Math.round(RECORDS / totalSeconds).toLocaleString()} user rec/s (${totalSeconds.toFixed(2)} s, start-up and lease taking included)`,
  );
  console.log(
    `   bare GetRecords loop, same data, de-aggregated:           ${Math.round(RECORDS / bareTotalSeconds).toLocaleString()} user rec/s equivalent (${bareTotalSeconds.toFixed(2)} s); ratio ${(bareTotalSeconds / totalSeconds).toFixed(2)}x`,
  );
}
for (const [name, rounds] of [
  ['consumer', consumerRounds],
  ['bare loop', bareRounds],
  ['variant', variantRounds],
] as const) {
  if (!rounds.length) continue;
  console.log(
    `   ${name.padEnd(9)} steady state: ${spread(rounds, (r) => perCpu(r.steady), k)} user rec per CPU-s, ${spread(rounds, (r) => perSecond(r.steady), k)} user rec/s (${k(median(rounds.map((r) => r.steady.records)))} records)`,
  );
  console.log(
    `   ${name.padEnd(9)} start-up:     ${spread(rounds, (r) => r.startup.cpuSeconds, ms)} CPU, ${spread(rounds, (r) => r.startup.seconds, ms)} wall (${k(median(rounds.map((r) => r.startup.records)))} records in it)`,
  );
}
if (consumerRounds.length && bareRounds.length) {
  // Ratios per pair of rounds run side by side, then their median: load that drifts over the run
  // then weighs on both sides of each ratio.
  const pairs = consumerRounds.map((c, i) => [c, bareRounds[i]!] as const);
  const cpuRatio = median(pairs.map(([c, b]) => perCpu(c.steady) / perCpu(b.steady)));
  const wallRatio = median(pairs.map(([c, b]) => perSecond(c.steady) / perSecond(b.steady)));
  const startupCpu = median(pairs.map(([c, b]) => c.startup.cpuSeconds - b.startup.cpuSeconds));
  console.log(
    `   steady state, consumer / bare loop: ${cpuRatio.toFixed(2)}x per CPU-second (target ≥ 0.85x), ${wallRatio.toFixed(2)}x per second (both paced at 5 reads/s per shard)`,
  );
  console.log(
    `   start-up, consumer − bare loop: +${ms(startupCpu)} CPU (lease table, shard sync, leases, checkpoint reads)`,
  );
  if (variantRounds.length) {
    const variantRatio = median(
      variantRounds.map((v, i) => perCpu(v.steady) / perCpu(bareRounds[i]!.steady)),
    );
    console.log(
      `   steady state, variant ${process.env.BENCH_VARIANT} / bare loop: ${variantRatio.toFixed(2)}x per CPU-second`,
    );
  }
}

if (calls.size) console.log('   consumer calls, all rounds:', Object.fromEntries(calls));

// 2. Lease-table writes of a worker holding 100 shards, default failover (renewal every 3.3 s).
if (process.env.BENCH_SKIP_LEASES !== '1' && !ONLY) {
  let writes = 0;
  const kinesis = kinesisClient();
  const dynamo = dynamoClient();
  dynamo.middlewareStack.add(
    (next) => async (args) => {
      const name = (args.input as { UpdateExpression?: string }).UpdateExpression;
      if (name) writes++;
      return next(args);
    },
    { step: 'initialize' },
  );
  const many = new Consumer({
    streamName: 'hundred',
    applicationName: 'bench-100',
    kinesisClient: kinesis,
    dynamoDBClient: dynamo,
    initialPosition: 'LATEST',
    processor: { processRecords() {} },
  });
  await many.start();
  while (many.ownedShards().length < 100) await sleep(100);
  writes = 0;
  const window = 10_000;
  await sleep(window);
  console.log(
    `\n2. lease-table writes of one worker holding 100 shards (failover 10 s): ${(writes / (window / 1000)).toFixed(1)} writes/s (renewals: 100 leases every 3.3 s ≈ 30/s expected; no checkpoints without records)`,
  );
  await many.stop();
  kinesis.destroy();
  dynamo.destroy();
}
await backend.stop();

/**
 * Checkpoint cadence (`checkpointIntervalMillis`): what each cadence costs and what it saves, on a
 * busy polled shard. The backend (fake Kinesis + dynalite) runs in a child process
 * (backend-process.ts), so this process's CPU time is the consumer's and the SDK's alone.
 *
 *  A. CPU per record: the polling consumer drains stream 'bench' (4 shards of 100-byte user
 *     records in 51,200-byte aggregates) at GetRecords Limit 6 (≈ 1,900 user records a read,
 *     ≈ 10,000 a second per shard at the 5 reads/s/shard floor: a shard written at its 1 MiB/s),
 *     once per cadence per round, cadences interleaved (the order rotates each round). Steady
 *     state (every shard's first batch to the last record): user records per CPU-second
 *     (process.cpuUsage), as a ratio to the per-batch cadence of the same round; also checkpoint
 *     writes and the most records a shard had delivered since its last checkpoint (what a crash
 *     at that instant delivers again).
 *  B. Writes and the crash-replay window over a minute: one consumer per cadence, all at once,
 *     on stream 'flow' (4 shards of 10-record aggregates, Limit 1: every read brings records,
 *     little CPU), for WINDOW_MS after every shard's first batch: checkpoint writes per busy
 *     shard-hour, and the longest time and the most batches a shard had delivered since its last
 *     checkpoint (measured at each batch, the batch just delivered included: a crash then
 *     delivers again exactly those).
 *
 * Run: pnpm bench (it runs last, about 4–5 minutes), or pnpm build, then
 * npx tsx --expose-gc packages/consumer/bench/checkpoint-cadence.bench.ts (with
 * --conditions=source to run the sources). BENCH_ROUNDS (default 2) rounds of part A,
 * BENCH_WINDOW_MS (default 62,000) for part B, BENCH_CADENCES=0,1000 picks cadences.
 */
import { fakeKinesisClient } from '@shardline/fake-kinesis';
import { Consumer, type ConsumerMetricEvent } from '@shardline/consumer';
import { runConsumerUntil } from './run-consumer';
import { startBackend } from './start-backend';

const SHARDS = 4;
const PER_SHARD = 130_000;
const RECORDS = SHARDS * PER_SHARD;
const LIMIT = 6;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 62_000);
/** Reads per shard in part B's window, with a margin: each brings one 10-record aggregate. */
const FLOW_AGGREGATES = Math.ceil((WINDOW_MS / 1000 + 15) * 5);
const CADENCES = (process.env.BENCH_CADENCES ?? '0,250,1000,2000,5000,30000')
  .split(',')
  .map(Number);

const backend = await startBackend({
  BENCH_PER_SHARD: String(PER_SHARD),
  BENCH_AGGREGATE_BYTES: '51200',
  BENCH_FLOW_PER_SHARD: String(FLOW_AGGREGATES),
});

/**
 * Per shard: batches and records delivered since its last checkpoint, and since when. A
 * checkpoint covers every record delivered before it (reads are pulled: nothing else is
 * delivered on the shard while it is written).
 */
class ReplayMeter {
  writes = 0;
  maxRecords = 0;
  maxBatches = 0;
  maxMillis = 0;
  private readonly open = new Map<string, { records: number; batches: number; since: number }>();

  constructor(private readonly counting: () => boolean) {}

  onMetric = (e: ConsumerMetricEvent): void => {
    const now = performance.now();
    if (e.type === 'batch') {
      const o = this.open.get(e.shardId) ?? { records: 0, batches: 0, since: now };
      o.records += e.records;
      o.batches += 1;
      this.open.set(e.shardId, o);
      if (!this.counting()) return;
      this.maxRecords = Math.max(this.maxRecords, o.records);
      this.maxBatches = Math.max(this.maxBatches, o.batches);
      this.maxMillis = Math.max(this.maxMillis, now - o.since);
    } else if (e.type === 'checkpoint') {
      // The next delivery opens the next window: a crash replays from the batch after this.
      this.open.set(e.shardId, { records: 0, batches: 0, since: now });
      if (this.counting()) this.writes++;
    }
  };
}

const dynamoClient = backend.dynamoClient;

const cpuNow = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

interface RoundA {
  perCpu: number;
  steadyRecords: number;
  steadySeconds: number;
  writes: number;
  maxReplayRecords: number;
}

async function roundA(cadence: number, round: number): Promise<RoundA> {
  (globalThis as { gc?: () => void }).gc?.();
  const kinesis = fakeKinesisClient(backend.kinesisEndpoint, { region: backend.region });
  const dynamo = dynamoClient();
  let steady: { cpu: number; wall: number; delivered: number } | undefined;
  const meter = new ReplayMeter(() => steady !== undefined);
  const seen = new Set<string>();
  let delivered = 0;
  let finish!: (r: RoundA) => void;
  const done = new Promise<RoundA>((resolve) => (finish = resolve));
  const consumer = new Consumer({
    streamName: 'bench',
    applicationName: `cadence-a-${cadence}-${round}`,
    kinesisClient: kinesis,
    dynamoDBClient: dynamo,
    initialPosition: 'TRIM_HORIZON',
    maxRecords: LIMIT,
    checkpointIntervalMillis: cadence,
    onMetric: meter.onMetric,
    processor: {
      processRecords(batch) {
        delivered += batch.records.length;
        if (!steady) {
          seen.add(batch.shardId);
          if (seen.size === SHARDS) steady = { cpu: cpuNow(), wall: performance.now(), delivered };
        }
        if (delivered >= RECORDS && steady) {
          const seconds = (performance.now() - steady.wall) / 1000;
          finish({
            perCpu: (delivered - steady.delivered) / (cpuNow() - steady.cpu),
            steadyRecords: delivered - steady.delivered,
            steadySeconds: seconds,
            writes: meter.writes,
            maxReplayRecords: meter.maxRecords,
          });
        }
      },
    },
  });
  return runConsumerUntil(consumer, done, kinesis, dynamo);
}

const partA = new Map<number, RoundA[]>(CADENCES.map((c) => [c, []]));
for (let i = 0; i < ROUNDS; i++) {
  const order = CADENCES.map((_, j) => CADENCES[(i + j) % CADENCES.length]!);
  for (const cadence of order) partA.get(cadence)!.push(await roundA(cadence, i));
}

// B: every cadence at once, over one window.
async function partB(): Promise<Map<number, ReplayMeter>> {
  const meters = new Map<number, ReplayMeter>();
  const firsts = new Map<number, Set<string>>();
  let windowOpen = false;
  const started = CADENCES.map((cadence) => {
    const meter = new ReplayMeter(() => windowOpen);
    meters.set(cadence, meter);
    const first = new Set<string>();
    firsts.set(cadence, first);
    const kinesis = fakeKinesisClient(backend.kinesisEndpoint, { region: backend.region });
    const dynamo = dynamoClient();
    const consumer = new Consumer({
      streamName: 'flow',
      applicationName: `cadence-b-${cadence}`,
      kinesisClient: kinesis,
      dynamoDBClient: dynamo,
      initialPosition: 'TRIM_HORIZON',
      maxRecords: 1,
      checkpointIntervalMillis: cadence,
      onMetric: meter.onMetric,
      processor: {
        processRecords(batch) {
          first.add(batch.shardId);
        },
      },
    });
    return { kinesis, dynamo, consumer };
  });
  await Promise.all(started.map((c) => c.consumer.start()));
  while (![...firsts.values()].every((s) => s.size === SHARDS))
    await new Promise((r) => setTimeout(r, 50));
  windowOpen = true;
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  windowOpen = false;
  await Promise.all(started.map((c) => c.consumer.stop()));
  for (const c of started) {
    c.kinesis.destroy();
    c.dynamo.destroy();
  }
  return meters;
}
const b = await partB();

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const name = (c: number) => (c === 0 ? 'per batch' : c < 1000 ? `${c} ms` : `${c / 1000} s`);
const base = partA.get(0);
console.log(
  `A. ${RECORDS.toLocaleString()} user records of 100 B over ${SHARDS} shards, Limit ${LIMIT} (≈ ${Math.round(median(partA.get(CADENCES[0]!)!.map((r) => r.steadyRecords / r.steadySeconds / SHARDS))).toLocaleString()} user rec/s per shard, 5 reads/s/shard); ${ROUNDS} interleaved rounds, median (min–max)`,
);
for (const cadence of CADENCES) {
  const rounds = partA.get(cadence)!;
  const ratios = base ? rounds.map((r, i) => r.perCpu / base[i]!.perCpu) : [];
  const steadyS = median(rounds.map((r) => r.steadySeconds));
  const replay = median(rounds.map((r) => r.maxReplayRecords));
  const shorter = cadence > steadyS * 1000;
  console.log(
    `   ${name(cadence).padEnd(9)} ${Math.round(median(rounds.map((r) => r.perCpu)) / 1000)}k rec/CPU-s` +
      (ratios.length
        ? `, ${median(ratios).toFixed(2)}x per batch (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`
        : '') +
      `; ${median(rounds.map((r) => r.writes))} checkpoint writes in ${steadyS.toFixed(1)} s; most records a crash would replay: ${shorter ? '≥ ' : ''}${replay.toLocaleString()}${shorter ? ' (run shorter than the interval)' : ''}`,
  );
}
console.log(
  `B. ${CADENCES.length} consumers at once, ${SHARDS} shards each, every read non-empty (Limit 1, 10-record aggregates), ${WINDOW_MS / 1000} s window`,
);
for (const cadence of CADENCES) {
  const m = b.get(cadence)!;
  const perShardHour = (m.writes / SHARDS / (WINDOW_MS / 1000)) * 3600;
  console.log(
    `   ${name(cadence).padEnd(9)} ${Math.round(perShardHour).toLocaleString()} checkpoint writes per busy shard-hour; crash replay at most ${Math.round(m.maxMillis)} ms of deliveries, ${m.maxBatches} batches (≈ ${(m.maxBatches * 2000).toLocaleString()} records at 2,000 a read, a shard at 10,000/s)`,
  );
}

await backend.stop();

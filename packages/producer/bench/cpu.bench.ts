/**
 * CPU per record against what a user writes instead (issue 16): records per CPU-second of
 * aws-kinesis-agg's `aggregate` + the SDK's PutRecords, of `put` and of `putMany`, 200,000
 * records of 100 B over 1,000 keys into the same in-process service (the fake, answering at once),
 * on three paths:
 *  - cold: a new producer, every record put before its shard map has loaded (a service starting);
 *  - steady: the map loaded, 1,000 records per event-loop turn;
 *  - beyond: the map loaded, all 200,000 put at once against the default bound of 100,000 records.
 * CPU is process.cpuUsage (user + system) of the measured run, so waiting (linger, I/O) is not
 * counted. Each measurement runs in its own process (one warm-up run, a full GC, then the measured
 * run), and the contenders are interleaved round by round (agg, put, putMany, agg, ...), so load
 * on the machine falls on all of them alike. BENCH_CPU_ROUNDS (default 3) sets the rounds;
 * BENCH_FROM_SRC=1 runs the TypeScript sources instead of the built packages.
 * Run: pnpm bench (or pnpm build, then npx tsx packages/producer/bench/cpu.bench.ts)
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchPath, Contender } from './cpu-worker';

const rounds = Number(process.env.BENCH_CPU_ROUNDS ?? 3);
const paths: BenchPath[] = (process.env.BENCH_CPU_PATHS?.split(',') as BenchPath[]) ?? [
  'cold',
  'steady',
  'beyond',
];
/** A measured side: what runs (`contender`), and from which build of the producer. */
interface Side {
  label: string;
  contender: Contender;
  /** Target ratio against aws-kinesis-agg + SDK, if any. */
  target?: number;
  /** A copy of the producer's sources to run instead of the built package (before/after). */
  entry?: string;
}
const before = process.env.BENCH_CPU_BEFORE;
const sides: Side[] = [
  { label: 'aws-kinesis-agg+SDK', contender: 'agg' },
  { label: 'put', contender: 'put', target: 1.0 },
  { label: 'putMany', contender: 'putMany', target: 1.5 },
  // The baseline's PutRecords alone (its aggregates built beforehand): what sending those bytes
  // in those calls costs. Where a producer sends the same calls (cold, beyond) no producer's
  // ratio can pass this one's; on the steady path the baseline makes 200 small calls and the
  // producer about 15, so it is no ceiling there.
  { label: 'baseline sends only', contender: 'sdk', target: 0 },
  // BENCH_CPU_BEFORE=<index.ts of a copy of older sources>: the same producer before a change,
  // interleaved in the same rounds.
  ...(before
    ? ([
        { label: 'put (before)', contender: 'put', target: 1.0, entry: before },
        { label: 'putMany (before)', contender: 'putMany', target: 1.5, entry: before },
      ] as Side[])
    : []),
];
const worker = fileURLToPath(new URL('./cpu-worker.ts', import.meta.url));

function measure(side: Side, path: BenchPath): Promise<number> {
  const execArgv = ['--expose-gc', '--import', 'tsx'];
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [...execArgv, worker, side.contender, path],
      {
        maxBuffer: 1 << 20,
        env: { ...process.env, NODE_NO_WARNINGS: '1', BENCH_PRODUCER_ENTRY: side.entry ?? '' },
      },
      (error, stdout) => {
        if (error) return reject(error);
        const { cpuSeconds, records } = JSON.parse(stdout.trim().split('\n').pop()!) as {
          cpuSeconds: number;
          records: number;
        };
        resolve(records / cpuSeconds);
      },
    ),
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const k = (n: number) => `${(n / 1000).toFixed(0)}k`;

console.log(
  `CPU per record: 200,000 × 100 B, 1,000 keys, in-process Kinesis; records per CPU-second, ${rounds} interleaved rounds, one process per measurement`,
);
const rates = new Map<string, number[]>();
for (let round = 0; round < rounds; round++)
  for (const path of paths)
    for (const side of sides) {
      const key = `${path}/${side.label}`;
      if (!rates.has(key)) rates.set(key, []);
      rates.get(key)!.push(await measure(side, path));
    }

const cell = (xs: number[]) => `${k(median(xs))} (${k(Math.min(...xs))}–${k(Math.max(...xs))})`;
console.log(
  `${'path'.padEnd(8)}${'side'.padEnd(22)}${'records per CPU-second (median, range)'.padEnd(40)}vs aws-kinesis-agg+SDK (median of the rounds' ratios, range)`,
);
for (const path of paths) {
  const base = rates.get(`${path}/${sides[0]!.label}`)!;
  for (const side of sides) {
    const xs = rates.get(`${path}/${side.label}`)!;
    let versus = '';
    if (side.target !== undefined) {
      // Ratios per round (against the same round's baseline), so a loaded moment weighs on both.
      const rs = xs.map((r, i) => r / base[i]!);
      const m = median(rs);
      const range = `${m.toFixed(2)}× (${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)})`;
      versus =
        side.target === 0
          ? `${range}: aggregation at no cost, the same calls`
          : `${range}, target ≥ ${side.target.toFixed(1)}×: ${m >= side.target ? 'met' : 'NOT met'}`;
    }
    console.log(`${path.padEnd(8)}${side.label.padEnd(22)}${cell(xs).padEnd(40)}${versus}`);
  }
}

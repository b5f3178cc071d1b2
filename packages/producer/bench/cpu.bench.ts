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
const contenders: Contender[] = ['agg', 'put', 'putMany'];
const targets: Record<Exclude<Contender, 'agg'>, number> = { put: 1.0, putMany: 1.5 };
const worker = fileURLToPath(new URL('./cpu-worker.ts', import.meta.url));

function measure(contender: Contender, path: BenchPath): Promise<number> {
  const execArgv = ['--expose-gc', '--import', 'tsx'];
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [...execArgv, worker, contender, path],
      { maxBuffer: 1 << 20 },
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
    for (const c of contenders) {
      const key = `${path}/${c}`;
      if (!rates.has(key)) rates.set(key, []);
      rates.get(key)!.push(await measure(c, path));
    }

console.log(
  'path     aws-kinesis-agg+SDK    put                    putMany                put/agg (target ≥ 1.0)      putMany/agg (target ≥ 1.5)',
);
for (const path of paths) {
  const base = rates.get(`${path}/agg`)!;
  const cell = (xs: number[]) =>
    `${k(median(xs))} (${k(Math.min(...xs))}–${k(Math.max(...xs))})`.padEnd(21);
  // Ratios per round (the same round's baseline), so a loaded moment weighs on both sides.
  const ratio = (c: Exclude<Contender, 'agg'>) => {
    const rs = rates.get(`${path}/${c}`)!.map((r, i) => r / base[i]!);
    const m = median(rs);
    const verdict = m >= targets[c] ? 'met' : 'NOT met';
    return `${m.toFixed(2)}× (${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}) ${verdict}`.padEnd(
      27,
    );
  };
  console.log(
    `${path.padEnd(7)}  ${cell(base)}  ${cell(rates.get(`${path}/put`)!)}  ${cell(rates.get(`${path}/putMany`)!)}  ${ratio('put')}  ${ratio('putMany')}`,
  );
}

/**
 * Aggregation and de-aggregation throughput, ours beside aws-kinesis-agg's on the same input in
 * the same run, printed as ratios. Checksums on everywhere. The last column is the ratio a library
 * would reach if it spent nothing but the MD5 both must compute: no implementation can beat it.
 * Also: the two snappy codecs (native addon and pure-JS fallback).
 *   pnpm bench   (or pnpm build, then npx tsx packages/aggregation/bench/aggregation.bench.ts: benchmarks run the built packages, as users do)
 */
import { createRequire } from 'node:module';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import snappyjs from 'snappyjs';
import { aggregate, deaggregate } from '@shardline/aggregation';
import { best, timeOnce } from '../../../scripts/bench-timing';
import { loadNativeSnappy } from '../src/snappy';
import { jsSnappy } from '../src/snappy-js';

const require = createRequire(import.meta.url);
const agg = require('aws-kinesis-agg');

const RECORDS = 100_000;
/** Timed rounds per side and operation. */
const ROUNDS = 10;

/**
 * Two key shapes: 1,000 keys repeating (users, devices) and a fresh UUID per record (the common way
 * to spread load), which makes every record add a key-table entry.
 */
const KEY_SHAPES = {
  '1k keys': (i: number) => `partition-key-${i % 1000}`,
  'uuid keys': () => randomUUID(),
} as const;

function records(size: number, key: (i: number) => string) {
  return Array.from({ length: RECORDS }, (_, i) => ({
    partitionKey: key(i),
    data: randomBytes(size),
  }));
}

/**
 * Times `ours` and `theirs` in alternating rounds (order swapped each round, one warm-up each) and
 * returns the best time of each, in seconds. Interleaving makes a load spike on the machine hit
 * both sides alike instead of skewing the ratio, which separate best-of-n runs did by up to 2×.
 */
async function paired(
  rounds: number,
  ours: () => unknown,
  theirs: () => unknown,
): Promise<[number, number]> {
  await ours();
  await theirs();
  let bestOurs = Infinity;
  let bestTheirs = Infinity;
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      bestOurs = Math.min(bestOurs, await timeOnce(ours));
      bestTheirs = Math.min(bestTheirs, await timeOnce(theirs));
    } else {
      bestTheirs = Math.min(bestTheirs, await timeOnce(theirs));
      bestOurs = Math.min(bestOurs, await timeOnce(ours));
    }
  }
  return [bestOurs, bestTheirs];
}

function theirAggregate(
  input: { partitionKey: string; data: Buffer }[],
): Promise<{ partitionKey: string; data: Buffer }[]> {
  return new Promise((resolve, reject) => {
    const out: { partitionKey: string; data: Buffer }[] = [];
    agg.aggregate(
      input,
      (r: { partitionKey: string; data: Buffer }, done: () => void) => (out.push(r), done()),
      () => resolve(out),
      reject,
    );
  });
}

function theirDeaggregate(record: object): number {
  let n = 0;
  agg.deaggregateSync(record, true, (err: Error | null, rs: unknown[]) => {
    if (err) throw err;
    n += rs.length;
  });
  return n;
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);
const rows: string[][] = [
  [
    'operation',
    'keys',
    'size',
    'shardline rec/s',
    'MB/s',
    'aws-kinesis-agg rec/s',
    'MB/s',
    'ratio',
    'MD5-bound ratio',
  ],
];
const row = (
  op: string,
  keys: string,
  size: number,
  bytes: number,
  ours: number,
  theirs: number,
  md5: number,
) =>
  rows.push([
    op,
    keys,
    `${size} B`,
    fmt(RECORDS / ours),
    (bytes / 1e6 / ours).toFixed(0),
    fmt(RECORDS / theirs),
    (bytes / 1e6 / theirs).toFixed(0),
    `${(theirs / ours).toFixed(2)}x`,
    `${(theirs / md5).toFixed(2)}x`,
  ]);

/** Seconds MD5 alone takes over `buffers`: both libraries must spend it (checksums on). */
function md5Seconds(buffers: Uint8Array[]): number {
  let min = Infinity;
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    for (const b of buffers) createHash('md5').update(b).digest();
    min = Math.min(min, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return min;
}

for (const [keys, key] of Object.entries(KEY_SHAPES)) {
  for (const size of [100, 1024]) {
    const input = records(size, key);
    const bytes = RECORDS * size;

    // aws-kinesis-agg only rewrites string data (to Buffer); with Buffer data it leaves the input
    // as it is, so both sides take the same array, untimed copies nowhere.
    const [ourAgg, theirAgg] = await paired(
      ROUNDS,
      () => aggregate(input),
      () => theirAggregate(input),
    );
    const aggregates = aggregate(input).map((r) => r.data);
    const md5 = md5Seconds(aggregates);
    row('aggregate', keys, size, bytes, ourAgg, theirAgg, md5);

    // From what a Lambda event carries (base64 text) and from what GetRecords returns (bytes;
    // aws-kinesis-agg takes those in its SDK v3 shape).
    const b64 = aggregates.map((d) => Buffer.from(d).toString('base64'));
    const count = (n: number) => {
      if (n !== RECORDS) throw new Error(`lost records: ${n}`);
    };
    const [ourB64, theirB64] = await paired(
      ROUNDS,
      () =>
        count(
          b64.reduce(
            (n, d) =>
              n +
              deaggregate({
                data: Buffer.from(d, 'base64'),
                partitionKey: 'a',
                sequenceNumber: '1',
              }).length,
            0,
          ),
        ),
      () =>
        count(
          b64.reduce(
            (n, d) => n + theirDeaggregate({ data: d, partitionKey: 'a', sequenceNumber: '1' }),
            0,
          ),
        ),
    );
    row('deaggregate base64', keys, size, bytes, ourB64, theirB64, md5);
    const [ourBytes, theirBytes] = await paired(
      ROUNDS,
      () =>
        count(
          aggregates.reduce(
            (n, d) => n + deaggregate({ data: d, partitionKey: 'a', sequenceNumber: '1' }).length,
            0,
          ),
        ),
      () =>
        count(
          aggregates.reduce(
            (n, d) => n + theirDeaggregate({ Data: d, PartitionKey: 'a', SequenceNumber: '1' }),
            0,
          ),
        ),
    );
    row('deaggregate bytes', keys, size, bytes, ourBytes, theirBytes, md5);
  }
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));

// Snappy: the two codecs snappy envelopes use, both directions: the native addon (when it loads)
// and the pure-JS fallback (snappyjs's compressor, our bounded decoder). Internal modules, as the
// choice between them is made per process; snappyjs's own decoder is shown for reference only
// (unused: it does not bound its reads and writes, see src/snappy-js.ts).
const native = loadNativeSnappy();
console.log(
  '\nsnappy codec (MB/s, best of 5)   pure-JS fallback   native addon   ratio fallback/native   snappyjs decoder',
);
const text = Buffer.from(
  Array.from(
    { length: 20_000 },
    (_, i) => `{"id":${i},"user":"user-${i % 977}","event":"click","ts":${1_700_000_000 + i}}`,
  ).join('\n'),
);
for (const [label, size] of [
  ['1 KiB', 1024],
  ['1 MiB', 1024 * 1024],
] as const) {
  const data = text.subarray(0, size);
  const reps = Math.max(1, Math.floor((8 * 1024 * 1024) / size));
  const repeat = (fn: () => unknown) => () => {
    for (let i = 0; i < reps; i++) fn();
  };
  const jsC = await best(
    5,
    repeat(() => jsSnappy.compress(data)),
  );
  const nC = await best(
    5,
    repeat(() => native.compress(data)),
  );
  const packed = native.compress(data);
  const jsD = await best(
    5,
    repeat(() => jsSnappy.uncompress(packed, data.length)),
  );
  const nD = await best(
    5,
    repeat(() => native.uncompress(packed, data.length)),
  );
  const theirD = await best(
    5,
    repeat(() => snappyjs.uncompress(packed)),
  );
  const mbps = (t: number) => ((reps * size) / 1e6 / t).toFixed(0).padStart(6);
  console.log(
    `  compress   ${label.padEnd(6)}             ${mbps(jsC)}         ${mbps(nC)}                  ${(nC / jsC).toFixed(2)}x`,
  );
  console.log(
    `  uncompress ${label.padEnd(6)}             ${mbps(jsD)}         ${mbps(nD)}                  ${(nD / jsD).toFixed(2)}x             ${mbps(theirD)}`,
  );
}

/**
 * Aggregation and de-aggregation throughput, ours beside aws-kinesis-agg's on the same input in
 * the same run, printed as ratios. Checksums on everywhere. Also: the two snappy codecs.
 *   pnpm bench   (or: npx tsx packages/aggregation/bench/aggregation.bench.ts)
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import snappyjs from 'snappyjs';
import { aggregate, deaggregate } from '../src/index';

const require = createRequire(import.meta.url);
const agg = require('aws-kinesis-agg');
const snappyNative = require('snappy') as { compressSync(b: Buffer): Buffer; uncompressSync(b: Buffer): Buffer };

const RECORDS = 100_000;

function records(size: number) {
  return Array.from({ length: RECORDS }, (_, i) => ({ partitionKey: `partition-key-${i % 1000}`, data: randomBytes(size) }));
}

/** Best of `runs` timings of `fn` (after one warm-up), in seconds. */
async function best(runs: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  await fn();
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    min = Math.min(min, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return min;
}

function theirAggregate(input: { partitionKey: string; data: Buffer }[]): Promise<{ partitionKey: string; data: Buffer }[]> {
  return new Promise((resolve, reject) => {
    const out: { partitionKey: string; data: Buffer }[] = [];
    agg.aggregate(input, (r: { partitionKey: string; data: Buffer }, done: () => void) => (out.push(r), done()), () => resolve(out), reject);
  });
}

function theirDeaggregate(b64: string): number {
  let n = 0;
  agg.deaggregateSync({ data: b64, partitionKey: 'a', sequenceNumber: '1' }, true, (err: Error | null, rs: unknown[]) => {
    if (err) throw err;
    n += rs.length;
  });
  return n;
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);
const rows: string[][] = [['operation', 'size', 'shardline rec/s', 'MB/s', 'aws-kinesis-agg rec/s', 'MB/s', 'ratio']];

for (const size of [100, 1024]) {
  const input = records(size);
  const mb = (RECORDS * size) / 1e6;

  const ourAgg = await best(5, () => aggregate(input));
  const theirAgg = await best(3, () => theirAggregate(input.map((r) => ({ ...r }))));
  rows.push(['aggregate', `${size} B`, fmt(RECORDS / ourAgg), (mb / ourAgg).toFixed(0), fmt(RECORDS / theirAgg), (mb / theirAgg).toFixed(0), `${(theirAgg / ourAgg).toFixed(2)}x`]);

  // Both sides start from what a consumer receives in a Lambda event: base64 text.
  const b64 = aggregate(input).map((r) => Buffer.from(r.data).toString('base64'));
  const ourDeagg = await best(5, () => {
    let n = 0;
    for (const d of b64) n += deaggregate({ data: Buffer.from(d, 'base64'), partitionKey: 'a', sequenceNumber: '1' }).length;
    if (n !== RECORDS) throw new Error(`lost records: ${n}`);
  });
  const theirDeagg = await best(3, () => {
    let n = 0;
    for (const d of b64) n += theirDeaggregate(d);
    if (n !== RECORDS) throw new Error(`lost records: ${n}`);
  });
  rows.push(['deaggregate', `${size} B`, fmt(RECORDS / ourDeagg), (mb / ourDeagg).toFixed(0), fmt(RECORDS / theirDeagg), (mb / theirDeagg).toFixed(0), `${(theirDeagg / ourDeagg).toFixed(2)}x`]);
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));

// Snappy: the native binding (the one we ship) beside pure-JS snappyjs, both directions.
console.log('\nsnappy codec (MB/s, best of 5)   snappyjs (pure JS)   snappy (native)   ratio js/native');
const text = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `{"id":${i},"user":"user-${i % 977}","event":"click","ts":${1_700_000_000 + i}}`).join('\n'));
for (const [label, size] of [['1 KiB', 1024], ['1 MiB', 1024 * 1024]] as const) {
  const data = text.subarray(0, size);
  const reps = Math.max(1, Math.floor((8 * 1024 * 1024) / size));
  const jsC = await best(5, () => { for (let i = 0; i < reps; i++) snappyjs.compress(data); });
  const nC = await best(5, () => { for (let i = 0; i < reps; i++) snappyNative.compressSync(data); });
  const packed = snappyjs.compress(data);
  const jsD = await best(5, () => { for (let i = 0; i < reps; i++) snappyjs.uncompress(packed); });
  const nD = await best(5, () => { for (let i = 0; i < reps; i++) snappyNative.uncompressSync(packed); });
  const mbps = (t: number) => ((reps * size) / 1e6 / t).toFixed(0).padStart(6);
  console.log(`  compress   ${label.padEnd(6)}              ${mbps(jsC)}              ${mbps(nC)}          ${(nC / jsC).toFixed(2)}x`);
  console.log(`  uncompress ${label.padEnd(6)}              ${mbps(jsD)}              ${mbps(nD)}          ${(nD / jsD).toFixed(2)}x`);
}

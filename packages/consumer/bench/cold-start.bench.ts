/**
 * Cold start of a Lambda function that uses `@shardline/consumer/lambda`: what loading the handler
 * adds to a bare `node` start, in time and in memory, measured in the same run as the bare start.
 *
 *   bundled (esm / cjs)  the handler bundled with esbuild's defaults, as CDK's NodejsFunction and
 *                        SAM do, then loaded from an empty folder (so snappy is the pure-JS codec)
 *   unbundled            the built entry point as `import '@shardline/consumer/lambda'` loads it
 *   empty ES module      what Node charges for importing any ES module file (the ESM floor)
 *
 * Each run is a fresh process: it notes the time and RSS, loads the handler (or nothing, for the
 * bare start), notes them again and exits. The import time is the load's own wall and CPU time
 * (for a bare start, nothing is loaded: zero); memory is RSS against the bare start's. The time
 * from process start is printed too, but it varies by tens of ms between runs on a busy machine,
 * more than the load itself. Runs of every kind are interleaved, so load on the
 * machine hits all alike; the median is printed. Also: the first snappy envelope, which is when the
 * native addon (or, in a bundle, the pure-JS codec) is first used.
 *   pnpm bench   (or pnpm build, then npx tsx packages/consumer/bench/cold-start.bench.ts)
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compress } from '@shardline/aggregation';
import { build } from 'esbuild';

const RUNS = 21;
const handlerSource = fileURLToPath(
  new URL('../../../integration/fixtures/bundle/lambda-handler.ts', import.meta.url),
);
const work = mkdtempSync(join(tmpdir(), 'shardline-cold-start-'));

/** A Kinesis event with one snappy envelope, so the first decode pays for choosing the codec. */
const snappyEvent = JSON.stringify({
  Records: [
    {
      kinesis: {
        partitionKey: 'k',
        sequenceNumber: '1',
        data: Buffer.from(compress(Buffer.from('x'.repeat(1000)), 'snappy')).toString('base64'),
        approximateArrivalTimestamp: 1,
      },
      eventID: 'shardId-000000000000:1',
      eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/s',
    },
  ],
});

async function bundled(format: 'esm' | 'cjs'): Promise<string> {
  const outfile = join(work, `bundle-${format}`, `handler.${format === 'esm' ? 'mjs' : 'cjs'}`);
  await build({
    entryPoints: [handlerSource],
    bundle: true,
    platform: 'node',
    format,
    outfile,
    logLevel: 'error',
  });
  // Alone in an empty folder, as Lambda unpacks it.
  const alone = join(
    mkdtempSync(join(work, 'alone-')),
    `handler.${format === 'esm' ? 'mjs' : 'cjs'}`,
  );
  copyFileSync(outfile, alone);
  return alone;
}

/** Unbundled: the built entry point, the file `import '@shardline/consumer/lambda'` loads. */
const unbundled = fileURLToPath(new URL('../dist/lambda.js', import.meta.url));

/**
 * The measuring child: RSS and time before and after loading `target` (nothing for the bare
 * start), then, optionally, one handler call on the snappy event.
 */
const probe = join(work, 'probe.cjs');
// The Lambda Node.js runtime is itself ES modules (its entry is an .mjs file), loaded before the
// handler: every run imports one first, so that the ES module loader's first-file cost (about
// 5 ms of CPU here) is not counted as the handler's.
const runtimeStandIn = join(work, 'runtime.mjs');
writeFileSync(runtimeStandIn, 'export {};\n');
writeFileSync(
  probe,
  `(async () => {
   const [target, withEvent] = process.argv.slice(2);
   await import(${JSON.stringify(runtimeStandIn)});
   const t0 = performance.now(), rss0 = process.memoryUsage().rss, cpu0 = process.cpuUsage();
   // As the Lambda runtime loads a handler: require() for CommonJS, import() for an ES module.
   const m = target === '-' ? undefined : target.endsWith('.cjs') ? require(target) : await import(target);
   const t1 = performance.now(), rss1 = process.memoryUsage().rss, cpu1 = process.cpuUsage(cpu0);
   let first = 0;
   if (m && withEvent) {
     const exports = m.handler || m.kinesisRecordHandler ? m : m.default;
     const handler = exports.handler ?? exports.kinesisRecordHandler(async () => {});
     const t = performance.now();
     await handler(JSON.parse(${JSON.stringify(snappyEvent)}), {});
     first = performance.now() - t;
   }
   // Since the process started (performance.now() counts from it): the whole cold start.
   console.log(JSON.stringify({ load: t1 - t0, cpu: (cpu1.user + cpu1.system) / 1000, total: t1, rss: rss1, first }));
   })();`,
);

interface Sample {
  /** Wall time of the load, ms. */
  load: number;
  /** CPU time of the load (user + system), ms: less swayed than wall time by a busy machine. */
  cpu: number;
  /** From process start to loaded, ms. */
  total: number;
  rss: number;
  /** Wall time of the first handler call, on a snappy envelope, ms. */
  first: number;
}

function sample(target: string, withEvent: boolean): Sample {
  const child = spawnSync(process.execPath, [probe, target, withEvent ? '1' : ''], {
    encoding: 'utf8',
    cwd: work,
  });
  if (child.status !== 0) throw new Error(child.stderr);
  return JSON.parse(child.stdout) as Sample;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// What importing one more ES module file costs Node, whatever is in it: the floor under every ESM
// handler.
const emptyModule = join(work, 'empty.mjs');
writeFileSync(emptyModule, 'export {};\n');

const targets: [string, string][] = [
  ['bare node', '-'],
  ['empty ES module', emptyModule],
  ['bundled, esm', await bundled('esm')],
  ['bundled, cjs', await bundled('cjs')],
  ['unbundled, esm', unbundled],
];
const samples = new Map<string, Sample[]>(targets.map(([name]) => [name, []]));
for (let run = 0; run < RUNS; run++) {
  for (const [name, target] of targets) samples.get(name)!.push(sample(target, false));
}
const firstSnappy = new Map<string, number>();
for (const [name, target] of targets.slice(2)) {
  firstSnappy.set(name, median(Array.from({ length: 7 }, () => sample(target, true).first)));
}

const bare = samples.get('bare node')!;
const bareRss = median(bare.map((s) => s.rss));
console.log(
  `\nLambda entry cold start (median of ${RUNS} fresh processes each; target for the bundle: ≤ 15 ms and ≤ 5 MB over bare node)`,
);
const signed = (x: number, unit: string) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} ${unit}`;
const mb = (bytes: number) => bytes / 2 ** 20;
const rows = [
  [
    'what',
    'start→loaded',
    'load: wall',
    'load: CPU',
    'RSS',
    'over bare node',
    'first snappy event',
  ],
];
for (const [name] of targets) {
  const s = samples.get(name)!;
  const total = median(s.map((x) => x.total));
  const rss = median(s.map((x) => x.rss));
  const isBare = name === 'bare node';
  const first = firstSnappy.get(name);
  rows.push([
    name,
    `${total.toFixed(1)} ms`,
    isBare ? '' : `${median(s.map((x) => x.load)).toFixed(1)} ms`,
    isBare ? '' : `${median(s.map((x) => x.cpu)).toFixed(1)} ms`,
    `${mb(rss).toFixed(1)} MB`,
    isBare ? '' : signed(mb(rss - bareRss), 'MB'),
    first === undefined ? '' : `${first.toFixed(1)} ms`,
  ]);
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((cell, c) => cell.padStart(widths[c]!)).join('  '));
rmSync(work, { recursive: true, force: true });

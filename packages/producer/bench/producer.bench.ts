/**
 * Producer benchmarks, each beside the naive SDK way and aws-kinesis-agg + SDK in the same run:
 *  1. CPU path: user records/s into an in-process stub that answers at once (100 B, 1 KiB).
 *  2. Shard path: the stub enforcing 1,000 records/s and 1 MiB/s per shard: user payload per shard.
 *  3. Memory: peak RSS with a stalled backend against the configured buffer bound.
 * Run: pnpm bench (or npx tsx --conditions=source packages/producer/bench/producer.bench.ts)
 */
import { createRequire } from 'node:module';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { fork } from 'node:child_process';
import { Agent } from 'node:http';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { FakeKinesis } from '@shardline/fake-kinesis';
import { Producer } from '../src/index';

const require = createRequire(import.meta.url);
const agg = require('aws-kinesis-agg');
const only = process.env.BENCH_ONLY;

function payload(size: number): Buffer {
  return Buffer.alloc(size, 0x61);
}

async function naive(client: KinesisClient, stream: string, n: number, size: number, retryThrottled = false): Promise<number> {
  const data = payload(size);
  let sent = 0;
  const inflight = new Set<Promise<void>>();
  for (let i = 0; i < n; i += 500) {
    let entries = Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ PartitionKey: `key-${(i + j) % 1000}`, Data: data }));
    const p = (async () => {
      while (entries.length > 0) {
        const out = await client.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));
        const failed = entries.filter((_, k) => out.Records![k]!.ErrorCode);
        sent += entries.length - failed.length;
        if (!retryThrottled) break;
        entries = failed;
        if (failed.length > 0) await new Promise((r) => setTimeout(r, 50));
      }
    })().finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 24) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return sent;
}

async function withKinesisAgg(client: KinesisClient, stream: string, n: number, size: number): Promise<void> {
  const data = payload(size);
  const records = Array.from({ length: n }, (_, i) => ({ partitionKey: `key-${i % 1000}`, data }));
  const encoded: { partitionKey: string; data: Buffer; ExplicitHashKey?: string }[] = [];
  await new Promise<void>((resolve, reject) => agg.aggregate(records, (r: (typeof encoded)[number], done: () => void) => (encoded.push(r), done()), resolve, reject));
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < encoded.length; i += 500) {
    inflight.push(client.send(new PutRecordsCommand({ StreamName: stream, Records: encoded.slice(i, i + 500).map((e) => ({ PartitionKey: e.partitionKey, ExplicitHashKey: e.ExplicitHashKey, Data: e.data })) })));
  }
  await Promise.all(inflight);
}

async function withShardline(client: KinesisClient, stream: string, n: number, size: number, options: Record<string, unknown> = {}): Promise<Producer> {
  const producer = new Producer({ streamName: stream, kinesisClient: client, ...options });
  const data = payload(size);
  await producer.start();
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    batch.push(producer.put({ partitionKey: `key-${i % 1000}`, data }));
    if (batch.length === 50_000) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  await producer.close();
  return producer;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);

/** The stub in a child process; resolves with its endpoint and a stop function. */
async function stubProcess(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const child = fork(new URL('./stub-process.ts', import.meta.url).pathname, [], {
    execArgv: ['--conditions=source', '--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const endpoint = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  return { endpoint, stop: () => new Promise((resolve) => (child.once('exit', () => resolve()), child.send('stop'))) };
}

if (!only || only === 'cpu') {
  console.log('1. CPU path: user records/s into a stub that answers at once, in its own process (best of 3)');
  console.log('size    naive SDK (500/call)  aws-kinesis-agg+SDK  shardline   shardline/naive  shardline/agg');
  for (const [size, n] of [[100, 200_000], [1024, 60_000]] as const) {
    const stub = await stubProcess();
    const client = new KinesisClient({
      region: 'us-east-1',
      endpoint: stub.endpoint,
      credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 24 }) }),
    });
    const fake = { close: stub.stop };
    const best = async (fn: () => Promise<unknown>) => Math.min(await time(fn), await time(fn), await time(fn));
    const tNaive = await best(() => naive(client, 'bench', n, size));
    const tAgg = await best(() => withKinesisAgg(client, 'bench', n, size));
    // The stub has no shard limits, so the producer's own per-shard limiter is lifted too.
    const tOurs = await best(() => withShardline(client, 'bench', n, size, { rateLimit: 10_000 }));
    console.log(
      `${String(size).padEnd(4)} B  ${fmt(n / tNaive).padStart(12)} rec/s  ${fmt(n / tAgg).padStart(12)} rec/s  ${fmt(n / tOurs).padStart(7)} rec/s  ${(tNaive / tOurs).toFixed(2).padStart(10)}x  ${(tAgg / tOurs).toFixed(2).padStart(12)}x`,
    );
    client.destroy();
    await fake.close();
  }
}

if (!only || only === 'shard') {
  const seconds = Number(process.env.BENCH_SECONDS ?? 6);
  const volume = Math.round((2 * 1024 * 1024 * seconds) / 100); // what 2 shards take in `seconds` at 1 MiB/s
  console.log(`\n2. Shard path: 2 shards limited to 1,000 records/s and 1 MiB/s each; ${volume} records of 100 B (${seconds} s of full shards)`);
  for (const who of ['naive', 'shardline'] as const) {
    const fake = await FakeKinesis.start({ shardLimits: {}, discard: true });
    fake.createStream('bench', 2);
    const client = fake.client({ maxSockets: 24 });
    let delivered = 0;
    let userErrors = 0;
    const start = Date.now();
    if (who === 'naive') {
      // The naive way retries its throttled entries until each is in. It tops out at 1,000
      // records/s per shard, so a tenth of the volume measures its rate in a tenth of the time.
      delivered = await naive(client, 'bench', Math.round(volume / 10), 100, true);
    } else {
      const producer = new Producer({ streamName: 'bench', kinesisClient: client, maxBufferedRecords: volume });
      await producer.start();
      const data = payload(100);
      const puts: Promise<void>[] = [];
      for (let i = 0; i < volume; i++) puts.push(producer.put({ partitionKey: `key-${i % 1000}`, data }).then(() => void delivered++, () => void userErrors++));
      await Promise.all(puts);
      await producer.close();
    }
    const elapsed = (Date.now() - start) / 1000;
    const perShardBytes = (delivered * 100) / elapsed / 2;
    const throttled = Object.values(fake.stats.entriesFailed).reduce((a, b) => a + b, 0);
    console.log(`${who.padEnd(10)} ${fmt(delivered / elapsed / 2).padStart(6)} user rec/s/shard  ${(perShardBytes / 1024).toFixed(0).padStart(5)} KiB/s/shard = ${((perShardBytes / (1024 * 1024)) * 100).toFixed(0).padStart(3)}% of 1 MiB/s  in ${elapsed.toFixed(1)} s; throttled entries retried inside: ${throttled}; failures surfaced to users: ${who === 'naive' ? 'n/a' : userErrors}`);
    client.destroy();
    await fake.close();
  }
}

if (!only || only === 'memory') {
  console.log('\n3. Memory: backend stalled, 100,000 records of 1 KiB put as fast as possible');
  const fake = await FakeKinesis.start({ discard: true });
  fake.createStream('bench', 2);
  const client = fake.client();
  const bound = 16 * 1024 * 1024;
  const producer = new Producer({ streamName: 'bench', kinesisClient: client, maxBufferedBytes: bound, recordTtl: 600_000 });
  await producer.start();
  fake.inject({ operation: 'PutRecords', kind: 'stall' });
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const puts: Promise<unknown>[] = [];
  let accepted = 0;
  const producerDone = (async () => {
    for (let i = 0; i < 100_000; i++) {
      puts.push(producer.put({ partitionKey: `key-${i % 1000}`, data: Buffer.alloc(1024, i % 256) }).then(() => void accepted++));
      if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  await new Promise((r) => setTimeout(r, 3000));
  const stats = producer.stats();
  console.log(`while stalled: buffered ${stats.bufferedRecords} records / ${(stats.bufferedBytes / 1048576).toFixed(1)} MiB (bound ${bound / 1048576} MiB); RSS peak − baseline = ${((peak - baseline) / 1048576).toFixed(1)} MiB`);
  fake.clearFaults();
  fake.release();
  await producerDone;
  await Promise.all(puts);
  clearInterval(sampler);
  console.log(`after the backend returned: ${accepted} of 100000 delivered; RSS peak − baseline over the whole run = ${((peak - baseline) / 1048576).toFixed(1)} MiB`);
  await producer.close();
  client.destroy();
  await fake.close();
}

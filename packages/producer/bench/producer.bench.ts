/**
 * Producer benchmarks, each beside the naive SDK way and aws-kinesis-agg + SDK in the same run:
 *  1. CPU path: user records/s into a stub that answers at once (100 B, 1 KiB), the stub in its
 *     own process and in this one; `put` (a promise per record) and `putMany` (one per call).
 *  2. Shard path: the stub enforcing 1,000 records/s and 1 MiB/s per shard: user payload per shard.
 *  3. Memory: peak RSS and live memory with a stalled backend against the configured buffer bound,
 *     records piped in. BENCH_BOUND_MIB (default 16) and BENCH_STALL_MS (default 1500, the gap
 *     between the two looks) vary it.
 * BENCH_ONLY=cpu|shard|memory runs one part.
 * Run: pnpm bench (or pnpm build, then npx tsx --expose-gc packages/producer/bench/producer.bench.ts:
 * benchmarks run the built packages, as users do)
 */
import { createRequire } from 'node:module';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { fork } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FakeKinesis, fakeKinesisClient } from '@shardline/fake-kinesis';
import { Producer } from '@shardline/producer';
import { timeOnce } from '../../../scripts/bench-timing';

const require = createRequire(import.meta.url);
const agg = require('aws-kinesis-agg');
const only = process.env.BENCH_ONLY;

function payload(size: number): Buffer {
  return Buffer.alloc(size, 0x61);
}

async function naive(
  client: KinesisClient,
  stream: string,
  n: number,
  size: number,
  retryThrottled = false,
): Promise<number> {
  const data = payload(size);
  let sent = 0;
  const inflight = new Set<Promise<void>>();
  for (let i = 0; i < n; i += 500) {
    let entries = Array.from({ length: Math.min(500, n - i) }, (_, j) => ({
      PartitionKey: `key-${(i + j) % 1000}`,
      Data: data,
    }));
    const p = (async () => {
      while (entries.length > 0) {
        const out = await client.send(
          new PutRecordsCommand({ StreamName: stream, Records: entries }),
        );
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

async function withKinesisAgg(
  client: KinesisClient,
  stream: string,
  n: number,
  size: number,
): Promise<void> {
  const data = payload(size);
  const records = Array.from({ length: n }, (_, i) => ({ partitionKey: `key-${i % 1000}`, data }));
  const encoded: { partitionKey: string; data: Buffer; ExplicitHashKey?: string }[] = [];
  await new Promise<void>((resolve, reject) =>
    agg.aggregate(
      records,
      (r: (typeof encoded)[number], done: () => void) => (encoded.push(r), done()),
      resolve,
      reject,
    ),
  );
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < encoded.length; i += 500) {
    inflight.push(
      client.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: encoded.slice(i, i + 500).map((e) => ({
            PartitionKey: e.partitionKey,
            ExplicitHashKey: e.ExplicitHashKey,
            Data: e.data,
          })),
        }),
      ),
    );
  }
  await Promise.all(inflight);
}

/**
 * Shardline with `put`, the way a service streams records: up to WINDOW outcomes outstanding,
 * awaiting the oldest quarter when the window is full, yielding to I/O every 1,000 puts; `close`
 * sends the last partial aggregates.
 */
async function withShardline(
  client: KinesisClient,
  stream: string,
  n: number,
  size: number,
  options: Record<string, unknown> = {},
): Promise<Producer> {
  const producer = new Producer({ streamName: stream, kinesisClient: client, ...options });
  const data = payload(size);
  await producer.start();
  const outstanding: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    outstanding.push(producer.put({ partitionKey: `key-${i % 1000}`, data }));
    if (outstanding.length === WINDOW) await Promise.all(outstanding.splice(0, WINDOW / 4));
    else if (i % 1000 === 999) await yieldToIo();
  }
  await producer.close();
  await Promise.all(outstanding);
  return producer;
}

/** The same with `putMany`, 1,000 records a call and the same window of records outstanding. */
async function withShardlineMany(
  client: KinesisClient,
  stream: string,
  n: number,
  size: number,
  options: Record<string, unknown> = {},
): Promise<Producer> {
  const producer = new Producer({ streamName: stream, kinesisClient: client, ...options });
  const data = payload(size);
  await producer.start();
  const outstanding: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += 1000) {
    const records = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
      partitionKey: `key-${(i + j) % 1000}`,
      data,
    }));
    outstanding.push(
      producer.putMany(records).then((outcomes) => {
        if (outcomes.some((o) => o.status === 'rejected')) throw new Error('a record failed');
      }),
    );
    if (outstanding.length === WINDOW / 1000)
      await Promise.all(outstanding.splice(0, WINDOW / 4000));
    else await yieldToIo();
  }
  await producer.close();
  await Promise.all(outstanding);
  return producer;
}

/**
 * A service's puts arrive between I/O events, so the producer's requests go out while it takes
 * more; a loop that never yields would serialize every request before the stub parsed the first.
 */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Outcomes a service keeps outstanding: the default `maxBufferedRecords`. */
const WINDOW = 100_000;

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);

/** The stub in a child process; resolves with its endpoint and functions to stall, release and stop it. */
async function stubProcess(): Promise<{
  endpoint: string;
  stop: () => Promise<void>;
  stall: () => Promise<void>;
  release: () => Promise<void>;
}> {
  const child = fork(new URL('./stub-process.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const endpoint = await new Promise<string>((resolve) =>
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  const ask = (message: string, answer: string) =>
    new Promise<void>((resolve) => {
      const onMessage = (m: unknown) =>
        m === answer && (child.off('message', onMessage), resolve());
      child.on('message', onMessage);
      child.send(message);
    });
  return {
    endpoint,
    stop: () => new Promise((resolve) => (child.once('exit', () => resolve()), child.send('stop'))),
    stall: () => ask('stall', 'stalled'),
    release: () => ask('release', 'released'),
  };
}

/** A stub in this process: its work shares the client's core, as the issue's baseline set-up describes. */
async function stubInProcess(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const fake = await FakeKinesis.start({ discard: true });
  fake.createStream('bench', 4);
  return { endpoint: fake.endpoint, stop: () => fake.close() };
}

if (!only || only === 'cpu') {
  console.log(
    '1. CPU path: user records/s into a stub that answers at once (best of 3; ratios against the naive SDK way)',
  );
  console.log(
    'stub             size    naive SDK    kinesis-agg+SDK  shardline put  putMany      put/naive  putMany/naive  put/agg',
  );
  for (const [where, startStub] of [
    ['own process', stubProcess],
    ['same process', stubInProcess],
  ] as const) {
    for (const [size, n] of [
      [100, 200_000],
      [1024, 60_000],
    ] as const) {
      const stub = await startStub();
      const client = fakeKinesisClient(stub.endpoint, { maxSockets: 24 });
      const best = async (fn: () => Promise<unknown>) =>
        Math.min(await timeOnce(fn), await timeOnce(fn), await timeOnce(fn));
      const tNaive = await best(() => naive(client, 'bench', n, size));
      const tAgg = await best(() => withKinesisAgg(client, 'bench', n, size));
      // The stub has no shard limits, so the producer's own per-shard limiter is lifted too.
      const tPut = await best(() => withShardline(client, 'bench', n, size, { rateLimit: 10_000 }));
      const tMany = await best(() =>
        withShardlineMany(client, 'bench', n, size, { rateLimit: 10_000 }),
      );
      const rate = (t: number) => `${fmt(n / t)} rec/s`;
      console.log(
        `${where.padEnd(15)}  ${`${size} B`.padEnd(6)}  ${rate(tNaive).padEnd(11)}  ${rate(tAgg).padEnd(15)}  ${rate(tPut).padEnd(13)}  ${rate(tMany).padEnd(11)}  ${`${(tNaive / tPut).toFixed(2)}x`.padEnd(9)}  ${`${(tNaive / tMany).toFixed(2)}x`.padEnd(13)}  ${(tAgg / tPut).toFixed(2)}x`,
      );
      client.destroy();
      await stub.stop();
    }
  }
}

if (!only || only === 'shard') {
  const seconds = Number(process.env.BENCH_SECONDS ?? 6);
  const volume = Math.round((2 * 1024 * 1024 * seconds) / 100); // what 2 shards take in `seconds` at 1 MiB/s
  console.log(
    `\n2. Shard path: 2 shards limited to 1,000 records/s and 1 MiB/s each; ${volume} records of 100 B (${seconds} s of full shards)`,
  );
  // Ordering on (the default) and off side by side, with aggregation and without; BENCH_ROUNDS
  // repeats the lot, interleaved, so load on the machine hits every contender alike.
  const contenders = [
    { who: 'naive', label: 'naive SDK' },
    { who: 'shardline', label: 'shardline ordered', options: {} },
    { who: 'shardline', label: 'shardline unordered', options: { preserveKeyOrder: false } },
    { who: 'shardline', label: 'no-agg ordered', options: { aggregation: false } },
    {
      who: 'shardline',
      label: 'no-agg unordered',
      options: { aggregation: false, preserveKeyOrder: false },
    },
  ] as const;
  for (let round = 0; round < Number(process.env.BENCH_ROUNDS ?? 1); round++)
    for (const c of contenders) await shardPath(c.label, c.who, 'options' in c ? c.options : {});

  async function shardPath(
    label: string,
    who: 'naive' | 'shardline',
    options: { aggregation?: boolean; preserveKeyOrder?: boolean },
  ): Promise<void> {
    const fake = await FakeKinesis.start({ shardLimits: {}, discard: true });
    fake.createStream('bench', 2);
    const client = fake.client({ maxSockets: 24 });
    let delivered = 0;
    let userErrors = 0;
    const start = Date.now();
    // Without aggregation the shard's 1,000 records/s bound it, so a tenth of the volume measures
    // its rate in a tenth of the time.
    const n = who === 'naive' || options.aggregation === false ? Math.round(volume / 10) : volume;
    if (who === 'naive') {
      // The naive way retries its throttled entries until each is in.
      delivered = await naive(client, 'bench', n, 100, true);
    } else {
      const producer = new Producer({
        streamName: 'bench',
        kinesisClient: client,
        maxBufferedRecords: n,
        ...options,
      });
      await producer.start();
      const data = payload(100);
      const puts: Promise<void>[] = [];
      for (let i = 0; i < n; i++)
        puts.push(
          producer.put({ partitionKey: `key-${i % 1000}`, data }).then(
            () => void delivered++,
            () => void userErrors++,
          ),
        );
      await Promise.all(puts);
      await producer.close();
    }
    const elapsed = (Date.now() - start) / 1000;
    const perShardBytes = (delivered * 100) / elapsed / 2;
    const throttled = Object.values(fake.stats.entriesFailed).reduce((a, b) => a + b, 0);
    console.log(
      `${label.padEnd(20)} ${fmt(delivered / elapsed / 2).padStart(6)} user rec/s/shard  ${(perShardBytes / 1024).toFixed(0).padStart(5)} KiB/s/shard = ${((perShardBytes / (1024 * 1024)) * 100).toFixed(0).padStart(3)}% of 1 MiB/s  in ${elapsed.toFixed(1)} s; throttled entries retried inside: ${throttled}; failures surfaced to users: ${who === 'naive' ? 'n/a' : userErrors}`,
    );
    client.destroy();
    await fake.close();
  }
}

if (!only || only === 'memory') {
  // Records come from a stream piped into the producer's Writable, as a service reading a file or a
  // queue would: the source is pulled only as buffer room frees, so what RSS shows is the
  // producer's own holding, not a loop's backlog of records it made before they could be taken.
  console.log(
    '\n3. Memory: backend stalled, 100,000 records of 1 KiB piped into producer.writable() (stub in its own process)',
  );
  const stub = await stubProcess();
  const client = fakeKinesisClient(stub.endpoint, { maxSockets: 24 });
  const bound = Number(process.env.BENCH_BOUND_MIB ?? 16) * 1024 * 1024;
  const producer = new Producer({
    streamName: 'bench',
    kinesisClient: client,
    maxBufferedBytes: bound,
    recordTtl: 600_000,
  });
  await producer.start();
  await stub.stall();
  const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
  /** Heap and off-heap memory still reachable after a full GC: what the producer really holds. */
  const live = () => {
    global.gc?.();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  const liveBaseline = process.memoryUsage().heapUsed + process.memoryUsage().external;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  let failed = 0;
  const source = Readable.from(
    (function* () {
      for (let i = 0; i < 100_000; i++)
        yield { partitionKey: `key-${i % 1000}`, data: Buffer.alloc(1024, i % 256) };
    })(),
  );
  const piped = pipeline(source, producer.writable({ onFailure: () => void failed++ }));
  // Two looks while stalled: a bounded producer holds as much after 3 s as after 1.5 s.
  await new Promise((r) => setTimeout(r, 1500));
  const early = peak;
  const liveEarly = live();
  await new Promise((r) => setTimeout(r, Number(process.env.BENCH_STALL_MS ?? 1500)));
  const liveLate = live();
  const stats = producer.stats();
  const stalledPeak = peak;
  console.log(
    `while stalled: buffered ${stats.bufferedRecords} records / ${mib(stats.bufferedBytes)} (bound ${mib(bound)}); RSS peak − baseline after 1.5 s ${mib(early - baseline)}, after 3 s ${mib(stalledPeak - baseline)}; live after GC − baseline ${global.gc ? `${mib(liveEarly - liveBaseline)}, then ${mib(liveLate - liveBaseline)}` : 'n/a (run with --expose-gc)'}`,
  );
  await stub.release();
  await piped;
  clearInterval(sampler);
  console.log(
    `after the backend returned: ${producer.stats().recordsSucceeded} of 100000 delivered, ${failed} failed; RSS peak − baseline over the whole run = ${((peak - baseline) / 1048576).toFixed(1)} MiB`,
  );
  await producer.close();
  client.destroy();
  await stub.stop();
}

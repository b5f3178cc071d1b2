// One measurement of the CPU comparison (cpu.bench.ts forks one process per measurement, so no
// heap, JIT or GC state leaks from one contender into the next). Args: <contender> <path>.
// Prints one JSON line: { cpuSeconds, records } of the measured run, after one warm-up run of the
// same workload in this process.
import { createRequire } from 'node:module';
import { Session } from 'node:inspector';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { inProcessKinesisClient } from './in-process-kinesis';
import type {
  Producer as ProducerClass,
  ProducerOptions,
  ProducerRecord,
} from '@shardline/producer';

// BENCH_FROM_SRC=1: the producer's TypeScript sources (while optimising), else the built package.
// BENCH_PRODUCER_ENTRY=<file>: another build of it (a copy of an older commit's sources, to
// compare before and after in the same run).
const { Producer } = (
  process.env.BENCH_PRODUCER_ENTRY
    ? await import(process.env.BENCH_PRODUCER_ENTRY)
    : process.env.BENCH_FROM_SRC === '1'
      ? await import('../src/index')
      : await import('@shardline/producer')
) as { Producer: typeof ProducerClass };
type Producer = ProducerClass;

const require = createRequire(import.meta.url);
const agg = require('aws-kinesis-agg') as {
  aggregate(
    records: { partitionKey: string; data: Buffer }[],
    onEncoded: (
      record: { partitionKey: string; data: Buffer; ExplicitHashKey?: string },
      done: () => void,
    ) => void,
    afterAll: () => void,
    onError: (error: unknown) => void,
  ): void;
};

/**
 * agg: aws-kinesis-agg + the SDK; put, putMany: the producer; sdk: the SDK's PutRecords of the
 * same aggregates, built before the measurement starts (what every contender pays for sending
 * its bytes and the service for taking them: no contender can use less).
 */
export type Contender = 'agg' | 'put' | 'putMany' | 'sdk';
export type BenchPath = 'cold' | 'steady' | 'beyond';

const [contender, path] = process.argv.slice(2) as [Contender, BenchPath];
const N = Number(process.env.BENCH_CPU_RECORDS ?? 200_000);
const SIZE = 100;
const KEYS = 1000;
/** Records a service hands over per event-loop turn on the steady path (and per `putMany`). */
const CHUNK = 1000;
/** PutRecords limits a hand-written sender must respect too. */
const CALL_ENTRIES = 500;
const CALL_BYTES = 5 * 1024 * 1024;

const keys = Array.from({ length: KEYS }, (_, i) => `key-${i}`);
const data = Buffer.alloc(SIZE, 0x61);
const records: ProducerRecord[] = Array.from({ length: N }, (_, i) => ({
  partitionKey: keys[i % KEYS]!,
  data,
}));

async function startProfile(): Promise<Session> {
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<void>((resolve, reject) =>
      session.post(method, (error) => (error ? reject(error) : resolve())),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return session;
}

async function stopProfile(session: Session, file: string): Promise<void> {
  const { writeFileSync } = await import('node:fs');
  const profile = await new Promise<unknown>((resolve, reject) =>
    session.post('Profiler.stop', (error, result) =>
      error ? reject(error) : resolve(result.profile),
    ),
  );
  writeFileSync(file, JSON.stringify(profile));
  session.disconnect();
}

const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

// The same in-process service for every contender, answering at once (see in-process-kinesis.ts).
const client = inProcessKinesisClient(4);

/**
 * What a user writes instead of a producer: aws-kinesis-agg's `aggregate` over the records at
 * hand (as its README shows), then PutRecords of the aggregates, ≤ 500 entries and ≤ 5 MiB a call.
 */
async function aggregateAndSend(client: KinesisClient, batch: ProducerRecord[]): Promise<void> {
  await sendEncoded(client, await aggregateBatch(batch));
}

type Encoded = { partitionKey: string; data: Buffer; ExplicitHashKey?: string };

async function aggregateBatch(batch: ProducerRecord[]): Promise<Encoded[]> {
  const encoded: Encoded[] = [];
  await new Promise<void>((resolve, reject) =>
    agg.aggregate(
      batch as { partitionKey: string; data: Buffer }[],
      (r, done) => (encoded.push(r), done()),
      resolve,
      reject,
    ),
  );
  return encoded;
}

async function sendEncoded(client: KinesisClient, encoded: Encoded[]): Promise<void> {
  const calls: Promise<unknown>[] = [];
  let entries: { PartitionKey: string; ExplicitHashKey?: string; Data: Buffer }[] = [];
  let bytes = 0;
  const send = () => {
    calls.push(client.send(new PutRecordsCommand({ StreamName: 'bench', Records: entries })));
    entries = [];
    bytes = 0;
  };
  for (const e of encoded) {
    const size = e.data.length + e.partitionKey.length;
    if (entries.length === CALL_ENTRIES || bytes + size > CALL_BYTES) send();
    entries.push({
      PartitionKey: e.partitionKey,
      ExplicitHashKey: e.ExplicitHashKey,
      Data: e.data,
    });
    bytes += size;
  }
  if (entries.length > 0) send();
  await Promise.all(calls);
}

/** The sending floor: the baseline's aggregates, built beforehand; only their PutRecords measured. */
async function prebuilt(): Promise<() => Promise<void>> {
  if (path !== 'steady') {
    const encoded = await aggregateBatch(records);
    return () => sendEncoded(client, encoded);
  }
  const chunks: Encoded[][] = [];
  for (let i = 0; i < N; i += CHUNK) chunks.push(await aggregateBatch(records.slice(i, i + CHUNK)));
  return async () => {
    const sends: Promise<void>[] = [];
    for (const chunk of chunks) {
      sends.push(sendEncoded(client, chunk));
      await yieldToIo();
    }
    await Promise.all(sends);
  };
}

/** The baseline: everything at once (cold, beyond), or a chunk per event-loop turn (steady). */
async function baseline(): Promise<void> {
  if (path !== 'steady') return aggregateAndSend(client, records);
  const sends: Promise<void>[] = [];
  for (let i = 0; i < N; i += CHUNK) {
    sends.push(aggregateAndSend(client, records.slice(i, i + CHUNK)));
    await yieldToIo();
  }
  await Promise.all(sends);
}

function producerOptions(): ProducerOptions {
  return {
    streamName: 'bench',
    kinesisClient: client,
    // The service has no shard limits, so the producer's own per-shard limiter is lifted too.
    rateLimit: 10_000,
    // Cold and steady runs hold all records at once (200,000 at ≈ 4.7 × 104 B each): within the
    // bounds, so only the beyond path meets backpressure, with the default bounds.
    ...(JSON.parse(process.env.BENCH_PRODUCER_OPTIONS ?? '{}') as ProducerOptions),
    ...(path === 'beyond'
      ? {}
      : { maxBufferedRecords: 2 * N, maxBufferedBytes: 512 * 1024 * 1024 }),
  };
}

/**
 * Shardline, as a service uses it. cold: a new producer, every record put before its shard map
 * has loaded (construction counted). steady: the map loaded, a chunk of records per event-loop
 * turn. beyond: the map loaded, every record put at once with the default bounds (100,000
 * records), so half of them wait for room.
 */
async function newProducer(): Promise<Producer> {
  const producer = new Producer(producerOptions());
  if (path !== 'cold') await producer.start();
  return producer;
}

async function runShardline(producer: Producer, many: boolean): Promise<void> {
  const outcomes: Promise<unknown>[] = [];
  let failed = 0;
  const step = path === 'steady' ? CHUNK : N;
  for (let i = 0; i < N; i += step) {
    const end = Math.min(N, i + step);
    if (many) {
      for (let j = i; j < end; j += CHUNK) {
        outcomes.push(
          producer.putMany(records.slice(j, Math.min(end, j + CHUNK))).then((all) => {
            for (const o of all) if (o.status === 'rejected') failed++;
          }),
        );
      }
    } else {
      // As a user writes it: the put promises themselves, awaited together.
      for (let j = i; j < end; j++) outcomes.push(producer.put(records[j]!));
    }
    if (path === 'steady') await yieldToIo();
  }
  await Promise.all(outcomes);
  await producer.close();
  if (failed > 0) throw new Error(`${failed} records failed`);
}

async function once(): Promise<number> {
  let producer: Producer | undefined;
  // Steady and beyond measure a producer whose map is loaded: its start is not per-record work.
  if ((contender === 'put' || contender === 'putMany') && path !== 'cold')
    producer = await newProducer();
  const sendOnly = contender === 'sdk' ? await prebuilt() : undefined;
  global.gc?.();
  const before = process.cpuUsage();
  if (contender === 'agg') await baseline();
  else if (sendOnly) await sendOnly();
  else {
    producer ??= await newProducer();
    await runShardline(producer, contender === 'putMany');
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

await once(); // warm-up: JIT and connections, as in a long-running service
// BENCH_CPU_PROFILE=file.cpuprofile: a V8 CPU profile of the measured run alone.
const profileTo = process.env.BENCH_CPU_PROFILE;
const session = profileTo ? await startProfile() : undefined;
const cpuSeconds = await once();
if (session) await stopProfile(session, profileTo!);
client.destroy();
process.stdout.write(`${JSON.stringify({ cpuSeconds, records: N })}\n`);

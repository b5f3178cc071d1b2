/**
 * Polling read-ahead (`readAhead`, issue 17): user records per second of one shard whose
 * processor takes P ms per batch, with every GetRecords answered L ms late, read-ahead on
 * (the default bounds) against off. Rounds are interleaved (on, off, on, off, ...) so load on the
 * machine hits both alike; the median of each is printed with the ratio on / off.
 *
 * What to expect: reads are spaced at least 200 ms after the last answer (5 reads/s per shard).
 * Off, a batch costs max(200, P) + L; on, the next read runs during processing, so a batch costs
 * max(200 + L, P). The gain is largest when P is near 200 + L and tends to (P + L) / P above.
 *
 * One shard per run, BATCHES aggregates of 100 user records of 100 B, read one aggregate per
 * GetRecords (`maxRecords: 1`) from TRIM_HORIZON by a full Consumer. The backend (fake Kinesis +
 * dynalite) runs in this process: the processor waits on a timer, so CPU is not what is measured.
 *
 * Run: pnpm build, then npx tsx packages/consumer/bench/read-ahead.bench.ts. BENCH_P=100,300,600
 * picks the processing times (ms per batch), BENCH_L the GetRecords latency (default 100),
 * BENCH_ROUNDS the rounds per mode (default 3), BENCH_BATCHES the batches per run (default 20).
 */
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { aggregate } from '@shardline/aggregation';
import { Consumer } from '@shardline/consumer';
import { startInProcessBackend } from './in-process-backend';
import { RecordClock } from './record-clock';
import { runConsumerUntil } from './run-consumer';

const PROCESSING_MS = (process.env.BENCH_P ?? '100,300,600').split(',').map(Number);
const LATENCY_MS = Number(process.env.BENCH_L ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 20);
const PER_BATCH = 100;

const backend = await startInProcessBackend();
const { fake, kinesisClient, dynamoDBClient } = backend;
fake.inject({ operation: 'GetRecords', kind: 'latency', latencyMs: LATENCY_MS });

/** One shard of BATCHES aggregates, each PER_BATCH user records of 100 B. */
async function fill(stream: string): Promise<void> {
  fake.createStream(stream, 1);
  const users = Array.from({ length: PER_BATCH }, (_, i) => ({
    partitionKey: `k${i}`,
    data: Buffer.alloc(100, 97),
  }));
  const one = aggregate(users);
  if (one.length !== 1) throw new Error(`expected one aggregate per batch, got ${one.length}`);
  await kinesisClient.send(
    new PutRecordsCommand({
      StreamName: stream,
      Records: Array.from({ length: BATCHES }, () => ({
        PartitionKey: one[0]!.partitionKey,
        Data: one[0]!.data,
      })),
    }),
  );
}

let runs = 0;
/** User records per second from the first batch's start to the last batch's end. */
async function run(processingMs: number, readAhead: boolean): Promise<number> {
  const stream = `read-ahead-${++runs}`;
  await fill(stream);
  const records = BATCHES * PER_BATCH;
  const clock = new RecordClock(records);
  const consumer = new Consumer({
    streamName: stream,
    applicationName: `read-ahead-bench-${runs}-${process.pid}`,
    kinesisClient,
    dynamoDBClient,
    initialPosition: 'TRIM_HORIZON',
    maxRecords: 1,
    readAhead,
    processor: {
      async processRecords(batch) {
        clock.started();
        await new Promise((resolve) => setTimeout(resolve, processingMs));
        clock.finished(batch.records.length);
      },
    },
  });
  await runConsumerUntil(consumer, clock.done);
  // The first batch's own wait is not between batches: count the BATCHES - 1 intervals after it.
  return ((records - PER_BATCH) * 1000) / (clock.lastAt - clock.firstAt - processingMs);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(
  `readAhead: one shard, ${BATCHES} batches of ${PER_BATCH} records, GetRecords answered ${LATENCY_MS} ms late, ` +
    `reads spaced >= 200 ms; ${ROUNDS} interleaved rounds per mode, median`,
);
for (const processingMs of PROCESSING_MS) {
  const on: number[] = [];
  const off: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    on.push(await run(processingMs, true));
    off.push(await run(processingMs, false));
  }
  const expectedOff = 1000 / (Math.max(200, processingMs) + LATENCY_MS);
  const expectedOn = 1000 / Math.max(200 + LATENCY_MS, processingMs);
  console.log(
    `  P=${String(processingMs).padStart(4)} ms: on ${Math.round(median(on))} records/s, ` +
      `off ${Math.round(median(off))} records/s, on/off ${(median(on) / median(off)).toFixed(2)}x ` +
      `(model ${(expectedOn / expectedOff).toFixed(2)}x)`,
  );
}
await backend.stop();

/**
 * Key-ordered parallelism inside a shard (`maxConcurrencyPerShard`, issue 18): an I/O-bound
 * handler of 5 ms per record over 100 B records, N ∈ {1, 8, 64} records of one shard at once.
 * Prints user records per second per shard (first record started to last record finished) and,
 * beside it, the ordering check: records of one partition key that started out of sequence order
 * (must be 0) and keys seen running twice at once (must be 0).
 *
 * One shard per run, filled with RECORDS(N) user records over 256 keys in KPL aggregates, read
 * by one polling consumer from TRIM_HORIZON. The backend (fake Kinesis + dynalite) runs in this
 * process: the handler waits on a timer, so CPU is not what is measured.
 *
 * Run: pnpm bench (or pnpm build, then npx tsx packages/consumer/bench/parallel.bench.ts).
 * BENCH_N=1,8,64 picks the concurrencies, BENCH_HANDLER_MS the handler's latency (default 5).
 */
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { aggregate } from '@shardline/aggregation';
import { Consumer, type ConsumerRecord } from '@shardline/consumer';
import { startInProcessBackend } from './in-process-backend';
import { RecordClock } from './record-clock';
import { runConsumerUntil } from './run-consumer';

const CONCURRENCIES = (process.env.BENCH_N ?? '1,8,64').split(',').map(Number);
const HANDLER_MS = Number(process.env.BENCH_HANDLER_MS ?? 5);
const KEYS = 256;
/** Enough records for a few seconds at the ideal rate (N / handler latency), at least 400. */
const recordsFor = (n: number) =>
  Math.min(40_000, Math.max(400, Math.round((n * 3000) / HANDLER_MS)));

const backend = await startInProcessBackend();
const { fake, kinesisClient, dynamoDBClient } = backend;

/** Fills one shard with `count` user records of 100 B, id in the first 8 bytes, keys k0..k255. */
async function fill(stream: string, count: number): Promise<void> {
  fake.createStream(stream, 1);
  const users = Array.from({ length: count }, (_, i) => {
    const data = Buffer.alloc(100, 97);
    data.write(String(i).padStart(8, '0'));
    return { partitionKey: `k${i % KEYS}`, data };
  });
  const aggs = aggregate(users);
  for (let i = 0; i < aggs.length; i += 500) {
    await kinesisClient.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: aggs
          .slice(i, i + 500)
          .map((a) => ({ PartitionKey: a.partitionKey, Data: a.data })),
      }),
    );
  }
}

interface Result {
  n: number;
  records: number;
  perSecond: number;
  reorders: number;
  keyOverlaps: number;
}

async function run(n: number): Promise<Result> {
  const stream = `parallel-${n}`;
  const records = recordsFor(n);
  await fill(stream, records);
  const lastIdOfKey = new Map<string, number>();
  const running = new Set<string>();
  let reorders = 0;
  let keyOverlaps = 0;
  const clock = new RecordClock(records);
  const consumer = new Consumer({
    streamName: stream,
    applicationName: `parallel-bench-${n}-${process.pid}`,
    kinesisClient,
    dynamoDBClient,
    initialPosition: 'TRIM_HORIZON',
    idleTimeBetweenReadsMillis: 0,
    maxConcurrencyPerShard: n,
    processor: {
      async processRecord(r: ConsumerRecord) {
        clock.started();
        const id = Number(Buffer.from(r.data.subarray(0, 8)).toString());
        if (running.has(r.partitionKey)) keyOverlaps++;
        running.add(r.partitionKey);
        if ((lastIdOfKey.get(r.partitionKey) ?? -1) > id) reorders++;
        lastIdOfKey.set(r.partitionKey, id);
        await new Promise((resolve) => setTimeout(resolve, HANDLER_MS));
        running.delete(r.partitionKey);
        clock.finished();
      },
    },
  });
  await runConsumerUntil(consumer, clock.done);
  return {
    n,
    records,
    perSecond: Math.round(records / ((clock.lastAt - clock.firstAt) / 1000)),
    reorders,
    keyOverlaps,
  };
}

console.log(
  `maxConcurrencyPerShard: ${HANDLER_MS} ms handler, 100 B records, ${KEYS} keys, one shard (ideal: N / ${HANDLER_MS} ms)`,
);
for (const n of CONCURRENCIES) {
  const r = await run(n);
  const ideal = Math.round((n * 1000) / HANDLER_MS);
  console.log(
    `  N=${String(r.n).padStart(3)}: ${String(r.perSecond).padStart(6)} records/s per shard ` +
      `(ideal ${ideal}, ${Math.round((100 * r.perSecond) / ideal)}%) over ${r.records} records | ` +
      `ordering check: ${r.reorders} per-key reorders, ${r.keyOverlaps} keys running twice at once` +
      (r.reorders + r.keyOverlaps === 0 ? ' (ok)' : ' (BROKEN)'),
  );
  if (r.reorders + r.keyOverlaps > 0) process.exitCode = 1;
}
await backend.stop();

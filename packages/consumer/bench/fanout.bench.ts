/**
 * Enhanced fan-out benchmarks, backend stubbed in-process (fake Kinesis + dynalite, and an
 * in-memory SubscribeToShard event source over the same records), in one run:
 *  1. records/s through a fan-out consumer, beside the polling consumer over the same data;
 *  2. delivery overhead our code adds between an event arriving from the subscription and the
 *     processor being called (de-aggregation included), p50 / p99.
 * Run: pnpm build, then npx tsx packages/consumer/bench/fanout.bench.ts (the built packages, as users run them)
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamConsumerCommand,
  type KinesisClient,
  type _Record,
  SubscribeToShardCommand,
  type SubscribeToShardEventStream,
} from '@aws-sdk/client-kinesis';
import { FakeKinesis, readShardRecords } from '@shardline/fake-kinesis';
import { fillShardsWithAggregates } from './fill-stream';
import { startLocalBackend } from '@shardline/local';
import { Consumer } from '@shardline/consumer';

const RECORDS = 200_000;
const SHARDS = 4;
const RECORDS_PER_EVENT = 10; // aggregates per event

const fake = await FakeKinesis.start();
fake.createStream('bench', SHARDS);
const kinesis = fake.client();
const local = await startLocalBackend({ kinesis: false });
const dynamo = new DynamoDBClient({
  endpoint: local.dynamodbEndpoint,
  region: local.region,
  credentials: { ...local.credentials },
});

const shards = fake.shards('bench');
await fillShardsWithAggregates(fake, kinesis, 'bench', RECORDS / SHARDS, { maxRecords: 100 });

// The raw records of each shard, read once, are what the in-memory subscriptions serve.
const byShard = new Map<string, _Record[]>();
for (const shard of shards) {
  byShard.set(shard.shardId, await readShardRecords(kinesis, 'bench', shard.shardId));
}
const aggregates = [...byShard.values()].reduce((n, r) => n + r.length, 0);

/** When each event (keyed by its first sequence number) left the event source. */
const arrivals = new Map<string, bigint>();
const overheadsNs: number[] = [];

async function* events(
  shardId: string,
  startingPosition: { Type?: string; SequenceNumber?: string },
): AsyncGenerator<SubscribeToShardEventStream> {
  const records = byShard.get(shardId) ?? [];
  let index = 0;
  if (startingPosition.Type === 'AFTER_SEQUENCE_NUMBER')
    index = records.findIndex((r) => r.SequenceNumber === startingPosition.SequenceNumber) + 1;
  for (;;) {
    const slice = records.slice(index, index + RECORDS_PER_EVENT);
    index += slice.length;
    const continuation = records[index - 1]?.SequenceNumber ?? '0';
    if (slice.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    else arrivals.set(slice[0]!.SequenceNumber!, process.hrtime.bigint());
    yield {
      SubscribeToShardEvent: {
        Records: slice,
        ContinuationSequenceNumber: continuation,
        MillisBehindLatest: 0,
      },
    };
  }
}

/** The fake Kinesis client, plus an ACTIVE stream consumer and in-memory subscriptions. */
const efoClient = new Proxy(kinesis, {
  get(target, property, receiver) {
    if (property !== 'send') return Reflect.get(target, property, receiver);
    return async (command: unknown, options?: unknown) => {
      if (command instanceof DescribeStreamConsumerCommand)
        return {
          ConsumerDescription: {
            ConsumerName: 'bench',
            ConsumerARN: 'arn:bench-consumer',
            ConsumerStatus: 'ACTIVE',
          },
        };
      if (command instanceof SubscribeToShardCommand)
        return {
          EventStream: events(command.input.ShardId!, command.input.StartingPosition ?? {}),
        };
      return (target.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
    };
  },
}) as KinesisClient;

async function run(mode: 'polling' | 'fanout'): Promise<number> {
  let delivered = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const start = process.hrtime.bigint();
  const consumer = new Consumer({
    streamName: 'bench',
    applicationName: `bench-${mode}`,
    kinesisClient: mode === 'fanout' ? efoClient : kinesis,
    dynamoDBClient: dynamo,
    initialPosition: 'TRIM_HORIZON',
    idleTimeBetweenReadsMillis: 1000,
    ...(mode === 'fanout'
      ? {
          retrieval: {
            mode: 'fanout' as const,
            consumerName: 'bench',
            kinesisClient: efoClient,
            shardEndCheckIntervalMs: 0,
          },
        }
      : {}),
    processor: {
      processRecords(batch) {
        if (mode === 'fanout') {
          const arrived = arrivals.get(batch.records[0]!.sequenceNumber);
          if (arrived !== undefined && batch.records[0]!.subSequenceNumber === 0)
            overheadsNs.push(Number(process.hrtime.bigint() - arrived));
        }
        delivered += batch.records.length;
        if (delivered >= RECORDS) finish();
      },
    },
  });
  await consumer.start();
  await done;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await consumer.stop();
  return seconds;
}

const pollingSeconds = await run('polling');
const fanoutSeconds = await run('fanout');
overheadsNs.sort((a, b) => a - b);
const pct = (p: number) =>
  (
    overheadsNs[Math.min(overheadsNs.length - 1, Math.floor((p / 100) * overheadsNs.length))]! / 1e6
  ).toFixed(3);

console.log(
  `1. ${RECORDS} user records of 100 B in ${aggregates} aggregates over ${SHARDS} shards (start-up and lease taking included)`,
);
console.log(
  `   fan-out consumer (in-memory subscriptions): ${Math.round(RECORDS / fanoutSeconds).toLocaleString()} user rec/s (${fanoutSeconds.toFixed(2)} s)`,
);
console.log(
  `   polling consumer (fake GetRecords):         ${Math.round(RECORDS / pollingSeconds).toLocaleString()} user rec/s (${pollingSeconds.toFixed(2)} s); fan-out / polling ${(pollingSeconds / fanoutSeconds).toFixed(2)}x`,
);
console.log(
  `\n2. event arrival -> processRecords called, fan-out path (${overheadsNs.length} events of up to ${RECORDS_PER_EVENT} aggregates, de-aggregation included)`,
);
console.log(`   p50 ${pct(50)} ms, p99 ${pct(99)} ms`);

kinesis.destroy();
dynamo.destroy();
await local.stop();
await fake.close();

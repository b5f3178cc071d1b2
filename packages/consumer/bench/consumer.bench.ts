/**
 * Consumer benchmarks, backend stubbed in-process (fake Kinesis + dynalite):
 *  1. records/s of de-aggregate + dispatch to a no-op processor, polling path, beside a bare
 *     GetRecords loop (no leases, no de-aggregation) over the same data in the same run;
 *  2. lease-table writes per second of one worker holding 100 shards.
 * Run: pnpm bench (or pnpm build, then npx tsx packages/consumer/bench/consumer.bench.ts: benchmarks run the built packages, as users do)
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FakeKinesis, readShardRecords } from '@shardline/fake-kinesis';
import { fillShardsWithAggregates } from './fill-stream';
import { startLocalBackend } from '@shardline/local';
import { Consumer } from '@shardline/consumer';

const RECORDS = 400_000;
const SHARDS = 4;
const fake = await FakeKinesis.start();
fake.createStream('bench', SHARDS);
const kinesis = fake.client();
const local = await startLocalBackend({ kinesis: false });
let writes = 0;
const dynamo = new DynamoDBClient({
  endpoint: local.dynamodbEndpoint,
  region: local.region,
  credentials: { ...local.credentials },
});
dynamo.middlewareStack.add(
  (next) => async (args) => {
    const name = (args.input as { UpdateExpression?: string }).UpdateExpression;
    if (name) writes++;
    return next(args);
  },
  { step: 'initialize' },
);

// Fill each shard with aggregates of 100-byte records routed to it.
const shards = fake.shards('bench');
await fillShardsWithAggregates(fake, kinesis, 'bench', RECORDS / SHARDS);

// Baseline: GetRecords over every shard, no leases, no de-aggregation.
let start = process.hrtime.bigint();
let rawRecords = 0;
for (const shard of shards) {
  rawRecords += (await readShardRecords(kinesis, 'bench', shard.shardId)).length;
}
const baselineSeconds = Number(process.hrtime.bigint() - start) / 1e9;

start = process.hrtime.bigint();
let delivered = 0;
let finish!: () => void;
const done = new Promise<void>((resolve) => (finish = resolve));
const consumer = new Consumer({
  streamName: 'bench',
  applicationName: 'bench-app',
  kinesisClient: kinesis,
  dynamoDBClient: dynamo,
  initialPosition: 'TRIM_HORIZON',
  idleTimeBetweenReadsMillis: 1000,
  processor: {
    processRecords(batch) {
      delivered += batch.records.length;
      if (delivered >= RECORDS) finish();
    },
  },
});
await consumer.start();
await done;
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
await consumer.stop();
console.log(
  `1. polling path, ${RECORDS} user records of 100 B in ${rawRecords} aggregates over ${SHARDS} shards`,
);
console.log(
  `   consumer (leases + GetRecords + de-aggregate + dispatch): ${Math.round(RECORDS / seconds).toLocaleString()} user rec/s (${seconds.toFixed(2)} s, start-up and lease taking included)`,
);
console.log(
  `   bare GetRecords loop, same data, no de-aggregation:        ${Math.round(RECORDS / baselineSeconds).toLocaleString()} user rec/s equivalent (${baselineSeconds.toFixed(2)} s); ratio ${(baselineSeconds / seconds).toFixed(2)}x`,
);

// 2. Lease-table writes of a worker holding 100 shards, default failover (renewal every 3.3 s).
fake.createStream('hundred', 100);
writes = 0;
const many = new Consumer({
  streamName: 'hundred',
  applicationName: 'bench-100',
  kinesisClient: kinesis,
  dynamoDBClient: dynamo,
  initialPosition: 'LATEST',
  processor: { processRecords() {} },
});
await many.start();
while (many.ownedShards().length < 100) await new Promise((r) => setTimeout(r, 100));
writes = 0;
const window = 10_000;
await new Promise((r) => setTimeout(r, window));
console.log(
  `\n2. lease-table writes of one worker holding 100 shards (failover 10 s): ${(writes / (window / 1000)).toFixed(1)} writes/s (renewals: 100 leases every 3.3 s ≈ 30/s expected; no checkpoints without records)`,
);
await many.stop();
kinesis.destroy();
dynamo.destroy();
await local.stop();
await fake.close();

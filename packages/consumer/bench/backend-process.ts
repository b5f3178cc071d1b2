// The consumer benchmark's backend in its own process: fake Kinesis and dynalite. The process under
// test then spends its CPU on the consumer (or the bare loop) and the SDK alone, as it would against
// the service, and the backend's cost is in no contender's process.cpuUsage().
// Environment: BENCH_PER_SHARD user records per shard of stream 'bench' (4 shards), aggregated at
// BENCH_AGGREGATE_BYTES; with BENCH_FLOW_PER_SHARD, also stream 'flow' (4 shards) of that many
// aggregates of 10 user records per shard (a trickle that keeps every read non-empty). Prints one
// JSON line (endpoints, shard ids, Kinesis records), then answers
// 'stop' by exiting.
import { startLocalBackend } from '@shardline/local';
import { FakeKinesis } from '@shardline/fake-kinesis';
import { fillShardsWithAggregates } from './fill-stream';

const fake = await FakeKinesis.start();
fake.createStream('bench', 4);
fake.createStream('hundred', 100);
const local = await startLocalBackend({ kinesis: false });
const kinesis = fake.client();
await fillShardsWithAggregates(fake, kinesis, 'bench', Number(process.env.BENCH_PER_SHARD), {
  maxBytes: Number(process.env.BENCH_AGGREGATE_BYTES),
});
const flowAggregates = Number(process.env.BENCH_FLOW_PER_SHARD ?? 0);
if (flowAggregates > 0) {
  fake.createStream('flow', 4);
  await fillShardsWithAggregates(fake, kinesis, 'flow', flowAggregates * 10, { maxRecords: 10 });
}
kinesis.destroy();
const shards = fake.shards('bench');
process.stdout.write(
  `${JSON.stringify({
    kinesisEndpoint: fake.endpoint,
    dynamodbEndpoint: local.dynamodbEndpoint,
    region: local.region,
    credentials: local.credentials,
    shardIds: shards.map((s) => s.shardId),
    kinesisRecords: shards.reduce((n, s) => n + s.records.length, 0),
  })}\n`,
);
// A parent that died (a failed run) takes the backend with it.
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  if (m === 'stop') void Promise.all([local.stop(), fake.close()]).then(() => process.exit(0));
});

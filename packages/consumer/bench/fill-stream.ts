/** Stream set-up shared by the consumer benchmarks. */
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { aggregate, type AggregatorOptions } from '@shardline/aggregation';
import type { FakeKinesis } from '@shardline/fake-kinesis';

/**
 * Fills every shard of `stream` with `perShard` user records of 100 bytes, aggregated and routed to
 * that shard by explicit hash key, put 500 Kinesis records per PutRecords call.
 */
export async function fillShardsWithAggregates(
  fake: FakeKinesis,
  kinesis: KinesisClient,
  stream: string,
  perShard: number,
  options?: AggregatorOptions,
): Promise<void> {
  for (const shard of fake.shards(stream)) {
    const users = Array.from({ length: perShard }, (_, i) => ({
      partitionKey: `k${i}`,
      data: Buffer.alloc(100, 97),
      explicitHashKey: (shard.start + BigInt(i % 1000)).toString(),
    }));
    const aggs = aggregate(users, options);
    for (let i = 0; i < aggs.length; i += 500) {
      await kinesis.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: aggs.slice(i, i + 500).map((a) => ({
            PartitionKey: a.partitionKey,
            ExplicitHashKey: a.explicitHashKey,
            Data: a.data,
          })),
        }),
      );
    }
  }
}

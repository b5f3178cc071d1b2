import {
  DescribeStreamSummaryCommand,
  ListStreamConsumersCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { Consumer, type ConsumerOptions } from '@shardline/consumer';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createStream,
  dynamoDBClient,
  fanoutKinesisClient,
  kinesisClient,
  uniqueName,
  waitFor,
} from '../src/backend';
import { produce } from '../src/support/consumer-harness';

// One consumer over two kinesis-local streams (the KCL's multi-stream mode): every record of
// both is delivered once, in order per shard, each batch naming its stream.

interface Delivered {
  stream: string;
  shardId: string;
  key: string;
  id: string;
  sequenceNumber: string;
  subSequenceNumber: number;
}

const clients: KinesisClient[] = [];
afterAll(() => clients.forEach((c) => c.destroy()));

describe('Consumer of many streams against real Kinesis and DynamoDB engines', () => {
  it('one consumer reads every record of two streams, in order per shard (polling)', async () => {
    await readsBoth({});
  });

  it('streams given by ARN are polled by ARN (GetShardIterator and GetRecords carry StreamARN)', async () => {
    const client = kinesisClient();
    const sentWith: string[] = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        const input = args.input as { StreamARN?: string; StreamName?: string };
        if (
          context.commandName === 'GetShardIteratorCommand' ||
          context.commandName === 'GetRecordsCommand'
        )
          sentWith.push(
            `${context.commandName}:${input.StreamARN ? 'arn' : input.StreamName ? 'name' : 'none'}`,
          );
        return next(args);
      },
      { step: 'initialize', name: 'recordStreamTarget' },
    );
    clients.push(client);
    await readsBoth({ kinesisClient: client }, { byArn: true });
    expect(new Set(sentWith)).toEqual(
      new Set(['GetShardIteratorCommand:arn', 'GetRecordsCommand:arn']),
    );
  });

  it('with enhanced fan-out: one registered stream consumer per stream', async () => {
    const client = fanoutKinesisClient();
    clients.push(client);
    const consumerName = uniqueName('multi-efo');
    const streams = await readsBoth({
      retrieval: { mode: 'fanout', consumerName, kinesisClient: client },
    });
    for (const streamName of streams) {
      const arn = (
        await kinesisClient().send(new DescribeStreamSummaryCommand({ StreamName: streamName }))
      ).StreamDescriptionSummary!.StreamARN!;
      const registered = await kinesisClient().send(
        new ListStreamConsumersCommand({ StreamARN: arn }),
      );
      expect(registered.Consumers?.map((c) => c.ConsumerName)).toEqual([consumerName]);
    }
  });
});

/** Reads two new streams (by name, or by ARN) with one consumer and checks what it delivered; returns their names. */
async function readsBoth(
  extra: Partial<ConsumerOptions>,
  { byArn = false }: { byArn?: boolean } = {},
): Promise<string[]> {
  const orders = uniqueName('multi-orders');
  const clicks = uniqueName('multi-clicks');
  const ordersArn = (await createStream(orders, 2)).streamArn;
  const clicksArn = (await createStream(clicks, 3)).streamArn;
  const sent = new Map([
    [orders, await produce(orders, 600, { prefix: 'o' })],
    [clicks, await produce(clicks, 600, { prefix: 'c' })],
  ]);
  const seen: Delivered[] = [];
  const consumer = new Consumer({
    streams: byArn
      ? [{ streamArn: ordersArn }, { streamArn: clicksArn }]
      : [{ streamName: orders }, { streamName: clicks }],
    applicationName: uniqueName('multi-app'),
    kinesisClient: kinesisClient(),
    dynamoDBClient: dynamoDBClient(),
    initialPosition: 'TRIM_HORIZON',
    failoverTimeMillis: 1500,
    idleTimeBetweenReadsMillis: 200,
    ...extra,
    processor: {
      processRecords(batch) {
        for (const r of batch.records)
          seen.push({
            stream: batch.streamName!,
            shardId: batch.shardId,
            key: r.partitionKey,
            id: Buffer.from(r.data).toString(),
            sequenceNumber: r.sequenceNumber,
            subSequenceNumber: r.subSequenceNumber,
          });
      },
    },
  });
  await consumer.start();
  try {
    await waitFor(() => seen.length >= 1200, {
      timeoutMs: 90_000,
      message: 'every record of both streams',
    });
    expect(consumer.ownedShards()).toHaveLength(5);
  } finally {
    await consumer.stop();
  }
  expect(seen).toHaveLength(1200);
  expect(new Set(seen.map((r) => `${r.stream}/${r.id}`)).size).toBe(1200);
  for (const [stream, byKey] of sent) {
    const got = new Map<string, string[]>();
    for (const r of seen.filter((x) => x.stream === stream))
      got.set(r.key, [...(got.get(r.key) ?? []), r.id]);
    expect(got).toEqual(byKey);
  }
  // In order per shard: sequence numbers (and sub-sequence numbers inside an aggregate) rise.
  const shards = new Map<string, Delivered[]>();
  for (const r of seen) {
    const k = `${r.stream}/${r.shardId}`;
    shards.set(k, [...(shards.get(k) ?? []), r]);
  }
  expect(shards.size).toBe(5);
  for (const records of shards.values())
    for (let i = 1; i < records.length; i++) {
      const a = records[i - 1]!;
      const b = records[i]!;
      const order =
        BigInt(a.sequenceNumber) < BigInt(b.sequenceNumber) ||
        (a.sequenceNumber === b.sequenceNumber && a.subSequenceNumber < b.subSequenceNumber);
      expect(order).toBe(true);
    }
  return [orders, clicks];
}

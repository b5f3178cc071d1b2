import {
  KinesisClient,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  SubscribeToShardCommand,
  type SubscribeToShardEvent,
  type SubscribeToShardEventStream,
} from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeKinesis } from '../src/index';

let fake: FakeKinesis;
let client: KinesisClient;
beforeEach(async () => {
  fake = await FakeKinesis.start({
    http2: true,
    subscriptions: { pollMillis: 20, heartbeatMillis: 150, lifetimeMillis: 1500 },
  });
  client = fake.client();
});
afterEach(async () => {
  client.destroy();
  await fake.close();
});

const put = (n: number, from = 0) =>
  client.send(
    new PutRecordsCommand({
      StreamName: 's',
      Records: Array.from({ length: n }, (_, i) => ({
        PartitionKey: `k${from + i}`,
        ExplicitHashKey: '0',
        Data: Buffer.from(`d${from + i}`),
      })),
    }),
  );

async function register(): Promise<string> {
  const arn = fake.createStream('s', 2).streamArn;
  const out = await client.send(
    new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'c' }),
  );
  return out.Consumer!.ConsumerARN!;
}

/** The next SubscribeToShardEvent, or undefined when the stream ended. */
async function nextEvent(
  events: AsyncIterator<SubscribeToShardEventStream>,
): Promise<SubscribeToShardEvent | undefined> {
  const next = await events.next();
  if (next.done) return undefined;
  expect(next.value.SubscribeToShardEvent).toBeDefined();
  return next.value.SubscribeToShardEvent;
}

const data = (e: SubscribeToShardEvent | undefined) =>
  (e?.Records ?? []).map((r) => Buffer.from(r.Data!).toString());

async function subscribe(consumerArn: string, position: { Type: string; SequenceNumber?: string }) {
  const out = await client.send(
    new SubscribeToShardCommand({
      ConsumerARN: consumerArn,
      ShardId: 'shardId-000000000000',
      StartingPosition: position as never,
    }),
  );
  return out.EventStream![Symbol.asyncIterator]();
}

describe('SubscribeToShard', () => {
  it('registers an ACTIVE consumer and refuses the same name twice', async () => {
    const consumerArn = await register();
    const arn = 'arn:aws:kinesis:us-east-1:000000000000:stream/s';
    const described = await client.send(
      new DescribeStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'c' }),
    );
    expect(described.ConsumerDescription).toMatchObject({
      ConsumerARN: consumerArn,
      ConsumerStatus: 'ACTIVE',
    });
    await expect(
      client.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'c' })),
    ).rejects.toMatchObject({ name: 'ResourceInUseException' });
  });

  it('pushes stored records, then new ones as they arrive, each with a continuation', async () => {
    const consumerArn = await register();
    await put(3);
    const events = await subscribe(consumerArn, { Type: 'TRIM_HORIZON' });
    const first = await nextEvent(events);
    expect(data(first)).toEqual(['d0', 'd1', 'd2']);
    expect(first!.ContinuationSequenceNumber).toBe(first!.Records![2]!.SequenceNumber);
    await put(2, 3);
    let second = await nextEvent(events);
    while (second && second.Records!.length === 0) second = await nextEvent(events);
    expect(data(second)).toEqual(['d3', 'd4']);
    // Resuming after the first event's continuation starts at the record after it.
    const resumed = await subscribe(consumerArn, {
      Type: 'AFTER_SEQUENCE_NUMBER',
      SequenceNumber: first!.ContinuationSequenceNumber!,
    });
    expect(data(await nextEvent(resumed))).toEqual(['d3', 'd4']);
  });

  it('sends empty events while idle, continuing where the reader is, and ends after its lifetime', async () => {
    const consumerArn = await register();
    await put(2);
    const events = await subscribe(consumerArn, { Type: 'LATEST' });
    const started = Date.now();
    const idle: SubscribeToShardEvent[] = [];
    for (let e = await nextEvent(events); e; e = await nextEvent(events)) idle.push(e);
    // The stream ended by itself, after its lifetime, having sent only empty heartbeats.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(idle.length).toBeGreaterThanOrEqual(3);
    const last = fake.records('s', 'shardId-000000000000')[1]!.sequenceNumber;
    for (const e of idle) {
      expect(e.Records).toEqual([]);
      expect(e.ContinuationSequenceNumber).toBe(last);
    }
  });

  it('ends a closed shard with its children and no continuation', async () => {
    const consumerArn = await register();
    await put(1);
    const [left, right] = fake.splitShard('s', 'shardId-000000000000');
    const events = await subscribe(consumerArn, { Type: 'TRIM_HORIZON' });
    let e = await nextEvent(events);
    const seen = data(e);
    while (e && e.ChildShards === undefined) {
      e = await nextEvent(events);
      seen.push(...data(e));
    }
    expect(seen).toEqual(['d0']);
    expect(e!.ContinuationSequenceNumber).toBeUndefined();
    expect(e!.ChildShards!.map((c) => c.ShardId)).toEqual([left, right]);
    expect(await nextEvent(events)).toBeUndefined();
  });

  it('answers an unknown consumer with ResourceNotFoundException', async () => {
    await register();
    await expect(
      subscribe('arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/nope:1', {
        Type: 'LATEST',
      }),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('streams over HTTP/2 cleartext too', async () => {
    const consumerArn = await register();
    await put(2);
    const h2 = new KinesisClient({
      region: 'us-east-1',
      endpoint: fake.http2Endpoint,
      credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
      requestHandler: new NodeHttp2Handler(),
    });
    try {
      const streams = await Promise.all(
        ['shardId-000000000000', 'shardId-000000000001'].map(async (ShardId) => {
          const out = await h2.send(
            new SubscribeToShardCommand({
              ConsumerARN: consumerArn,
              ShardId,
              StartingPosition: { Type: 'TRIM_HORIZON' },
            }),
          );
          return out.EventStream![Symbol.asyncIterator]();
        }),
      );
      expect(data(await nextEvent(streams[0]!))).toEqual(['d0', 'd1']);
      expect(data(await nextEvent(streams[1]!))).toEqual([]);
    } finally {
      h2.destroy();
    }
  });
});

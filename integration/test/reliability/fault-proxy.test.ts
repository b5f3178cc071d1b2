import { CreateTableCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, createStream, readStream, uniqueName } from '../../src/backend';
import { FaultProxy } from '../../src/faults/proxy';

// The fault proxy itself, against the real emulators: each fault kind does what the scenarios
// rely on, and the proxy counts it.

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } },
  );

describe('fault proxy in front of kinesis-local and dynalite', () => {
  let kinesisProxy: FaultProxy;
  let dynamoProxy: FaultProxy;
  let kinesis: KinesisClient;
  let dynamo: DynamoDBClient;
  beforeAll(async () => {
    const info = backend();
    kinesisProxy = await FaultProxy.start({ target: info.kinesisEndpoint!, seed: 3 });
    dynamoProxy = await FaultProxy.start({ target: info.dynamodbEndpoint!, seed: 3 });
    const credentials = info.credentials ?? { accessKeyId: 'x', secretAccessKey: 'x' };
    kinesis = new KinesisClient({
      region: info.region,
      endpoint: kinesisProxy.endpoint,
      credentials,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler(),
    });
    dynamo = new DynamoDBClient({
      region: info.region,
      endpoint: dynamoProxy.endpoint,
      credentials: { ...credentials },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    kinesis.destroy();
    dynamo.destroy();
    await Promise.all([kinesisProxy.close(), dynamoProxy.close()]);
  });

  it('Kinesis: throttle, 5xx, malformed, expired iterator, partial, reset and stall', async () => {
    const streamName = uniqueName('proxy');
    await createStream(streamName, 1);
    const put = (n: number, prefix: string) =>
      kinesis.send(
        new PutRecordsCommand({
          StreamName: streamName,
          Records: Array.from({ length: n }, (_, i) => ({
            PartitionKey: `k${i}`,
            Data: Buffer.from(`${prefix}-${i}`),
          })),
        }),
      );

    kinesisProxy.inject({ kind: 'throttle', operation: 'PutRecords', times: 1 });
    expect((await errorOf(put(1, 't')))?.name).toBe('ProvisionedThroughputExceededException');
    kinesisProxy.inject({ kind: 'internal', operation: 'PutRecords', times: 1 });
    const internal = await errorOf(put(1, 'i'));
    expect(internal?.$metadata?.httpStatusCode).toBe(500);
    kinesisProxy.inject({ kind: 'malformed', operation: 'ListShards', times: 1 });
    expect(
      await errorOf(kinesis.send(new ListShardsCommand({ StreamName: streamName }))),
    ).toBeInstanceOf(Error);

    const partial = kinesisProxy.inject({
      kind: 'partial',
      operation: 'PutRecords',
      times: 1,
      fraction: 0.5,
    });
    const out = await put(40, 'p');
    expect(partial.applied).toBe(1);
    expect(out.FailedRecordCount).toBeGreaterThan(0);
    expect(
      out.Records!.filter((r) => r.ErrorCode === 'ProvisionedThroughputExceededException'),
    ).toHaveLength(out.FailedRecordCount!);

    // A reset after forwarding: the client sees an error, yet the backend has the records.
    kinesisProxy.inject({ kind: 'reset', operation: 'PutRecords', times: 1 });
    expect(await errorOf(put(3, 'reset'))).toBeInstanceOf(Error);
    const stored = [...(await readStream(streamName)).values()]
      .flat()
      .map((r) => Buffer.from(r.data).toString());
    expect(stored).toEqual(expect.arrayContaining(['reset-0', 'reset-1', 'reset-2']));

    const [shard] = (await kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards!;
    const iterator = (
      await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shard!.ShardId!,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator!;
    kinesisProxy.inject({ kind: 'expired-iterator', operation: 'GetRecords', times: 1 });
    expect(
      (await errorOf(kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }))))?.name,
    ).toBe('ExpiredIteratorException');

    const stall = kinesisProxy.inject({ kind: 'stall', operation: 'PutRecords', times: 1 });
    let settled = false;
    const held = put(1, 'stalled').finally(() => (settled = true));
    while (stall.applied === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    kinesisProxy.release();
    expect((await held).FailedRecordCount).toBe(0);

    const latency = kinesisProxy.inject({
      kind: 'latency',
      operation: 'ListShards',
      times: 1,
      latencyMs: 50,
    });
    expect(
      (await kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards,
    ).toHaveLength(1);
    expect(latency.applied).toBe(1);

    expect(kinesisProxy.injected).toMatchObject({
      throttle: 1,
      internal: 1,
      malformed: 1,
      partial: 1,
      reset: 1,
      'expired-iterator': 1,
      stall: 1,
      latency: 1,
    });
  });

  it('DynamoDB: ConditionalCheckFailed on UpdateItem, only for matching bodies', async () => {
    const table = uniqueName('proxy-table');
    await dynamo.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const update = (k: string) =>
      dynamo.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { k: { S: k } },
          UpdateExpression: 'SET v = :v',
          ExpressionAttributeValues: { ':v': { N: '1' } },
        }),
      );
    const rule = dynamoProxy.inject({
      kind: 'conditional-check-failed',
      operation: 'UpdateItem',
      bodyContains: '"victim"',
    });
    expect((await errorOf(update('victim')))?.name).toBe('ConditionalCheckFailedException');
    await update('bystander');
    expect(rule.applied).toBe(1);
    expect(dynamoProxy.calls.UpdateItem).toBe(2);
  });
});

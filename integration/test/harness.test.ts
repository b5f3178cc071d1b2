import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import {
  backend,
  createStream,
  dynamoDBClient,
  kinesisClient,
  listShards,
  uniqueName,
  waitFor,
} from '../src/backend';
import {
  listStreamNames,
  listTableNames,
  newRunId,
  removeRunResources,
} from '../src/run-resources';
import { probeBackend } from '../src/start-backend';

describe('integration harness', () => {
  it('hands every test a reachable backend', async () => {
    const info = backend();
    expect(['embedded', 'localstack', 'endpoint']).toContain(info.kind);
    await probeBackend(info);
  });

  it('creates streams that are ACTIVE with the shards asked for', async () => {
    const name = uniqueName('harness');
    const { streamArn } = await createStream(name, 3);
    expect(streamArn).toContain(name);
    const shards = await listShards(name);
    expect(shards).toHaveLength(3);
    const summary = await kinesisClient().send(
      new DescribeStreamSummaryCommand({ StreamName: name }),
    );
    expect(summary.StreamDescriptionSummary?.StreamStatus).toBe('ACTIVE');
  });

  it('fails with a message that names the backend when it is unreachable', async () => {
    const dead = {
      ...backend(),
      kinesisEndpoint: 'http://127.0.0.1:9',
      dynamodbEndpoint: 'http://127.0.0.1:9',
    };
    await expect(probeBackend(dead, 2000)).rejects.toThrow(
      /Kinesis backend .* at http:\/\/127\.0\.0\.1:9 is unreachable/,
    );
  });

  it('waitFor reports what it waited for', async () => {
    await expect(
      waitFor(() => false, { timeoutMs: 50, message: 'the impossible' }),
    ).rejects.toThrow(/the impossible not met within 50 ms/);
    expect(await waitFor(() => 42)).toBe(42);
  });

  it('removes the streams and tables a run created, and nothing of another run', async () => {
    // Another run's resources, named as uniqueName names them, beside one of this run's.
    const otherRun = newRunId();
    const theirStream = `cleanup-${otherRun}-${process.pid}-1`;
    const theirTable = `cleanup-${otherRun}-${process.pid}-2`;
    const ours = uniqueName('cleanup-kept');
    await createStream(theirStream, 1);
    await createStream(ours, 1);
    const dynamodb = dynamoDBClient();
    await dynamodb.send(
      new CreateTableCommand({
        TableName: theirTable,
        KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    expect(await listStreamNames(kinesisClient())).toEqual(
      expect.arrayContaining([theirStream, ours]),
    );
    expect(await listTableNames(dynamodb)).toContain(theirTable);

    expect(await removeRunResources(backend(), otherRun)).toEqual({
      streams: [theirStream],
      tables: [theirTable],
    });
    const streamStatus = (name: string) =>
      kinesisClient()
        .send(new DescribeStreamSummaryCommand({ StreamName: name }))
        .then(
          (out) => out.StreamDescriptionSummary?.StreamStatus,
          (error: Error) => error.name,
        );
    expect(['DELETING', 'ResourceNotFoundException']).toContain(await streamStatus(theirStream));
    const tableStatus = await dynamodb
      .send(new DescribeTableCommand({ TableName: theirTable }))
      .then(
        (out) => out.Table?.TableStatus,
        (error: Error) => error.name,
      );
    expect(['DELETING', 'ResourceNotFoundException']).toContain(tableStatus);
    expect(await streamStatus(ours)).toBe('ACTIVE');
    dynamodb.destroy();
  });
});

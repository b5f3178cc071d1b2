import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { backend, createStream, kinesisClient, listShards, uniqueName, waitFor } from '../src/backend';
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
    const summary = await kinesisClient().send(new DescribeStreamSummaryCommand({ StreamName: name }));
    expect(summary.StreamDescriptionSummary?.StreamStatus).toBe('ACTIVE');
  });

  it('fails with a message that names the backend when it is unreachable', async () => {
    const dead = { ...backend(), kinesisEndpoint: 'http://127.0.0.1:9', dynamodbEndpoint: 'http://127.0.0.1:9' };
    await expect(probeBackend(dead, 2000)).rejects.toThrow(/Kinesis backend .* at http:\/\/127\.0\.0\.1:9 is unreachable/);
  });

  it('waitFor reports what it waited for', async () => {
    await expect(waitFor(() => false, { timeoutMs: 50, message: 'the impossible' })).rejects.toThrow(/the impossible not met within 50 ms/);
    expect(await waitFor(() => 42)).toBe(42);
  });
});

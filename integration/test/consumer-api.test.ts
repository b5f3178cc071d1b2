import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { aggregate, compress } from '@shardline/aggregation';
import { Consumer, type PoisonRecordError } from '@shardline/consumer';
import { describe, expect, it } from 'vitest';
import { createStream, dynamoDBClient, kinesisClient, uniqueName, waitFor } from '../src/backend';
import { produce } from '../src/support/consumer-harness';

const base = () => ({
  kinesisClient: kinesisClient(),
  dynamoDBClient: dynamoDBClient(),
  initialPosition: 'TRIM_HORIZON' as const,
  failoverTimeMillis: 1500,
  idleTimeBetweenReadsMillis: 200,
});

describe('Consumer API', () => {
  it('works as an async iterator; leaving the loop stops it', async () => {
    const streamName = uniqueName('iter');
    await createStream(streamName, 2);
    const sent = await produce(streamName, 300);
    const consumer = new Consumer({ ...base(), streamName, applicationName: uniqueName('app') });
    const got = new Set<string>();
    for await (const batch of consumer) {
      for (const r of batch.records) got.add(Buffer.from(r.data).toString());
      if (got.size === 300) break;
    }
    expect(got.size).toBe([...sent.values()].flat().length);
    expect(consumer.health().running).toBe(false);
  });

  it('retries a processor that throws, then delivers; onProcessorError can route a batch away', async () => {
    const streamName = uniqueName('throws');
    await createStream(streamName, 1);
    await produce(streamName, 50);
    let calls = 0;
    const delivered: string[] = [];
    const errors: number[] = [];
    const consumer = new Consumer({
      ...base(),
      streamName,
      applicationName: uniqueName('app'),
      onProcessorError: (_error, _batch, attempt) => (errors.push(attempt), 'retry'),
      processor: {
        processRecords(batch) {
          calls++;
          if (calls <= 2) throw new Error('downstream unavailable');
          for (const r of batch.records) delivered.push(Buffer.from(r.data).toString());
        },
      },
    });
    await consumer.start();
    await waitFor(() => delivered.length >= 50, {
      timeoutMs: 30_000,
      message: 'delivered after retries',
    });
    await consumer.stop();
    expect(errors).toEqual([1, 2]);
    expect(new Set(delivered).size).toBe(50);
  });

  it('hands undecodable records to onPoisonRecord and goes on with the rest', async () => {
    const streamName = uniqueName('poison');
    await createStream(streamName, 1);
    const [agg] = aggregate([
      { partitionKey: 'k', data: Buffer.from('a') },
      { partitionKey: 'k', data: Buffer.from('b') },
    ]);
    const corrupt = Buffer.from(agg!.data);
    corrupt[12]! ^= 0xff;
    const badEnvelope = Buffer.from(compress(Buffer.from('zzz'), 'gzip'));
    badEnvelope[5] = 9;
    await kinesisClient().send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: [
          { PartitionKey: 'k', Data: corrupt },
          { PartitionKey: 'k', Data: badEnvelope },
          { PartitionKey: 'k', Data: Buffer.from('good') },
        ],
      }),
    );
    const poisoned: PoisonRecordError[] = [];
    const delivered: string[] = [];
    const consumer = new Consumer({
      ...base(),
      streamName,
      applicationName: uniqueName('app'),
      onPoisonRecord: (error) => void poisoned.push(error),
      processor: {
        processRecords: (batch) =>
          void delivered.push(...batch.records.map((r) => Buffer.from(r.data).toString())),
      },
    });
    await consumer.start();
    await waitFor(() => delivered.includes('good') && poisoned.length === 2, {
      timeoutMs: 30_000,
      message: 'good record delivered, two poisoned',
    });
    await consumer.stop();
    expect(delivered).toEqual(['good']);
    expect(poisoned.map((p) => (p.cause as { name: string }).name)).toEqual([
      'CorruptAggregateError',
      'CompressionError',
    ]);
  });

  it('reports health per shard', async () => {
    const streamName = uniqueName('health');
    await createStream(streamName, 2);
    const consumer = new Consumer({
      ...base(),
      streamName,
      applicationName: uniqueName('app'),
      processor: { processRecords() {} },
    });
    await consumer.start();
    await waitFor(
      () => consumer.health().shards.filter((s) => s.lastReadAt !== undefined).length === 2,
      { timeoutMs: 30_000, message: 'both shards read' },
    );
    const health = consumer.health();
    expect(health).toMatchObject({ running: true, healthy: true });
    expect(health.shards.map((s) => ({ state: s.state, leaseHeld: s.leaseHeld }))).toEqual([
      { state: 'processing', leaseHeld: true },
      { state: 'processing', leaseHeld: true },
    ]);
    await consumer.stop();
    expect(consumer.health().running).toBe(false);
  });

  it('fails at construction on bad config, and at start on a stream that does not exist', async () => {
    expect(
      () =>
        new Consumer({
          ...base(),
          streamName: 'x',
          applicationName: 'ok-app',
          initialPosition: 'SOMEWHERE' as 'LATEST',
          processor: { processRecords() {} },
        }),
    ).toThrow(/initialPosition/);
    const consumer = new Consumer({
      ...base(),
      streamName: uniqueName('missing'),
      applicationName: uniqueName('app'),
      processor: { processRecords() {} },
    });
    await expect(consumer.start()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await consumer.stop();
  });
});

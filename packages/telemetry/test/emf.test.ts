import { ConfigError } from '@shardline/common';
import { FakeKinesis } from '@shardline/fake-kinesis';
import { Producer } from '@shardline/producer';
import { afterEach, describe, expect, it } from 'vitest';
import { EMF_LIMITS, EmfMetrics } from '../src/index';
import { emfViolations } from './emf-spec';

const fakes: FakeKinesis[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

function collector(options: Partial<ConstructorParameters<typeof EmfMetrics>[0]> = {}) {
  const lines: string[] = [];
  const emf = new EmfMetrics({
    namespace: 'Shardline/Test',
    flushIntervalMillis: 0,
    write: (line) => lines.push(line),
    now: () => 1_764_580_000_000,
    ...options,
  });
  const documents = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { emf, lines, documents };
}

describe('EmfMetrics', () => {
  it('a real producer run, written as EMF documents that follow the specification and add up', async () => {
    const fake = await FakeKinesis.start();
    fakes.push(fake);
    fake.createStream('orders', 4);
    const { emf, lines, documents } = collector();
    const producer = new Producer({
      streamName: 'orders',
      kinesisClient: fake.client(),
      recordMaxBufferedTime: 5,
      onMetric: emf.producer({ streamName: 'orders' }),
    });
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        producer.put({ partitionKey: `k${i % 40}`, data: `d${i}` }),
      ),
    );
    await producer.close();
    emf.flush();

    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(emfViolations(line)).toEqual([]);
    const docs = documents();
    const sum = (name: string, shardId?: string) =>
      docs
        .filter((d) => name in d && (shardId === undefined || d.ShardId === shardId))
        .reduce((n, d) => n + (d[name] as number), 0);
    expect(sum('UserRecordsPut')).toBe(300);
    expect(sum('UserRecordsReceived')).toBe(300);
    // Per shard, as the producer reported each record's shard.
    const perShard = new Map<string, number>();
    for (const r of results) perShard.set(r.shardId, (perShard.get(r.shardId) ?? 0) + 1);
    for (const [shardId, count] of perShard) expect(sum('UserRecordsPut', shardId)).toBe(count);
    const withShard = docs.find((d) => 'UserRecordsPut' in d)!;
    expect(withShard.StreamName).toBe('orders');
    const aws = withShard._aws as {
      CloudWatchMetrics: { Dimensions: string[][]; Namespace: string }[];
    };
    expect(aws.CloudWatchMetrics[0]!.Namespace).toBe('Shardline/Test');
    expect(aws.CloudWatchMetrics[0]!.Dimensions[0]!.sort()).toEqual(['ShardId', 'StreamName']);
    // Latencies are value arrays of at most 100, here one per record and shard.
    const buffering = docs
      .filter((d) => 'BufferingTime' in d)
      .flatMap((d) => d.BufferingTime as number[]);
    expect(buffering.length).toBe(
      [...perShard.values()].reduce((n, c) => n + Math.min(c, EMF_LIMITS.valuesPerMetric), 0),
    );
    // Nothing new: the next flush writes nothing.
    lines.length = 0;
    emf.flush();
    expect(lines).toEqual([]);
  });

  it('a histogram past 100 values an interval: at most 100, its minimum and maximum among them', () => {
    let seed = 7;
    const { emf, documents } = collector({
      random: () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646,
    });
    const values = Array.from({ length: 5000 }, (_, i) => (i * 7919) % 5000);
    emf.record(
      values.map((value) => ({
        name: 'RequestTime',
        kind: 'histogram' as const,
        value,
        unit: 'Milliseconds' as const,
        dimensions: { StreamName: 's' },
      })),
    );
    emf.flush();
    const [doc] = documents();
    const written = doc!.RequestTime as number[];
    expect(written).toHaveLength(100);
    expect(Math.min(...written)).toBe(0);
    expect(Math.max(...written)).toBe(4999);
    // A uniform sample of 0..4999 has a mean near 2500 (5000 / sqrt(12 * 100) ≈ 144 standard error).
    const mean = written.reduce((a, b) => a + b, 0) / written.length;
    expect(Math.abs(mean - 2500)).toBeLessThan(600);
  });

  it('more than 100 metrics in one dimension set are split over documents', () => {
    const { emf, lines } = collector();
    emf.record(
      Array.from({ length: 230 }, (_, i) => ({
        name: `M${i}`,
        kind: 'count' as const,
        value: 1,
        unit: 'Count' as const,
        dimensions: { StreamName: 's' },
      })),
    );
    emf.flush();
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(emfViolations(line)).toEqual([]);
  });

  it('CurrentLeases is a level: written at every flush, moved by acquisitions and losses', () => {
    const { emf, documents, lines } = collector();
    const hook = emf.consumer({ streamName: 's', dimensions: { WorkerIdentifier: 'w1' } });
    for (const shardId of ['a', 'b', 'c']) hook({ type: 'leaseAcquired', shardId });
    hook({ type: 'leaseLost', shardId: 'b' });
    emf.flush();
    const level = () =>
      documents()
        .filter((d) => 'CurrentLeases' in d)
        .map((d) => [d.CurrentLeases, d.WorkerIdentifier, d.ShardId]);
    expect(level()).toEqual([[2, 'w1', undefined]]);
    lines.length = 0;
    emf.flush();
    expect(level()).toEqual([[2, 'w1', undefined]]);
    hook({ type: 'leaseHandedOff', shardId: 'a' });
    lines.length = 0;
    emf.flush();
    expect(level()).toEqual([[1, 'w1', undefined]]);
    for (const line of lines) expect(emfViolations(line)).toEqual([]);
  });

  it('writes on its interval, and close() writes the rest', async () => {
    const lines: string[] = [];
    let wrote!: () => void;
    const first = new Promise<void>((resolve) => (wrote = resolve));
    const emf = new EmfMetrics({
      namespace: 'N',
      flushIntervalMillis: 20,
      write: (line) => {
        lines.push(line);
        wrote();
      },
    });
    emf.consumer()({ type: 'batch', shardId: 's', records: 3, millisBehindLatest: 10 });
    await first;
    expect(JSON.parse(lines[0]!)).toMatchObject({ RecordsProcessed: 3, MillisBehindLatest: [10] });
    emf.consumer()({ type: 'checkpoint', shardId: 's' });
    emf.close();
    expect(
      lines.map((l) => JSON.parse(l) as Record<string, unknown>).some((d) => d.Checkpoints === 1),
    ).toBe(true);
  });

  it('refuses a namespace CloudWatch would refuse, and bad options, with ConfigError', () => {
    for (const namespace of ['', 'AWS/Kinesis', ':x', ' x', 'x'.repeat(256), 'bad\u0001'])
      expect(() => new EmfMetrics({ namespace, flushIntervalMillis: 0 })).toThrow(ConfigError);
    expect(() => new EmfMetrics({ namespace: 'N', flushIntervalMillis: -1 })).toThrow(ConfigError);
    const emf = new EmfMetrics({ namespace: 'N', flushIntervalMillis: 0 });
    expect(() => emf.producer({ granularity: 'shards' as 'shard' })).toThrow(/granularity/);
    expect(() => emf.consumer({ dimensions: { A: '' } })).toThrow(ConfigError);
  });
});

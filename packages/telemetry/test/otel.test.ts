import { ConfigError } from '@shardline/common';
import { FakeKinesis } from '@shardline/fake-kinesis';
import { Producer } from '@shardline/producer';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import type { Meter } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { otelConsumerMetrics, otelProducerMetrics } from '../src/index';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A meter whose metrics land in memory, as the SDK's own tests read them. */
function inMemoryMeter() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  cleanups.push(() => provider.shutdown());
  return {
    meter: provider.getMeter('shardline-test'),
    async collect(): Promise<Map<string, MetricData>> {
      await reader.forceFlush();
      const out = new Map<string, MetricData>();
      for (const resource of exporter.getMetrics())
        for (const scope of resource.scopeMetrics)
          for (const metric of scope.metrics) out.set(metric.descriptor.name, metric);
      return out;
    },
  };
}

const total = (
  metric: MetricData | undefined,
  match: (a: Record<string, unknown>) => boolean = () => true,
) =>
  (metric?.dataPoints ?? [])
    .filter((p) => match(p.attributes))
    .reduce((n, p) => n + (typeof p.value === 'number' ? p.value : p.value.count), 0);

describe('OpenTelemetry metrics', () => {
  it('a real producer run: KPL counters and histograms with StreamName and ShardId, in the in-memory exporter', async () => {
    const fake = await FakeKinesis.start();
    cleanups.push(() => fake.close());
    fake.createStream('orders', 3);
    const { meter, collect } = inMemoryMeter();
    const producer = new Producer({
      streamName: 'orders',
      kinesisClient: fake.client(),
      recordMaxBufferedTime: 5,
      onMetric: otelProducerMetrics({ meter, streamName: 'orders' }),
    });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        producer.put({ partitionKey: `k${i % 30}`, data: `d${i}` }),
      ),
    );
    await producer.close();
    const metrics = await collect();

    const put = metrics.get('UserRecordsPut')!;
    expect(put.dataPointType).toBe(DataPointType.SUM);
    expect(put.descriptor.unit).toBe('{count}');
    expect(total(put)).toBe(200);
    for (const shardId of new Set(results.map((r) => r.shardId)))
      expect(total(put, (a) => a.ShardId === shardId && a.StreamName === 'orders')).toBe(
        results.filter((r) => r.shardId === shardId).length,
      );
    const buffering = metrics.get('BufferingTime')!;
    expect(buffering.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(buffering.descriptor.unit).toBe('ms');
    expect(total(buffering)).toBe(200);
    expect(total(metrics.get('KinesisRecordsPut'))).toBeGreaterThan(0);
    expect(metrics.get('KinesisRecordsDataPut')!.descriptor.unit).toBe('By');
    expect(metrics.get('RequestTime')!.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(total(metrics.get('AllErrors'))).toBe(0);
  });

  it('failures by code, and expiry as UserRecordExpired', async () => {
    const { meter, collect } = inMemoryMeter();
    const hook = otelProducerMetrics({ meter, streamName: 's', granularity: 'stream' });
    hook({
      type: 'entryRetry',
      shardId: 'shardId-1',
      code: 'ProvisionedThroughputExceededException',
    });
    hook({ type: 'recordFailed', code: 'RECORD_EXPIRED' });
    hook({ type: 'putRecordsError', code: 'InternalFailure', willRetry: true });
    const metrics = await collect();
    const byCode = metrics.get('ErrorsByCode')!;
    expect(total(byCode, (a) => a.ErrorCode === 'ProvisionedThroughputExceededException')).toBe(1);
    expect(total(byCode, (a) => a.ErrorCode === 'RECORD_EXPIRED')).toBe(1);
    expect(total(metrics.get('AllErrors'))).toBe(3);
    expect(total(metrics.get('UserRecordExpired'))).toBe(1);
    // Stream granularity: no ShardId on any point.
    for (const metric of metrics.values())
      for (const point of metric.dataPoints) expect(point.attributes.ShardId).toBeUndefined();
  });

  it('consumer: RecordsProcessed and MillisBehindLatest per shard, CurrentLeases up and down', async () => {
    const { meter, collect } = inMemoryMeter();
    const hook = otelConsumerMetrics({ meter, streamName: 's' });
    hook({ type: 'leaseAcquired', shardId: 'a' });
    hook({ type: 'leaseAcquired', shardId: 'b' });
    hook({ type: 'batch', shardId: 'a', records: 10, millisBehindLatest: 1500 });
    hook({ type: 'batch', shardId: 'a', records: 5, millisBehindLatest: 500 });
    hook({ type: 'leaseLost', shardId: 'b' });
    hook({ type: 'poisonRecord', shardId: 'a', code: 'CORRUPT_AGGREGATE' });
    const metrics = await collect();
    expect(
      total(
        metrics.get('RecordsProcessed'),
        (a) => a.ShardId === 'a' && a.Operation === 'ProcessTask',
      ),
    ).toBe(15);
    const lag = metrics.get('MillisBehindLatest')!;
    expect(lag.dataPointType).toBe(DataPointType.HISTOGRAM);
    const point = lag.dataPoints[0]!.value as { max?: number; sum?: number };
    expect([point.max, point.sum]).toEqual([1500, 2000]);
    const leases = metrics.get('CurrentLeases')!;
    expect(leases.dataPointType).toBe(DataPointType.SUM);
    expect(total(leases)).toBe(1);
    expect(total(metrics.get('PoisonRecords'), (a) => a.ErrorCode === 'CORRUPT_AGGREGATE')).toBe(1);
  });

  it('needs a meter', () => {
    expect(() => otelProducerMetrics({} as { meter: Meter })).toThrow(ConfigError);
  });
});

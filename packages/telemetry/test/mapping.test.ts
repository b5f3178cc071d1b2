import type { ConsumerMetricEvent } from '@shardline/consumer';
import type { MetricEvent } from '@shardline/producer';
import { describe, expect, it } from 'vitest';
import { consumerMeasurements, producerMeasurements } from '../src/index';

const names = (ms: { name: string }[]) => ms.map((m) => m.name);

describe('the mappings', () => {
  it('every consumer event maps to at least one named measurement, with its shard at shard granularity', () => {
    const events: ConsumerMetricEvent[] = [
      { type: 'batch', shardId: 's', records: 2 },
      { type: 'checkpoint', shardId: 's' },
      { type: 'leaseAcquired', shardId: 's' },
      { type: 'leaseLost', shardId: 's' },
      { type: 'leaseHandedOff', shardId: 's' },
      { type: 'leaseStealRequested', shardId: 's', from: 'w2' },
      { type: 'shardEnded', shardId: 's' },
      { type: 'stall', shardId: 's', silentForMs: 1 },
      { type: 'slowProcessor', shardId: 's', runningForMs: 1, records: 1 },
      {
        type: 'outOfRangeAggregate',
        shardId: 's',
        sequenceNumber: '1',
        records: 3,
        outside: 1,
        dropped: false,
      },
      { type: 'processorError', shardId: 's', attempt: 1 },
      { type: 'poisonRecord', shardId: 's', code: 'X' },
      { type: 'readError', shardId: 's', code: 'X' },
      { type: 'retryBudgetSpent', shardId: 's', records: 1, attempts: 3 },
      { type: 'batchBisected', shardId: 's', records: 4 },
      { type: 'deadLettered', shardId: 's', records: 1, destination: 'kinesis' },
      {
        type: 'deadLetterFailed',
        shardId: 's',
        records: 1,
        destination: 'function',
        code: 'E',
        attempt: 1,
      },
    ];
    for (const event of events) {
      const ms = consumerMeasurements(event, { streamName: 'orders' });
      expect(ms.length, event.type).toBeGreaterThan(0);
      for (const m of ms) {
        expect(m.dimensions.StreamName).toBe('orders');
        expect(m.dimensions.Operation).toBeTypeOf('string');
        // CurrentLeases is the worker's level: never per shard.
        expect(m.dimensions.ShardId).toBe(m.name === 'CurrentLeases' ? undefined : 's');
      }
    }
    expect(
      consumerMeasurements(events[15]!, {}).map((m) => [m.name, m.value, m.dimensions.Destination]),
    ).toEqual([['DeadLetteredRecords', 1, 'kinesis']]);
  });

  it('producer: the KPL names, and granularity as metrics_granularity', () => {
    const succeeded: MetricEvent = {
      type: 'recordSucceeded',
      shardId: 'sh',
      bufferedMs: 12,
      attempts: 3,
    };
    expect(names(producerMeasurements(succeeded, {}))).toEqual([
      'UserRecordsPut',
      'BufferingTime',
      'RetriesPerRecord',
    ]);
    expect(producerMeasurements(succeeded, {})[2]!.value).toBe(2);
    const dims = (granularity: 'global' | 'stream' | 'shard') =>
      producerMeasurements(succeeded, {
        streamName: 'o',
        granularity,
        dimensions: { App: 'a' },
      })[0]!.dimensions;
    expect(dims('shard')).toEqual({ App: 'a', StreamName: 'o', ShardId: 'sh' });
    expect(dims('stream')).toEqual({ App: 'a', StreamName: 'o' });
    expect(dims('global')).toEqual({ App: 'a' });
    // A retried throttle is counted once, as the entry's error.
    const throttled = [
      ...producerMeasurements(
        { type: 'entryRetry', shardId: 'sh', code: 'ProvisionedThroughputExceededException' },
        {},
      ),
      ...producerMeasurements({ type: 'throttle', shardId: 'sh' }, {}),
    ];
    expect(names(throttled)).toEqual(['ErrorsByCode', 'AllErrors']);
  });
});

import type { ConsumerMetricEvent } from '@shardline/consumer';
import {
  count,
  dimensionsFor,
  histogram,
  type MappingOptions,
  type Measurement,
} from './measurement';

/**
 * The consumer's events under the KCL's metric names where the KCL has one ("Monitoring the KCL
 * with Amazon CloudWatch": `RecordsProcessed`, `MillisBehindLatest`, `TakenLeases`,
 * `LostLeases`, `CurrentLeases`), with its `Operation` and `ShardId` dimensions (`ShardId` only
 * at `shard` granularity). Shardline's own events get names in the same style:
 *
 * | event | metrics |
 * |---|---|
 * | `batch` | `RecordsProcessed`, `MillisBehindLatest` (ms, histogram) — Operation `ProcessTask` |
 * | `checkpoint` | `Checkpoints` — Operation `ProcessTask` |
 * | `leaseAcquired` | `TakenLeases`, `CurrentLeases` +1 — Operation `TakeLeases` / `RenewAllLeases` |
 * | `leaseLost` | `LostLeases`, `CurrentLeases` −1 — Operation `RenewAllLeases` |
 * | `leaseHandedOff` | `HandedOffLeases`, `CurrentLeases` −1 — Operation `RenewAllLeases` |
 * | `leaseStealRequested` | `LeaseStealRequests` — Operation `TakeLeases` |
 * | `shardEnded` | `ShardsEnded` — Operation `ShutdownTask` |
 * | `stall`, `slowProcessor` | `Stalls`, `SlowProcessorCalls` — Operation `ProcessTask` |
 * | `outOfRangeAggregate` | `OutOfRangeRecords` (Action `Dropped` or `Delivered`) — Operation `ProcessTask` |
 * | `processorError`, `poisonRecord` | `ProcessorErrors`, `PoisonRecords` (ErrorCode) — Operation `ProcessTask` |
 * | `readError` | `ReadErrors` (ErrorCode) — Operation `GetRecords` |
 * | `retryBudgetSpent` | `RetryBudgetSpentRecords` — Operation `ProcessTask` |
 * | `batchBisected` | `BatchBisections` — Operation `ProcessTask` |
 * | `deadLettered` | `DeadLetteredRecords` (Destination) — Operation `ProcessTask` |
 * | `deadLetterFailed` | `DeadLetterErrors` (Destination, ErrorCode) — Operation `ProcessTask` |
 *
 * `CurrentLeases` is a level: the worker's count of held leases, without `ShardId`.
 */
export function consumerMeasurements(
  event: ConsumerMetricEvent,
  options: MappingOptions,
): Measurement[] {
  const on = (operation: string, extra?: Record<string, string>) =>
    dimensionsFor(options, event.shardId, { Operation: operation, ...extra });
  const worker = (operation: string) => dimensionsFor(options, undefined, { Operation: operation });
  switch (event.type) {
    case 'batch': {
      const out = [count('RecordsProcessed', event.records, on('ProcessTask'))];
      if (event.millisBehindLatest !== undefined)
        out.push(
          histogram(
            'MillisBehindLatest',
            event.millisBehindLatest,
            'Milliseconds',
            on('ProcessTask'),
          ),
        );
      return out;
    }
    case 'checkpoint':
      return [count('Checkpoints', 1, on('ProcessTask'))];
    case 'leaseAcquired':
      return [count('TakenLeases', 1, on('TakeLeases')), leases(+1, worker('RenewAllLeases'))];
    case 'leaseLost':
      return [count('LostLeases', 1, on('RenewAllLeases')), leases(-1, worker('RenewAllLeases'))];
    case 'leaseHandedOff':
      return [
        count('HandedOffLeases', 1, on('RenewAllLeases')),
        leases(-1, worker('RenewAllLeases')),
      ];
    case 'leaseStealRequested':
      return [count('LeaseStealRequests', 1, on('TakeLeases'))];
    case 'shardEnded':
      return [count('ShardsEnded', 1, on('ShutdownTask'))];
    case 'stall':
      return [count('Stalls', 1, on('ProcessTask'))];
    case 'slowProcessor':
      return [count('SlowProcessorCalls', 1, on('ProcessTask'))];
    case 'outOfRangeAggregate':
      return [
        count(
          'OutOfRangeRecords',
          event.outside,
          on('ProcessTask', { Action: event.dropped ? 'Dropped' : 'Delivered' }),
        ),
      ];
    case 'processorError':
      return [count('ProcessorErrors', 1, on('ProcessTask'))];
    case 'poisonRecord':
      return [count('PoisonRecords', 1, on('ProcessTask', { ErrorCode: event.code }))];
    case 'readError':
      return [count('ReadErrors', 1, on('GetRecords', { ErrorCode: event.code }))];
    case 'retryBudgetSpent':
      return [count('RetryBudgetSpentRecords', event.records, on('ProcessTask'))];
    case 'batchBisected':
      return [count('BatchBisections', 1, on('ProcessTask'))];
    case 'deadLettered':
      return [
        count(
          'DeadLetteredRecords',
          event.records,
          on('ProcessTask', { Destination: event.destination }),
        ),
      ];
    case 'deadLetterFailed':
      return [
        count(
          'DeadLetterErrors',
          1,
          on('ProcessTask', { Destination: event.destination, ErrorCode: event.code }),
        ),
      ];
  }
}

function leases(delta: number, dimensions: Record<string, string>): Measurement {
  return { name: 'CurrentLeases', kind: 'gauge', value: delta, unit: 'Count', dimensions };
}

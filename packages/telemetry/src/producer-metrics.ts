import type { MetricEvent } from '@shardline/producer';
import {
  count,
  dimensionsFor,
  histogram,
  type MappingOptions,
  type Measurement,
} from './measurement';

/**
 * The producer's events under the KPL's metric names (the KPL's "Monitoring the KPL with Amazon
 * CloudWatch" list), with its dimensions `StreamName`, `ShardId` and `ErrorCode`:
 *
 * | event | KPL metrics |
 * |---|---|
 * | `recordPut` | `UserRecordsReceived` |
 * | `recordSucceeded` | `UserRecordsPut`, `BufferingTime` (ms, histogram), `RetriesPerRecord` (histogram) |
 * | `recordFailed` | `ErrorsByCode` (ErrorCode), `AllErrors`; `UserRecordExpired` for an expired record |
 * | `kinesisRecordSent` | `KinesisRecordsPut`, `KinesisRecordsDataPut` (bytes), `UserRecordsPerKinesisRecord` (histogram) |
 * | `putRecordsCall` | `RequestTime` (ms, histogram), `KinesisRecordsPerPutRecordsRequest` (histogram) |
 * | `putRecordsError`, `entryRetry`, `throttle` | `ErrorsByCode` (ErrorCode), `AllErrors` |
 * | `shardMapRefresh` | `ShardMapRefreshes` (not a KPL metric) |
 *
 * The KPL counts a retried entry's error too (so `ErrorsByCode` counts attempts, not records);
 * so do we. A throttled entry that is retried arrives as both `entryRetry` and `throttle`; only
 * `entryRetry` counts, so it is counted once (with `failIfThrottled`, its records' `recordFailed`
 * count it instead). `BufferingTime` is the time from `put` to the record's outcome.
 */
export function producerMeasurements(event: MetricEvent, options: MappingOptions): Measurement[] {
  switch (event.type) {
    case 'recordPut':
      return [count('UserRecordsReceived', 1, dimensionsFor(options, event.shardId))];
    case 'recordSucceeded': {
      const dims = dimensionsFor(options, event.shardId);
      return [
        count('UserRecordsPut', 1, dims),
        histogram('BufferingTime', event.bufferedMs, 'Milliseconds', dims),
        histogram('RetriesPerRecord', Math.max(0, event.attempts - 1), 'Count', dims),
      ];
    }
    case 'recordFailed': {
      const out = errors(options, undefined, event.code);
      if (event.code === 'RECORD_EXPIRED')
        out.push(count('UserRecordExpired', 1, dimensionsFor(options, undefined)));
      return out;
    }
    case 'kinesisRecordSent': {
      const dims = dimensionsFor(options, event.shardId);
      return [
        count('KinesisRecordsPut', 1, dims),
        count('KinesisRecordsDataPut', event.bytes, dims, 'Bytes'),
        histogram('UserRecordsPerKinesisRecord', event.userRecords, 'Count', dims),
      ];
    }
    case 'putRecordsCall': {
      const dims = dimensionsFor(options, undefined);
      return [
        histogram('RequestTime', event.durationMs, 'Milliseconds', dims),
        histogram('KinesisRecordsPerPutRecordsRequest', event.entries, 'Count', dims),
      ];
    }
    case 'putRecordsError':
      return errors(options, undefined, event.code);
    case 'entryRetry':
      return errors(options, event.shardId, event.code);
    case 'throttle':
      return [];
    case 'shardMapRefresh':
      return [count('ShardMapRefreshes', 1, dimensionsFor(options, undefined))];
  }
}

function errors(options: MappingOptions, shardId: string | undefined, code: string): Measurement[] {
  return [
    count('ErrorsByCode', 1, dimensionsFor(options, shardId, { ErrorCode: code })),
    count('AllErrors', 1, dimensionsFor(options, shardId)),
  ];
}

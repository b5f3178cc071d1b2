import { ShardlineError } from '@shardline/aggregation';
import type { KinesisUserRecord } from './types';

/**
 * Thrown by a batch handler to say which user record failed: the adapter reports the Kinesis
 * record that carried it, so Lambda retries from there and nothing before it runs again.
 */
export class RecordFailure extends ShardlineError {
  /** The user record that failed, as the handler received it. */
  readonly record: KinesisUserRecord;

  constructor(record: KinesisUserRecord, cause?: unknown) {
    super(
      'RECORD_FAILED',
      `record ${record.sequenceNumber}/${record.subSequenceNumber} on ${record.shardId} failed` +
        (cause instanceof Error ? `: ${cause.message}` : ''),
      cause === undefined ? undefined : { cause },
    );
    this.record = record;
  }
}

/** The event is not a Lambda Kinesis event (wrong trigger, or a record without its required fields). */
export class InvalidEventError extends ShardlineError {
  constructor(message: string) {
    super('INVALID_KINESIS_EVENT', message);
  }
}

/** `batch.fail()` or a `RecordFailure` named a record that is not in the batch being processed. */
export class UnknownRecordError extends ShardlineError {
  constructor(message: string) {
    super('UNKNOWN_RECORD', message);
  }
}

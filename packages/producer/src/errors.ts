import { ShardlineError } from '@shardline/aggregation';
import type { Attempt } from './outcome';

export {
  ConfigError,
  InvalidRecordError,
  RecordTooLargeError,
  ShardlineError,
} from '@shardline/aggregation';

/** A user record that did not reach Kinesis. Carries every attempt made for it. */
export class RecordFailedError extends ShardlineError {
  readonly attempts: readonly Attempt[];

  constructor(
    code: string,
    message: string,
    attempts: readonly Attempt[],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.attempts = attempts;
  }
}

/** The record was not delivered within `recordTtl`. */
export class RecordExpiredError extends RecordFailedError {
  constructor(ttlMs: number, attempts: readonly Attempt[]) {
    const last = attempts.at(-1);
    super(
      'RECORD_EXPIRED',
      `record not delivered within its TTL of ${ttlMs} ms after ${attempts.length} attempt(s)` +
        (last?.errorCode ? `; last error ${last.errorCode}` : ''),
      attempts,
    );
  }
}

/** Kinesis refused the record (or its whole request) with an error that retrying cannot fix. */
export class KinesisRejectedError extends RecordFailedError {
  /** The service's error code, e.g. `ValidationException`, `ResourceNotFoundException`, `KMSAccessDeniedException`. */
  readonly serviceCode: string;

  constructor(
    serviceCode: string,
    message: string,
    attempts: readonly Attempt[],
    options?: { cause?: unknown },
  ) {
    super(
      'KINESIS_REJECTED',
      `Kinesis rejected the record: ${serviceCode}: ${message}`,
      attempts,
      options,
    );
    this.serviceCode = serviceCode;
  }
}

/** The record was throttled and `failIfThrottled` is on. */
export class RecordThrottledError extends RecordFailedError {
  constructor(attempts: readonly Attempt[]) {
    super(
      'RECORD_THROTTLED',
      'record throttled by Kinesis (ProvisionedThroughputExceeded) and failIfThrottled is set',
      attempts,
    );
  }
}

/** The producer was closed (or its close deadline passed) before the record was delivered. */
export class ProducerClosedError extends RecordFailedError {
  constructor(message: string, attempts: readonly Attempt[] = []) {
    super('PRODUCER_CLOSED', message, attempts);
  }
}

/** The caller's AbortSignal fired while `put` was waiting for buffer room. */
export class PutAbortedError extends ShardlineError {
  constructor(reason: unknown) {
    super(
      'PUT_ABORTED',
      `put aborted while waiting for buffer room${reason instanceof Error ? `: ${reason.message}` : ''}`,
      { cause: reason },
    );
  }
}

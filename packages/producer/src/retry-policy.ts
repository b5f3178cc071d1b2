/**
 * What to do about an error from Kinesis: pure functions of the error, tested without a server.
 * The codes and the whole-call classification are shared with the consumer (@shardline/common);
 * what is the producer's own is the per-entry classification of PutRecords results.
 */
import { FATAL_CODES, type ErrorClass } from '@shardline/common';

export { classifyError, errorCode, fullJitterDelay } from '@shardline/common';
export type { ErrorClass } from '@shardline/common';

/** Classifies a per-entry PutRecords error code (only throttling and internal failures are documented). */
export function classifyEntryError(code: string): ErrorClass {
  if (code === 'ProvisionedThroughputExceededException' || code === 'KMSThrottlingException')
    return 'throttle';
  if (code === 'InternalFailure' || code === 'ServiceUnavailable' || code === 'InternalServerError')
    return 'retryable';
  return FATAL_CODES.has(code) || code.startsWith('KMS') ? 'fatal' : 'retryable';
}

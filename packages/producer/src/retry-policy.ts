/**
 * What to do about an error from Kinesis: pure functions of the error, tested without a server.
 * Codes follow the Kinesis API reference; see ../../shared/notes/reference.md.
 */
export type ErrorClass = 'throttle' | 'retryable' | 'fatal';

const THROTTLE_CODES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'LimitExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'KMSThrottlingException',
]);

const FATAL_CODES = new Set([
  'ValidationException',
  'ResourceNotFoundException',
  'ResourceInUseException',
  'AccessDeniedException',
  'InvalidArgumentException',
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSAccessDeniedException',
  'KMSNotFoundException',
  'KMSOptInRequired',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'InvalidClientTokenId',
  'ExpiredTokenException',
]);

/** The code an error goes by: the service's error name, or Node's network error code. */
export function errorCode(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { name?: unknown; code?: unknown; Code?: unknown };
    if (typeof e.code === 'string' && /^E[A-Z]+/.test(e.code)) return e.code; // ECONNRESET, EPIPE, ...
    if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
    if (typeof e.Code === 'string') return e.Code;
    if (typeof e.code === 'string') return e.code;
  }
  return 'UnknownError';
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
}

/** Throttled, worth retrying, or not. Unknown errors are retried (the record TTL bounds them) unless the service answered 4xx. */
export function classifyError(code: string, error?: unknown): ErrorClass {
  if (THROTTLE_CODES.has(code)) return 'throttle';
  if (FATAL_CODES.has(code)) return 'fatal';
  const status = httpStatus(error);
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429)
    return 'fatal';
  return 'retryable';
}

/** Classifies a per-entry PutRecords error code (only throttling and internal failures are documented). */
export function classifyEntryError(code: string): ErrorClass {
  if (code === 'ProvisionedThroughputExceededException' || code === 'KMSThrottlingException')
    return 'throttle';
  if (code === 'InternalFailure' || code === 'ServiceUnavailable' || code === 'InternalServerError')
    return 'retryable';
  return FATAL_CODES.has(code) || code.startsWith('KMS') ? 'fatal' : 'retryable';
}

/**
 * Exponential backoff with full jitter: uniform in [0, min(cap, base · 2^(attempt−1))]. Spreads
 * retries of many producers instead of having them hit a recovering shard in step.
 */
export function fullJitterDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

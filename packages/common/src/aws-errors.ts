/**
 * What an error from Kinesis means for a retry loop, decided once for the producer and the
 * consumer. Pure functions of the error, tested without a server. Codes follow the Kinesis and
 * AWS common-errors API references.
 */
export type ErrorClass = 'throttle' | 'retryable' | 'fatal';

/** Over a limit: retried, and the producer can be told to fail instead (`failIfThrottled`). */
export const THROTTLE_CODES: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'LimitExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'KMSThrottlingException',
]);

/**
 * Errors that the same request would get again: surfaced at once, never retried. Each code with
 * why; a code not here is retried (the producer's record TTL and the consumer's stop bound it).
 * Not here on purpose: `ResourceInUseException` (a stream being created or updated, a consumer
 * still registering, a previous subscription still closing: it clears by itself, so it is
 * retried) and `ExpiredIteratorException` (the consumer gets a new iterator).
 */
export const FATAL_CODES: ReadonlySet<string> = new Set([
  // The request is malformed for this API: resending it unchanged is refused again.
  'ValidationException',
  // The stream (or consumer) does not exist; deleting it again or creating it is the user's call.
  'ResourceNotFoundException',
  // IAM denies the action: a policy change is needed, not a retry.
  'AccessDeniedException',
  // A parameter is invalid (bad shard id, iterator, sequence number): the same value fails again.
  'InvalidArgumentException',
  // The stream's KMS key is disabled: only a key administrator can enable it.
  'KMSDisabledException',
  // The KMS key is pending deletion or import: it does not leave that state by waiting seconds.
  'KMSInvalidStateException',
  // The caller may not use the stream's KMS key: a key policy change is needed.
  'KMSAccessDeniedException',
  // The stream's KMS key does not exist.
  'KMSNotFoundException',
  // The account is not subscribed to KMS.
  'KMSOptInRequired',
  // The access key id is unknown to AWS: other credentials are needed.
  'UnrecognizedClientException',
  // The request signature does not match the secret key: the same credentials sign it the same way.
  'InvalidSignatureException',
  // The Authorization header is incomplete: a client bug or proxy, not a transient fault.
  'IncompleteSignature',
  // No credentials were sent: the client has none to send next time either.
  'MissingAuthenticationToken',
  // The security token is not valid: other credentials are needed.
  'InvalidClientTokenId',
  // The session token expired and the SDK's provider did not renew it before sending: it will not.
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

/** Whether retrying a request that failed with `code` cannot succeed. */
export function isFatalCode(code: string): boolean {
  return FATAL_CODES.has(code);
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
}

/** Throttled, worth retrying, or not. Unknown errors are retried unless the service answered 4xx. */
export function classifyError(code: string, error?: unknown): ErrorClass {
  if (THROTTLE_CODES.has(code)) return 'throttle';
  if (FATAL_CODES.has(code)) return 'fatal';
  const status = httpStatus(error);
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429)
    return 'fatal';
  return 'retryable';
}

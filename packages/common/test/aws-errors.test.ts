import { describe, expect, it } from 'vitest';
import {
  classifyError,
  errorCode,
  FATAL_CODES,
  isFatalCode,
  THROTTLE_CODES,
} from '../src/aws-errors';

describe('AWS error classification', () => {
  it('throttling, fatal and retryable codes', () => {
    expect(classifyError('ProvisionedThroughputExceededException')).toBe('throttle');
    expect(classifyError('LimitExceededException')).toBe('throttle');
    expect(classifyError('ResourceNotFoundException')).toBe('fatal');
    expect(classifyError('KMSAccessDeniedException')).toBe('fatal');
    expect(classifyError('ExpiredTokenException')).toBe('fatal');
    expect(classifyError('ECONNRESET')).toBe('retryable');
    expect(classifyError('InternalFailure', { $metadata: { httpStatusCode: 500 } })).toBe(
      'retryable',
    );
  });

  it('a stream or consumer busy (ResourceInUse) clears by itself: retried, not fatal', () => {
    expect(isFatalCode('ResourceInUseException')).toBe(false);
    expect(classifyError('ResourceInUseException')).toBe('retryable');
  });

  it('an unknown code is fatal only if the service answered 4xx other than 408 and 429', () => {
    expect(classifyError('SomethingNew', { $metadata: { httpStatusCode: 403 } })).toBe('fatal');
    expect(classifyError('RequestTimeout', { $metadata: { httpStatusCode: 408 } })).toBe(
      'retryable',
    );
    expect(classifyError('SlowDown', { $metadata: { httpStatusCode: 429 } })).toBe('retryable');
    expect(classifyError('SomethingNew')).toBe('retryable');
  });

  it('no code is both throttling and fatal', () => {
    expect([...THROTTLE_CODES].filter((c) => FATAL_CODES.has(c))).toEqual([]);
  });

  it('names an error by its Node network code, its service name, or UnknownError', () => {
    expect(errorCode(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(errorCode({ name: 'ThrottlingException' })).toBe('ThrottlingException');
    expect(errorCode({ name: 'Error', Code: 'InternalFailure' })).toBe('InternalFailure');
    expect(errorCode(new Error('plain'))).toBe('UnknownError');
    expect(errorCode(undefined)).toBe('UnknownError');
  });
});

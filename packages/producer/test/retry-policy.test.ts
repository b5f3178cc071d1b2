import { describe, expect, it } from 'vitest';
import { classifyEntryError, classifyError, errorCode, fullJitterDelay } from '../src/retry-policy';

describe('retry policy', () => {
  it('classifies call errors: throttles, fatal codes, 4xx fatal, the rest retryable', () => {
    expect(classifyError('ProvisionedThroughputExceededException')).toBe('throttle');
    expect(classifyError('LimitExceededException')).toBe('throttle');
    expect(classifyError('ResourceNotFoundException')).toBe('fatal');
    expect(classifyError('KMSAccessDeniedException')).toBe('fatal');
    expect(classifyError('SomethingNew', { $metadata: { httpStatusCode: 403 } })).toBe('fatal');
    expect(classifyError('RequestTimeout', { $metadata: { httpStatusCode: 408 } })).toBe(
      'retryable',
    );
    expect(classifyError('InternalFailure', { $metadata: { httpStatusCode: 500 } })).toBe(
      'retryable',
    );
    expect(classifyError('ECONNRESET')).toBe('retryable');
  });

  it('classifies entry errors', () => {
    expect(classifyEntryError('ProvisionedThroughputExceededException')).toBe('throttle');
    expect(classifyEntryError('InternalFailure')).toBe('retryable');
    expect(classifyEntryError('KMSDisabledException')).toBe('fatal');
    expect(classifyEntryError('KMSSomethingElse')).toBe('fatal');
  });

  it('names an error by its service name, else its network code', () => {
    expect(errorCode(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(errorCode({ name: 'ThrottlingException' })).toBe('ThrottlingException');
    expect(errorCode(new Error('plain'))).toBe('UnknownError');
    expect(errorCode(undefined)).toBe('UnknownError');
  });

  it('full jitter: uniform below min(cap, base·2^(attempt−1))', () => {
    expect(fullJitterDelay(1, 100, 5000, () => 0.999)).toBe(99);
    expect(fullJitterDelay(3, 100, 5000, () => 0.5)).toBe(200);
    expect(fullJitterDelay(20, 100, 5000, () => 0.999)).toBe(4995);
    expect(fullJitterDelay(5, 100, 5000, () => 0)).toBe(0);
  });
});

import * as common from '@shardline/common';
import { describe, expect, it } from 'vitest';
import { classifyEntryError, classifyError, errorCode, fullJitterDelay } from '../src/retry-policy';

describe('retry policy', () => {
  // Whole-call classification, error codes and backoff are the shared ones, tested in
  // packages/common; the consumer decides on the same codes.
  it('uses the shared call classification, error codes and backoff', () => {
    expect(classifyError).toBe(common.classifyError);
    expect(errorCode).toBe(common.errorCode);
    expect(fullJitterDelay).toBe(common.fullJitterDelay);
  });

  it('classifies entry errors', () => {
    expect(classifyEntryError('ProvisionedThroughputExceededException')).toBe('throttle');
    expect(classifyEntryError('KMSThrottlingException')).toBe('throttle');
    expect(classifyEntryError('InternalFailure')).toBe('retryable');
    expect(classifyEntryError('ServiceUnavailable')).toBe('retryable');
    expect(classifyEntryError('KMSDisabledException')).toBe('fatal');
    expect(classifyEntryError('KMSSomethingElse')).toBe('fatal');
    expect(classifyEntryError('AccessDeniedException')).toBe('fatal');
    expect(classifyEntryError('SomethingNew')).toBe('retryable');
  });
});

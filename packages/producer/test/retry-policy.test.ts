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
    const codes = {
      ProvisionedThroughputExceededException: 'throttle',
      KMSThrottlingException: 'throttle',
      InternalFailure: 'retryable',
      ServiceUnavailable: 'retryable',
      KMSDisabledException: 'fatal',
      KMSSomethingElse: 'fatal',
      AccessDeniedException: 'fatal',
      SomethingNew: 'retryable',
    };
    expect(Object.fromEntries(Object.keys(codes).map((c) => [c, classifyEntryError(c)]))).toEqual(
      codes,
    );
  });
});

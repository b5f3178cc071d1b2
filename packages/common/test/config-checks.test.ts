import { describe, expect, it } from 'vitest';
import { checkStreamTarget, ConfigError, configInteger } from '../src/index';

describe('options the producer and the consumer share', () => {
  it('wants a valid stream name, an ARN, or both', () => {
    expect(() => checkStreamTarget({ streamName: 'orders_2024.v1' }, 'Producer')).not.toThrow();
    expect(() =>
      checkStreamTarget({ streamArn: 'arn:aws:kinesis:eu-west-1:1:stream/s' }, 'Producer'),
    ).not.toThrow();
    const missing = (() => {
      try {
        checkStreamTarget({}, 'Consumer');
      } catch (error) {
        return error;
      }
    })();
    expect(missing).toBeInstanceOf(ConfigError);
    expect(missing).toMatchObject({
      code: 'STREAM_REQUIRED',
      message: 'Consumer needs streamName or streamArn',
    });
    for (const streamName of ['', 'has space', 'x'.repeat(129), 42]) {
      expect(() => checkStreamTarget({ streamName }, 'Producer')).toThrow(
        /not a valid Kinesis stream name/,
      );
    }
    expect(() => checkStreamTarget({ streamArn: 'stream/s' }, 'Producer')).toThrow(/is not an ARN/);
  });

  it('takes integers in range, the default when absent, and names the option otherwise', () => {
    expect(configInteger(undefined, 'maxRecords', 10_000, 1, 10_000)).toBe(10_000);
    expect(configInteger(5, 'maxRecords', 10_000, 1, 10_000)).toBe(5);
    for (const bad of [0, 10_001, 1.5, '5', NaN]) {
      expect(() => configInteger(bad, 'maxRecords', 10_000, 1, 10_000)).toThrow(
        /maxRecords must be an integer in \[1, 10000\]/,
      );
    }
  });
});

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkStreamTarget,
  ConfigError,
  configInteger,
  InvalidRecordError,
  MAX_HASH_KEY,
  hashKeyOf,
  partitionKeyHash,
  toBytes,
  validateExplicitHashKey,
  validatePartitionKey,
} from '../src/index';

describe('partition keys', () => {
  it('accepts 1..256 Unicode code points, counting astral characters once', () => {
    expect(validatePartitionKey('k')).toBe('k');
    expect(validatePartitionKey('😀'.repeat(256))).toHaveLength(512);
    expect(() => validatePartitionKey('😀'.repeat(257))).toThrow(
      expect.objectContaining({ code: 'PARTITION_KEY_TOO_LONG' }),
    );
    expect(() => validatePartitionKey('x'.repeat(257))).toThrow(InvalidRecordError);
  });
  it('refuses empty and non-string keys', () => {
    expect(() => validatePartitionKey('')).toThrow(
      expect.objectContaining({ code: 'PARTITION_KEY_EMPTY' }),
    );
    expect(() => validatePartitionKey(42)).toThrow(
      expect.objectContaining({ code: 'PARTITION_KEY_NOT_STRING' }),
    );
  });
});

describe('explicit hash keys', () => {
  it('accepts decimals in [0, 2^128 - 1] and undefined', () => {
    expect(validateExplicitHashKey('0')).toBe('0');
    expect(validateExplicitHashKey(MAX_HASH_KEY.toString())).toBe(MAX_HASH_KEY.toString());
    expect(validateExplicitHashKey(undefined)).toBeUndefined();
  });
  for (const bad of ['', '-1', '01', '1.5', 'abc', (MAX_HASH_KEY + 1n).toString(), ' 1']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      expect(() => validateExplicitHashKey(bad)).toThrow(
        expect.objectContaining({ code: 'EXPLICIT_HASH_KEY_INVALID' }),
      );
    });
  }
});

describe('hash keys', () => {
  it('is MD5 of the UTF-8 key as a big-endian 128-bit integer', () => {
    const hex = createHash('md5').update('ключ', 'utf8').digest('hex');
    expect(partitionKeyHash('ключ')).toBe(BigInt('0x' + hex));
    expect(hashKeyOf({ partitionKey: 'ключ' })).toBe(BigInt('0x' + hex));
    expect(hashKeyOf({ partitionKey: 'ключ', explicitHashKey: '12' })).toBe(12n);
  });
});

describe('toBytes', () => {
  it('keeps bytes, encodes strings as UTF-8, refuses the rest', () => {
    const u8 = Uint8Array.of(1, 2);
    expect(toBytes(u8)).toBe(u8);
    expect(Buffer.from(toBytes('é'))).toEqual(Buffer.from([0xc3, 0xa9]));
    expect(() => toBytes(12)).toThrow(expect.objectContaining({ code: 'DATA_NOT_BYTES' }));
    expect(() => toBytes(null)).toThrow(InvalidRecordError);
  });
});

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

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as common from '@shardline/common';
import {
  InvalidRecordError,
  MAX_HASH_KEY,
  hashKeyOf,
  partitionKeyHash,
  toBytes,
  validateExplicitHashKey,
  validatePartitionKey,
} from '../src/index';
import * as aggregation from '../src/index';

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

describe('errors and option checks, shared with the other packages', () => {
  // They live in @shardline/common now; this package keeps exporting them, as the same classes, so
  // `instanceof` holds whichever package a caller imports them from.
  it('are re-exported here unchanged', () => {
    const names = [
      'ConfigError',
      'ShardlineError',
      'CompressionError',
      'CorruptAggregateError',
      'RecordTooLargeError',
      'InvalidRecordError',
      'checkStreamTarget',
      'configInteger',
    ] as const;
    for (const name of names) expect(aggregation[name], name).toBe(common[name]);
    expect(() => aggregation.toBytes(42 as never)).toThrow(common.InvalidRecordError);
  });
});

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CompressionError,
  ConfigError,
  ENVELOPE_MAGIC,
  KPL_MAGIC,
  aggregate,
  compress,
  deaggregate,
  decompress,
  isAggregated,
  isCompressed,
} from '../src/index';

const text = Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(200));

describe('compression envelope', () => {
  for (const codec of ['gzip', 'snappy'] as const) {
    it(`round-trips ${codec}, on text, random bytes, empty data and 1 MiB`, () => {
      for (const data of [text, randomBytes(4096), Buffer.alloc(0), randomBytes(1024 * 1024)]) {
        const packed = compress(data, codec);
        expect(isCompressed(packed)).toBe(true);
        expect(Buffer.from(decompress(packed)).equals(Buffer.from(data))).toBe(true);
      }
      expect(compress(text, codec).length).toBeLessThan(text.length / 4);
    });

    it(`${codec} works on a whole aggregate and is told apart from the KPL magic`, () => {
      const [agg] = aggregate(
        Array.from({ length: 100 }, (_, i) => ({
          partitionKey: `k${i}`,
          data: text.subarray(0, 100),
        })),
      );
      const packed = compress(agg!.data, codec);
      expect(isAggregated(packed)).toBe(false);
      const back = deaggregate(
        { data: decompress(packed), partitionKey: 'a', sequenceNumber: '1' },
        { strict: true },
      );
      expect(back).toHaveLength(100);
    });
  }

  it('writes magic, version, codec id and length as documented', () => {
    const packed = Buffer.from(compress(text, 'snappy'));
    expect(packed.subarray(0, 4)).toEqual(Buffer.from(ENVELOPE_MAGIC));
    expect(packed[4]).toBe(1);
    expect(packed[5]).toBe(2);
    expect(packed.readUInt32BE(6)).toBe(text.length);
    expect(Buffer.from(ENVELOPE_MAGIC)).not.toEqual(Buffer.from(KPL_MAGIC));
  });

  it('returns data without the envelope unchanged', () => {
    const plain = Buffer.from('{"hello":"world"}');
    expect(decompress(plain)).toBe(plain);
    expect(isCompressed(plain)).toBe(false);
  });

  const bad: [string, CompressionError['kind'], () => Buffer][] = [
    [
      'an unknown codec id',
      'unknown-codec',
      () => {
        const b = Buffer.from(compress(text, 'gzip'));
        b[5] = 9;
        return b;
      },
    ],
    [
      'an unknown version',
      'unknown-version',
      () => {
        const b = Buffer.from(compress(text, 'gzip'));
        b[4] = 2;
        return b;
      },
    ],
    ['a header cut short', 'truncated', () => Buffer.from(compress(text, 'gzip')).subarray(0, 7)],
    [
      'a corrupt gzip payload',
      'corrupt',
      () => {
        const b = Buffer.from(compress(text, 'gzip'));
        b.fill(0x41, 12, 40);
        return b;
      },
    ],
    [
      'a truncated gzip payload',
      'corrupt',
      () => Buffer.from(compress(text, 'gzip')).subarray(0, 30),
    ],
    [
      'a corrupt snappy payload',
      'corrupt',
      () => {
        const b = Buffer.from(compress(text, 'snappy'));
        b.fill(0xff, 10, 30);
        return b;
      },
    ],
    [
      'a length that lies',
      'corrupt',
      () => {
        const b = Buffer.from(compress(text, 'gzip'));
        b.writeUInt32BE(text.length - 1, 6);
        return b;
      },
    ],
    [
      'a declared size over the bound',
      'too-large',
      () => {
        const b = Buffer.from(compress(text, 'gzip'));
        b.writeUInt32BE(0xffffffff, 6);
        return b;
      },
    ],
  ];
  for (const [what, kind, make] of bad) {
    it(`refuses ${what} with CompressionError (${kind})`, () => {
      expect(() => decompress(make())).toThrow(
        expect.objectContaining({ name: 'CompressionError', kind }),
      );
      expect(() => decompress(make())).toThrow(CompressionError);
    });
  }

  it('bounds the output size', () => {
    const packed = compress(Buffer.alloc(100_000), 'gzip');
    expect(() => decompress(packed, { maxBytes: 99_999 })).toThrow(
      expect.objectContaining({ kind: 'too-large' }),
    );
    expect(decompress(packed, { maxBytes: 100_000 })).toHaveLength(100_000);
  });

  it('refuses an unknown codec when compressing', () => {
    expect(() => compress(text, 'lz4' as 'gzip')).toThrow(ConfigError);
  });
});

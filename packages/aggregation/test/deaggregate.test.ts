import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  CorruptAggregateError,
  KPL_MAGIC,
  aggregate,
  deaggregate,
  isAggregated,
} from '../src/index';

const bytes = (s: string) => Buffer.from(s, 'utf8');

function aggregateOf(n: number) {
  const [out] = aggregate(
    Array.from({ length: n }, (_, i) => ({ partitionKey: `k${i}`, data: bytes(`d${i}`) })),
  );
  return Buffer.from(out!.data);
}

/** Builds magic ‖ proto ‖ MD5(proto) around arbitrary protobuf bytes, so the MD5 check passes. */
function withValidDigest(proto: Buffer): Buffer {
  return Buffer.concat([Buffer.from(KPL_MAGIC), proto, createHash('md5').update(proto).digest()]);
}

const parent = (data: Uint8Array) => ({ data, partitionKey: 'a', sequenceNumber: '12345' });

describe('deaggregate', () => {
  it('passes a record without the magic through as one record', () => {
    const out = deaggregate({
      data: bytes('plain'),
      partitionKey: 'pk',
      sequenceNumber: '9',
      explicitHashKey: '5',
    });
    expect(out).toEqual([
      {
        partitionKey: 'pk',
        explicitHashKey: '5',
        data: bytes('plain'),
        sequenceNumber: '9',
        subSequenceNumber: 0,
        aggregated: false,
      },
    ]);
  });

  it('passes through empty data and data shorter than the magic', () => {
    expect(deaggregate(parent(new Uint8Array(0)))).toHaveLength(1);
    expect(deaggregate(parent(Uint8Array.of(0xf3, 0x89)))).toHaveLength(1);
  });

  it('carries the arrival timestamp to every user record', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const out = deaggregate({ ...parent(aggregateOf(3)), approximateArrivalTimestamp: at });
    expect(out.map((r) => r.approximateArrivalTimestamp)).toEqual([at, at, at]);
  });

  const corruptions: [string, CorruptAggregateError['kind'], () => Buffer][] = [
    [
      'a flipped byte (MD5 mismatch)',
      'md5',
      () => {
        const b = aggregateOf(3);
        b[8]! ^= 0xff;
        return b;
      },
    ],
    ['a cut-off trailer (MD5 mismatch)', 'md5', () => aggregateOf(3).subarray(0, 30)],
    [
      'shorter than magic plus MD5',
      'truncated',
      () => Buffer.concat([Buffer.from(KPL_MAGIC), Buffer.alloc(5)]),
    ],
    [
      'a truncated protobuf with a valid MD5',
      'truncated',
      () => withValidDigest(Buffer.from('0a056b', 'hex')),
    ],
    [
      'a wrong wire type with a valid MD5',
      'protobuf',
      () => withValidDigest(Buffer.from('0801', 'hex')),
    ],
    [
      'a record without data with a valid MD5',
      'protobuf',
      () => withValidDigest(Buffer.from('0a016b' + '1a02' + '0800', 'hex')),
    ],
    [
      'a partition key index out of the table with a valid MD5',
      'index',
      () => withValidDigest(Buffer.from('0a016b' + '1a05' + '0801' + '1a0178', 'hex')),
    ],
    [
      'an explicit hash key index out of the table with a valid MD5',
      'index',
      () => withValidDigest(Buffer.from('0a016b' + '1a07' + '0800' + '1000' + '1a0178', 'hex')),
    ],
  ];

  for (const [what, kind, make] of corruptions) {
    it(`delivers ${what} raw, reports it (${kind}), and throws it in strict mode`, () => {
      const data = make();
      const onCorrupt = vi.fn();
      const out = deaggregate(parent(data), { onCorrupt });
      expect(out).toEqual([
        {
          partitionKey: 'a',
          data,
          sequenceNumber: '12345',
          subSequenceNumber: 0,
          aggregated: false,
        },
      ]);
      expect(onCorrupt).toHaveBeenCalledTimes(1);
      const [error] = onCorrupt.mock.calls[0]!;
      expect(error).toBeInstanceOf(CorruptAggregateError);
      expect(error).toMatchObject({
        kind,
        sequenceNumber: '12345',
        code: `CORRUPT_AGGREGATE_${kind.toUpperCase()}`,
      });
      expect(() => deaggregate(parent(data), { strict: true })).toThrow(
        expect.objectContaining({ name: 'CorruptAggregateError', kind }),
      );
    });
  }

  it('reads tags (a tag without a value as empty) and skips unknown fields', () => {
    // pk table "k"; record { pk 0, data "x", tags {key "t"} }; unknown field 9 varint
    const proto = Buffer.from(
      '0a016b' + '1a0a' + '0800' + '1a0178' + '2203' + '0a0174' + '4801',
      'hex',
    );
    const out = deaggregate(parent(withValidDigest(proto)), { strict: true });
    expect(out).toEqual([
      {
        partitionKey: 'k',
        data: bytes('x'),
        sequenceNumber: '12345',
        subSequenceNumber: 0,
        aggregated: true,
        tags: { t: '' },
      },
    ]);
  });

  it('treats an aggregate with no records as holding no user records', () => {
    expect(deaggregate(parent(withValidDigest(Buffer.alloc(0))), { strict: true })).toEqual([]);
  });

  it('recognises the magic', () => {
    expect(isAggregated(aggregateOf(2))).toBe(true);
    expect(isAggregated(bytes('{"json":1}'))).toBe(false);
  });
});

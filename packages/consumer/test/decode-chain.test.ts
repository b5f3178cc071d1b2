import {
  MAX_HASH_KEY,
  aggregate,
  compress,
  hashKeyOf,
  partitionKeyHash,
} from '@shardline/aggregation';
import { describe, expect, it } from 'vitest';
import { unwrapRecord, type ChainOptions } from '../src/decode-chain';
import { decodeRecords } from '../src/record-decoder';

/** Runs the chain on one record; returns what reached the sink, in order, and its report. */
function run(data: Uint8Array, options: ChainOptions = {}) {
  const seen: string[] = [];
  const report = unwrapRecord({ data, partitionKey: 'a', sequenceNumber: '9' }, options, {
    record: (user, bytes) =>
      seen.push(`${user.subSequenceNumber}:${Buffer.from(bytes).toString()}`),
    poison: (error, user) =>
      seen.push(`poison ${user ? user.subSequenceNumber : 'all'}:${error.code}`),
  });
  return { seen, report };
}

describe('the decode chain shared by the consumer and the Lambda adapter', () => {
  const texts = ['a', 'b', 'c'];

  it('opens the envelope around a record, splits the aggregate, opens each user envelope', () => {
    const [inner] = aggregate(
      texts.map((t) => ({ partitionKey: 'k', data: compress(Buffer.from(t), 'snappy') })),
    );
    expect(run(compress(inner!.data, 'gzip')).seen).toEqual(['0:a', '1:b', '2:c']);
    expect(run(Buffer.from('plain')).seen).toEqual(['0:plain']);
  });

  it('poisons one user record whose envelope is bad, in its place, and its siblings still flow', () => {
    const bad = Buffer.from(compress(Buffer.from('x'), 'gzip'));
    bad[5] = 7; // byte 5 names the codec: 7 is none
    const [agg] = aggregate([
      { partitionKey: 'k', data: Buffer.from('a') },
      { partitionKey: 'k', data: bad },
      { partitionKey: 'k', data: Buffer.from('c') },
    ]);
    expect(run(agg!.data).seen).toEqual(['0:a', 'poison 1:COMPRESSION_UNKNOWN_CODEC', '2:c']);
  });

  it('poisons the whole record for a corrupt aggregate or an envelope over the size limit', () => {
    const [agg] = aggregate(texts.map((t) => ({ partitionKey: 'k', data: Buffer.from(t) })));
    const corrupt = Buffer.from(agg!.data);
    corrupt[10]! ^= 0xff;
    expect(run(corrupt).seen).toEqual(['poison all:CORRUPT_AGGREGATE_MD5']);
    const big = compress(Buffer.alloc(4096), 'gzip');
    expect(run(big, { maxDecompressedBytes: 1024 }).seen).toEqual([
      'poison all:COMPRESSION_TOO_LARGE',
    ]);
    expect(run(big).seen).toHaveLength(1);
    expect(run(big).seen[0]).toMatch(/^0:/);
  });

  it('skips the user records it is told to', () => {
    const [agg] = aggregate(texts.map((t) => ({ partitionKey: 'k', data: Buffer.from(t) })));
    expect(run(agg!.data, { skip: (u) => u.subSequenceNumber < 2 }).seen).toEqual(['2:c']);
  });

  it('reports an aggregate with records outside the hash range: delivered, or dropped whole', () => {
    const hash = partitionKeyHash('k');
    const [mixed] = aggregate([
      { partitionKey: 'k', data: Buffer.from('in') },
      { partitionKey: 'other', data: Buffer.from('out') },
    ]);
    const hashRange = { start: hash, end: hash };
    expect(run(mixed!.data, { hashRange })).toEqual({
      seen: ['0:in', '1:out'],
      report: { records: 2, outside: 1, dropped: false },
    });
    expect(run(mixed!.data, { hashRange, dropOutOfRange: true })).toEqual({
      seen: [],
      report: { records: 2, outside: 1, dropped: true },
    });
    // No range (the Lambda adapter): nothing to check, every record delivered.
    expect(run(mixed!.data, { dropOutOfRange: true }).report).toBeUndefined();
  });

  it('counts records outside the range exactly as comparing their hash keys as integers does', () => {
    // Keys at and one past each bound, by partition key (MD5) and by explicit hash key (decimal,
    // also with leading zeros), repeated back to back, against ranges inside, at the edges of and
    // beyond the hash-key space.
    const pk = partitionKeyHash('k');
    const keys: { partitionKey: string; explicitHashKey?: string }[] = [];
    const ranges: { start: bigint; end: bigint }[] = [
      { start: pk, end: pk },
      { start: pk + 1n, end: MAX_HASH_KEY },
      { start: 0n, end: pk - 1n },
      { start: 0n, end: MAX_HASH_KEY },
      { start: -5n, end: MAX_HASH_KEY + 5n },
      { start: 10n ** 20n, end: 10n ** 30n },
      { start: 10n, end: 5n },
    ];
    for (const r of ranges)
      for (const h of [r.start - 1n, r.start, r.end, r.end + 1n])
        if (h >= 0n && h <= MAX_HASH_KEY)
          keys.push(
            { partitionKey: 'x', explicitHashKey: h.toString() },
            { partitionKey: 'x', explicitHashKey: h.toString() },
            { partitionKey: 'x', explicitHashKey: `00${h}` },
          );
    for (let i = 0; i < 200; i++)
      keys.push({ partitionKey: `key-${i}` }, { partitionKey: `key-${i}` });
    keys.push({ partitionKey: 'k' }, { partitionKey: 'k' });
    // trustedInput: the aggregator would refuse the leading zeros another writer may put there.
    const aggs = aggregate(
      keys.map((k) => ({ ...k, data: Buffer.from('d') })),
      { trustedInput: true },
    );
    expect(aggs).toHaveLength(1);
    for (const hashRange of ranges) {
      const expected = keys.filter((k) => {
        const h = hashKeyOf(k);
        return h < hashRange.start || h > hashRange.end;
      }).length;
      expect(run(aggs[0]!.data, { hashRange }).report?.outside ?? 0).toBe(expected);
    }
  });

  it('judges an explicit hash key that is no integer without throwing, and delivers its records', () => {
    // Such a key used to throw out of the decode (BigInt), which stopped the shard on it.
    const [agg] = aggregate(
      [
        { partitionKey: 'x', explicitHashKey: '12abc', data: Buffer.from('a') },
        { partitionKey: 'x', explicitHashKey: '5', data: Buffer.from('b') },
      ],
      { trustedInput: true },
    );
    expect(run(agg!.data, { hashRange: { start: 10n, end: 99_999n } })).toEqual({
      seen: ['0:a', '1:b'],
      report: { records: 2, outside: 1, dropped: false },
    });
  });

  it('hands processors exactly the fields of a ConsumerRecord, tagged aggregates included', () => {
    const [agg] = aggregate([
      { partitionKey: 'a', data: Buffer.from('x'), tags: { t: 'v' } },
      { partitionKey: 'b', explicitHashKey: '7', data: compress(Buffer.from('y'), 'gzip') },
    ]);
    const arrival = new Date(1000);
    const { records } = decodeRecords(
      [
        {
          data: agg!.data,
          partitionKey: 'a',
          sequenceNumber: '9',
          approximateArrivalTimestamp: arrival,
        },
      ],
      { shardId: 's' },
    );
    expect(records.map((r) => ({ ...r, data: Buffer.from(r.data).toString() }))).toStrictEqual([
      {
        partitionKey: 'a',
        data: 'x',
        sequenceNumber: '9',
        subSequenceNumber: 0,
        aggregated: true,
        approximateArrivalTimestamp: arrival,
      },
      {
        partitionKey: 'b',
        explicitHashKey: '7',
        data: 'y',
        sequenceNumber: '9',
        subSequenceNumber: 1,
        aggregated: true,
        approximateArrivalTimestamp: arrival,
      },
    ]);
  });
});

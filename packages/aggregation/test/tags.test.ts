import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Aggregator, aggregate, deaggregate } from '../src/index';
import { AggregatedRecordType } from '../src/schema';
import { theirDeaggregate } from './support/kinesis-agg';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const tagged = (i: number) => ({
  partitionKey: `key-${i % 5}-ü`,
  data: Buffer.from(`payload ${i}`),
  ...(i % 2 === 0
    ? { tags: { traceparent: TRACEPARENT, ...(i % 4 === 0 ? { tracestate: `v=${i},ü=1` } : {}) } }
    : {}),
  ...(i % 3 === 0 ? { explicitHashKey: String(i * 1000) } : {}),
});

function read(data: Uint8Array) {
  return deaggregate({ data, partitionKey: 'a', sequenceNumber: '1' }, { strict: true });
}

describe('per-record tags (the KPL format field 4)', () => {
  it('writes each record its own tags, reads them back, and none where none were given', () => {
    const records = Array.from({ length: 20 }, (_, i) => tagged(i));
    const [out] = aggregate(records);
    expect(out!.recordCount).toBe(20);
    const back = read(out!.data);
    back.forEach((r, i) => {
      expect(r.data.toString()).toBe(`payload ${i}`);
      if (records[i]!.tags) expect(r.tags).toEqual(records[i]!.tags);
      else expect(r).not.toHaveProperty('tags');
    });
  });

  it('is what the KPL schema says: protobufjs decodes the tags and re-encodes byte-identically', () => {
    const [out] = aggregate([tagged(0), tagged(1), tagged(2)]);
    const proto = out!.data.subarray(4, out!.data.length - 16);
    const message = AggregatedRecordType.decode(proto) as unknown as {
      records: { tags: { key: string; value: string }[] }[];
    };
    expect(message.records[0]!.tags).toEqual([
      { key: 'traceparent', value: TRACEPARENT },
      { key: 'tracestate', value: 'v=0,ü=1' },
    ]);
    expect(message.records[1]!.tags).toEqual([]);
    expect(message.records[2]!.tags).toEqual([{ key: 'traceparent', value: TRACEPARENT }]);
    expect(Buffer.from(AggregatedRecordType.encode(message).finish())).toEqual(Buffer.from(proto));
  });

  it('keeps the size prediction exact with tags, record by record', () => {
    const aggregator = new Aggregator();
    for (let i = 0; i < 300; i++) {
      const record = tagged(i);
      const predicted = aggregator.sizeWith(record);
      expect(aggregator.add(record)).toBeUndefined();
      expect(aggregator.sizeBytes).toBe(predicted);
    }
    const size = aggregator.sizeBytes;
    const out = aggregator.flush()!;
    expect(out.data.length + 1).toBe(size);
  });

  it('fills an aggregate of tagged records to exactly maxBytes, and one byte more starts the next', () => {
    const maxBytes = 3000;
    const tags = { traceparent: TRACEPARENT };
    const first = { partitionKey: 'k', data: Buffer.alloc(100), tags };
    const probe = new Aggregator({ maxBytes });
    probe.add(first);
    let n = 0;
    while (probe.sizeWith({ partitionKey: 'k', data: Buffer.alloc(n + 1), tags }) <= maxBytes) n++;
    const fits = new Aggregator({ maxBytes });
    fits.add(first);
    expect(fits.add({ partitionKey: 'k', data: Buffer.alloc(n), tags })).toBeUndefined();
    const full = fits.flush()!;
    expect(full.data.length + 1).toBe(maxBytes);
    const over = new Aggregator({ maxBytes });
    over.add(first);
    expect(over.add({ partitionKey: 'k', data: Buffer.alloc(n + 1), tags })).toMatchObject({
      recordCount: 1,
    });
  });

  it('drops the tags of a record that goes out alone: a plain record has no place for them', () => {
    const [out] = aggregate([tagged(0)]);
    expect(out).toEqual({
      partitionKey: 'key-0-ü',
      explicitHashKey: '0',
      data: Buffer.from('payload 0'),
      recordCount: 1,
    });
    expect(read(out!.data)[0]).not.toHaveProperty('tags');
  });

  it('aws-kinesis-agg reads our tagged aggregates, seeing the same data and keys', () => {
    const records = Array.from({ length: 12 }, (_, i) => tagged(i));
    const [out] = aggregate(records);
    const theirs = theirDeaggregate(out!.data, out!.partitionKey, '1');
    expect(theirs.map((r) => [r.partitionKey, Buffer.from(r.data).toString()])).toEqual(
      records.map((r) => [r.partitionKey, r.data.toString()]),
    );
  });

  it('reads a tag named __proto__ as a key, and a tag without a value as empty', () => {
    const message = AggregatedRecordType.create({
      partition_key_table: ['k'],
      records: [
        {
          partition_key_index: 0,
          data: Buffer.from('x'),
          tags: [{ key: '__proto__', value: 'p' }, { key: 'novalue' }],
        },
        { partition_key_index: 0, data: Buffer.from('y') },
      ],
    });
    const proto = Buffer.from(AggregatedRecordType.encode(message).finish());
    const data = Buffer.concat([
      Buffer.of(0xf3, 0x89, 0x9a, 0xc2),
      proto,
      createHash('md5').update(proto).digest(),
    ]);
    const [first] = read(data);
    expect(Object.keys(first!.tags!)).toEqual(['__proto__', 'novalue']);
    expect(first!.tags!.novalue).toBe('');
  });
});

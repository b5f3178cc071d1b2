import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AGGREGATE_OVERHEAD,
  Aggregator,
  ConfigError,
  InvalidRecordError,
  KPL_MAGIC,
  RecordTooLargeError,
  aggregate,
  deaggregate,
  partitionKeyHash,
} from '../src/index';
import { AggregatedRecordType } from '../src/schema';

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('aggregate', () => {
  it('writes the KPL format byte for byte: magic, protobuf, MD5 of the protobuf', () => {
    const [out] = aggregate([
      { partitionKey: 'k1', data: bytes('hi') },
      { partitionKey: 'k1', data: bytes('yo') },
    ]);
    const data = Buffer.from(out!.data);
    expect(data.subarray(0, 4)).toEqual(Buffer.from(KPL_MAGIC));
    const proto = data.subarray(4, data.length - 16);
    // partition_key_table "k1", then two records {pk index 0, data}
    expect(proto.toString('hex')).toBe(
      '0a026b31' + '1a06' + '0800' + '1a026869' + '1a06' + '0800' + '1a02796f',
    );
    expect(data.subarray(data.length - 16)).toEqual(createHash('md5').update(proto).digest());
  });

  it('sends a multi-record aggregate with partition key "a" and the first record\'s hash key', () => {
    const [out] = aggregate([
      { partitionKey: 'first', data: bytes('1') },
      { partitionKey: 'second', data: bytes('2') },
    ]);
    expect(out!.partitionKey).toBe('a');
    expect(out!.explicitHashKey).toBe(partitionKeyHash('first').toString());
    expect(out!.recordCount).toBe(2);
  });

  it("uses the first record's explicit hash key when it has one", () => {
    const [out] = aggregate([
      { partitionKey: 'x', data: bytes('1'), explicitHashKey: '42' },
      { partitionKey: 'y', data: bytes('2') },
    ]);
    expect(out!.explicitHashKey).toBe('42');
  });

  it('emits a batch of one as the plain record', () => {
    const out = aggregate([{ partitionKey: 'solo', data: bytes('payload'), explicitHashKey: '7' }]);
    expect(out).toEqual([
      { partitionKey: 'solo', data: bytes('payload'), explicitHashKey: '7', recordCount: 1 },
    ]);
  });

  it('de-duplicates the partition and explicit hash key tables', () => {
    const [out] = aggregate([
      { partitionKey: 'p', data: bytes('1'), explicitHashKey: '1' },
      { partitionKey: 'q', data: bytes('2'), explicitHashKey: '1' },
      { partitionKey: 'p', data: bytes('3'), explicitHashKey: '2' },
    ]);
    const decoded = AggregatedRecordType.toObject(
      AggregatedRecordType.decode(Buffer.from(out!.data).subarray(4, out!.data.length - 16)),
      { longs: Number },
    );
    expect(decoded.partition_key_table).toEqual(['p', 'q']);
    expect(decoded.explicit_hash_key_table).toEqual(['1', '2']);
    expect(
      decoded.records.map((r: { partition_key_index: number }) => r.partition_key_index),
    ).toEqual([0, 1, 0]);
  });

  it('returns nothing for nothing', () => {
    expect(aggregate([])).toEqual([]);
  });
});

describe('Aggregator size accounting', () => {
  it('reports the exact size it emits, record by record', () => {
    const aggregator = new Aggregator();
    const records = Array.from({ length: 300 }, (_, i) => ({
      partitionKey: `key-${i % 17}-ü`,
      data: Buffer.alloc(i * 7),
      ...(i % 3 === 0 ? { explicitHashKey: String(i * 1000) } : {}),
    }));
    for (const record of records) {
      const predicted = aggregator.sizeWith(record);
      expect(aggregator.add(record)).toBeUndefined();
      expect(aggregator.sizeBytes).toBe(predicted);
    }
    const size = aggregator.sizeBytes;
    const out = aggregator.flush()!;
    expect(out.data.length + Buffer.byteLength(out.partitionKey)).toBe(size);
    expect(aggregator.count).toBe(0);
    expect(aggregator.sizeBytes).toBe(0);
  });

  it('fills an aggregate to exactly maxBytes, and one byte more starts the next', () => {
    const maxBytes = 5000;
    const first = { partitionKey: 'k', data: Buffer.alloc(100) };
    const probe = new Aggregator({ maxBytes });
    probe.add(first);
    // choose the second record's data so the aggregate is exactly maxBytes
    let dataLength = 0;
    while (probe.sizeWith({ partitionKey: 'k', data: Buffer.alloc(dataLength + 1) }) <= maxBytes)
      dataLength++;
    const exact = { partitionKey: 'k', data: Buffer.alloc(dataLength) };
    expect(probe.sizeWith(exact)).toBe(maxBytes);

    const fits = new Aggregator({ maxBytes });
    fits.add(first);
    expect(fits.add(exact)).toBeUndefined();
    const full = fits.flush()!;
    expect(full.data.length + 1).toBe(maxBytes);
    expect(full.recordCount).toBe(2);

    const over = new Aggregator({ maxBytes });
    over.add(first);
    const emitted = over.add({ partitionKey: 'k', data: Buffer.alloc(dataLength + 1) });
    expect(emitted).toMatchObject({ partitionKey: 'k', recordCount: 1 });
    expect(over.count).toBe(1);
  });

  it('never emits a record over 1 MiB (data plus partition key) by default', () => {
    const aggregator = new Aggregator();
    const out = [];
    for (let i = 0; i < 40; i++) {
      const emitted = aggregator.add({ partitionKey: `pk${i}`, data: Buffer.alloc(100_000 + i) });
      if (emitted) out.push(emitted);
    }
    out.push(aggregator.flush()!);
    for (const r of out)
      expect(r.data.length + Buffer.byteLength(r.partitionKey)).toBeLessThanOrEqual(1024 * 1024);
    expect(out.reduce((n, r) => n + r.recordCount, 0)).toBe(40);
  });

  it('accepts a lone record of exactly the limit and emits it un-aggregated', () => {
    const aggregator = new Aggregator({ maxBytes: 1024 });
    aggregator.add({ partitionKey: 'abcd', data: Buffer.alloc(1020) });
    const next = aggregator.add({ partitionKey: 'abcd', data: Buffer.alloc(1) });
    expect(next).toMatchObject({ partitionKey: 'abcd', recordCount: 1 });
    expect(next!.data.length).toBe(1020);
  });

  it('rejects a record that cannot fit even alone, with a typed error, and keeps what is pending', () => {
    const aggregator = new Aggregator({ maxBytes: 1024 });
    aggregator.add({ partitionKey: 'a1', data: Buffer.alloc(10) });
    const error = (() => {
      try {
        aggregator.add({ partitionKey: 'abcd', data: Buffer.alloc(1021) });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RecordTooLargeError);
    expect(error).toMatchObject({ code: 'RECORD_TOO_LARGE', size: 1025, limit: 1024 });
  });

  it('honours maxRecords', () => {
    const out = aggregate(
      Array.from({ length: 10 }, (_, i) => ({ partitionKey: 'k', data: bytes(String(i)) })),
      { maxRecords: 4 },
    );
    expect(out.map((r) => r.recordCount)).toEqual([4, 4, 2]);
  });

  it('overhead of an aggregate is the magic and the MD5', () => {
    expect(AGGREGATE_OVERHEAD).toBe(20);
  });

  it('refuses bad limits and bad records with typed errors', () => {
    expect(() => new Aggregator({ maxBytes: 0 })).toThrow(ConfigError);
    expect(() => new Aggregator({ maxRecords: 1.5 })).toThrow(ConfigError);
    const aggregator = new Aggregator();
    expect(() => aggregator.add({ partitionKey: '', data: bytes('x') })).toThrow(
      InvalidRecordError,
    );
    expect(() => aggregator.add({ partitionKey: 'k', data: 'x' as unknown as Uint8Array })).toThrow(
      expect.objectContaining({ code: 'DATA_NOT_BYTES' }),
    );
    expect(() =>
      aggregator.add({ partitionKey: 'k', data: bytes('x'), explicitHashKey: '-1' }),
    ).toThrow(expect.objectContaining({ code: 'EXPLICIT_HASH_KEY_INVALID' }));
  });

  it('round-trips through deaggregate with sub-sequence numbers in order', () => {
    const records = Array.from({ length: 50 }, (_, i) => ({
      partitionKey: `k${i % 5}`,
      data: bytes(`record ${i}`),
    }));
    const [out] = aggregate(records);
    const back = deaggregate({ ...out!, sequenceNumber: '4960' });
    expect(back.map((r) => Buffer.from(r.data).toString())).toEqual(
      records.map((r) => `record ${r.data.toString().split(' ')[1]}`),
    );
    expect(back.map((r) => r.subSequenceNumber)).toEqual(records.map((_, i) => i));
    expect(back.every((r) => r.sequenceNumber === '4960' && r.aggregated)).toBe(true);
    expect(back.map((r) => r.partitionKey)).toEqual(records.map((r) => r.partitionKey));
  });
});

describe('flush({ singleAsAggregate })', () => {
  it('emits a lone record as a one-record aggregate that de-aggregates to it, when asked and when it fits', () => {
    const data = Buffer.from('x'.repeat(300));
    const tags = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    const aggregator = new Aggregator();
    aggregator.add({ partitionKey: 'user-1', explicitHashKey: '12345', data, tags });
    const out = aggregator.flush({ singleAsAggregate: true })!;
    expect([out.partitionKey, out.explicitHashKey, out.recordCount]).toEqual(['a', '12345', 1]);
    const [u, ...rest] = deaggregate(
      { data: out.data, partitionKey: out.partitionKey, sequenceNumber: '1' },
      { strict: true },
    );
    expect(rest).toHaveLength(0);
    expect(u).toMatchObject({ partitionKey: 'user-1', explicitHashKey: '12345', tags });
    expect(Buffer.from(u!.data).equals(data)).toBe(true);
    // Without the option, or without room for the wrapper, it stays plain.
    aggregator.add({ partitionKey: 'k', data });
    expect(aggregator.flush()!.partitionKey).toBe('k');
    const tight = new Aggregator({ maxBytes: data.length + 1 });
    tight.add({ partitionKey: 'k', data });
    expect(tight.flush({ singleAsAggregate: true })!.partitionKey).toBe('k');
  });
});

import { createHash } from 'node:crypto';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import {
  aggregate,
  CompressionError,
  ConfigError,
  CorruptAggregateError,
  compress,
  InvalidRecordError,
  KPL_MAGIC,
  RecordTooLargeError,
} from '@shardline/aggregation';
import { Consumer, PoisonRecordError } from '@shardline/consumer';
import { FakeKinesis } from '@shardline/fake-kinesis';
import { Producer, ShardlineError } from '@shardline/producer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDBClient, uniqueName, waitFor } from '../../src/backend';
import { countIds, idOf, tally } from '../../src/faults/count';
import { scenario } from '../../src/faults/report';

// Scenario 7: the bad-input catalogue. Each bad thing gets a typed error (a `ShardlineError` with
// a stable code), no worker dies, and the good records around it all arrive.

const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest();
const withMagic = (body: Uint8Array, trailer = md5(body)) =>
  Buffer.concat([KPL_MAGIC, body, trailer]);

/** A valid aggregate of two records, then one corruption of each kind the decoder names. */
function corruptAggregates(): { kind: string; data: Uint8Array }[] {
  const [good] = aggregate([
    { partitionKey: 'k', data: Buffer.from('never-1') },
    { partitionKey: 'k', data: Buffer.from('never-2') },
  ]);
  const bytes = Buffer.from(good!.data);
  const badMd5 = Buffer.from(bytes);
  badMd5[badMd5.length - 1]! ^= 0xff;
  // Valid protobuf framing for a table with one key and a record pointing at key 5.
  const badIndex = Buffer.from([0x0a, 0x01, 0x6b, 0x1a, 0x05, 0x08, 0x05, 0x1a, 0x01, 0x78]);
  return [
    { kind: 'md5', data: badMd5 },
    { kind: 'truncated', data: bytes.subarray(0, 10) },
    { kind: 'protobuf', data: withMagic(Buffer.from([0x0f, 0x01, 0x02, 0x03])) },
    { kind: 'index', data: withMagic(badIndex) },
  ];
}

/** Compression envelopes a reader cannot open: unknown codec, unknown version, corrupt payload, short header. */
function badEnvelopes(): { kind: string; data: Uint8Array }[] {
  const good = Buffer.from(compress(Buffer.from('never-3'), 'gzip'));
  const codec = Buffer.from(good);
  codec[5] = 9;
  const version = Buffer.from(good);
  version[4] = 7;
  const corrupt = Buffer.concat([good.subarray(0, 10), Buffer.from('not gzip at all')]);
  return [
    { kind: 'unknown-codec', data: codec },
    { kind: 'unknown-version', data: version },
    { kind: 'corrupt', data: corrupt },
    { kind: 'truncated', data: good.subarray(0, 7) },
  ];
}

describe('scenario 7: bad input catalogue', () => {
  let fake: FakeKinesis;
  beforeAll(async () => {
    fake = await FakeKinesis.start({ seed: 7 });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('producer: oversized records, bad keys and bad configs get typed errors; good records around them all land', async () => {
    const streamName = 'bad-producer-input';
    fake.createStream(streamName, 2);
    const client = fake.client();
    const producer = new Producer({ streamName, kinesisClient: client, recordMaxBufferedTime: 10 });
    const bad: { name: string; record: unknown; type: new (...args: never[]) => Error }[] = [
      {
        name: 'oversized',
        record: { partitionKey: 'k', data: Buffer.alloc(1024 * 1024) },
        type: RecordTooLargeError,
      },
      { name: 'empty key', record: { partitionKey: '', data: 'x' }, type: InvalidRecordError },
      {
        name: 'key over 256 chars',
        record: { partitionKey: 'k'.repeat(257), data: 'x' },
        type: InvalidRecordError,
      },
      {
        name: 'key not a string',
        record: { partitionKey: 42, data: 'x' },
        type: InvalidRecordError,
      },
      {
        name: 'negative hash key',
        record: { partitionKey: 'k', explicitHashKey: '-1', data: 'x' },
        type: InvalidRecordError,
      },
      {
        name: 'hash key over 2^128-1',
        record: { partitionKey: 'k', explicitHashKey: (2n ** 128n).toString(), data: 'x' },
        type: InvalidRecordError,
      },
      {
        name: 'hash key not decimal',
        record: { partitionKey: 'k', explicitHashKey: '0x10', data: 'x' },
        type: InvalidRecordError,
      },
      {
        name: 'data not bytes',
        record: { partitionKey: 'k', data: { an: 'object' } },
        type: InvalidRecordError,
      },
    ];
    const configs: Record<string, unknown>[] = [
      {},
      { streamName: 'bad name!' },
      { streamName, recordTtl: -1 },
      { streamName, collectionMaxCount: 501 },
      { streamName, aggregation: 'yes' },
      { streamName, compression: { codec: 'lz4' } },
      { streamName, kinesisClient: {} },
    ];
    const good = Array.from({ length: 300 }, (_, i) => `s7a-${i}`);
    let seen = new Map<string, number>();
    let typed = 0;
    await scenario(
      '7a. bad records and configs (producer)',
      () => ({ ...tally(good, seen), faultsInjected: typed }),
      async () => {
        const goodPuts: Promise<unknown>[] = [];
        for (const [i, id] of good.entries()) {
          goodPuts.push(producer.put({ partitionKey: `key-${i % 13}`, data: id }));
          const b = bad[i % bad.length]!;
          if (i < bad.length) {
            const error = await producer.put(b.record as never).catch((e: unknown) => e);
            expect(error, b.name).toBeInstanceOf(b.type);
            expect((error as ShardlineError).code, b.name).toMatch(/^[A-Z_]+$/);
            typed++;
          }
        }
        for (const config of configs) {
          expect(() => new Producer(config as never), JSON.stringify(config)).toThrow(ConfigError);
          typed++;
        }
        for (const config of [
          {},
          { streamName, applicationName: 'a' },
          {
            streamName,
            applicationName: 'a',
            kinesisClient: client,
            dynamoDBClient: {},
            failoverTimeMillis: -5,
          },
        ]) {
          expect(() => new Consumer(config as never), JSON.stringify(Object.keys(config))).toThrow(
            ConfigError,
          );
          typed++;
        }
        await Promise.all(goodPuts);
        await producer.close();
        client.destroy();
        seen = countIds(fake.records(streamName));
        expect(tally(good, seen).lost).toBe(0);
      },
    );
  });

  it('producer: malformed service responses are retried or fail typed; nothing is lost', async () => {
    const streamName = 'malformed-responses';
    fake.createStream(streamName, 2);
    const rule = fake.inject({ kind: 'malformed', operation: 'PutRecords', probability: 0.3 });
    const client = fake.client();
    const producer = new Producer({
      streamName,
      kinesisClient: client,
      recordMaxBufferedTime: 5,
      collectionMaxCount: 1,
      aggregationMaxCount: 5,
      retry: { minTimeout: 5, maxTimeout: 50, retries: 200 },
    });
    const ids = Array.from({ length: 500 }, (_, i) => `s7d-${i}`);
    const ok = new Set<string>();
    const failures: unknown[] = [];
    let seen = new Map<string, number>();
    await scenario(
      '7b. malformed service responses (producer)',
      () => ({ ...tally([...ok], seen), sent: ids.length, faultsInjected: rule.applied }),
      async () => {
        await Promise.all(
          ids.map((id, i) =>
            producer.put({ partitionKey: `k${i % 7}`, data: id }).then(
              () => void ok.add(id),
              (e: unknown) => void failures.push(e),
            ),
          ),
        );
        await producer.close();
        client.destroy();
        rule.remove();
        seen = countIds(fake.records(streamName));
        expect(rule.applied).toBeGreaterThan(0);
        expect(ok.size + failures.length).toBe(ids.length);
        for (const error of failures) expect(error).toBeInstanceOf(ShardlineError);
        // A malformed answer leaves the outcome unknown, so a retry may duplicate; it must not lose.
        for (const id of ok) expect(seen.get(id) ?? 0, id).toBeGreaterThan(0);
      },
    );
  });

  it('consumer: every corruption kind and bad envelope is a typed poison record; the worker keeps going and delivers all good records', async () => {
    const streamName = uniqueName('bad-consumer-input');
    fake.createStream(streamName, 1);
    const raw = fake.client({ maxAttempts: 3 });
    const corrupt = [
      ...corruptAggregates().map((c) => ({ ...c, expect: CorruptAggregateError })),
      ...badEnvelopes().map((c) => ({ ...c, expect: CompressionError })),
    ];
    const good = Array.from({ length: 200 }, (_, i) => `s7c-${i}`);
    const received = new Map<string, number>();
    const poisoned: PoisonRecordError[] = [];
    const dynamo = dynamoDBClient();
    const consumer = new Consumer({
      streamName,
      applicationName: uniqueName('bad-input-app'),
      kinesisClient: fake.client({ maxAttempts: 3 }),
      dynamoDBClient: dynamo,
      initialPosition: 'TRIM_HORIZON',
      idleTimeBetweenReadsMillis: 100,
      failoverTimeMillis: 3000,
      onPoisonRecord: (error) => void poisoned.push(error),
      processor: {
        processRecords(batch) {
          for (const r of batch.records)
            received.set(idOf(r.data), (received.get(idOf(r.data)) ?? 0) + 1);
        },
      },
    });
    await scenario(
      '7c. corrupt aggregates, bad envelopes (consumer)',
      () => ({ ...tally(good, received), faultsInjected: corrupt.length }),
      async () => {
        // Good and bad interleaved on one shard, so each bad record sits between good ones.
        const entries = [];
        for (const [i, id] of good.entries()) {
          entries.push({ PartitionKey: `k${i}`, Data: Buffer.from(id) });
          const c = corrupt[i];
          if (c) entries.push({ PartitionKey: 'bad', Data: c.data });
        }
        for (let i = 0; i < entries.length; i += 100) {
          const out = await raw.send(
            new PutRecordsCommand({ StreamName: streamName, Records: entries.slice(i, i + 100) }),
          );
          expect(out.FailedRecordCount).toBe(0);
        }
        await consumer.start();
        try {
          await waitFor(
            () => good.every((id) => received.has(id)) && poisoned.length >= corrupt.length,
            {
              timeoutMs: 60_000,
              message: 'all good records delivered and every bad one reported',
            },
          );
          expect(consumer.health().running).toBe(true);
          expect(poisoned).toHaveLength(corrupt.length);
          for (const [i, c] of corrupt.entries()) {
            const error = poisoned[i]!;
            expect(error).toBeInstanceOf(PoisonRecordError);
            expect(error.code).toBe('POISON_RECORD');
            expect(error.cause, c.kind).toBeInstanceOf(c.expect);
            expect(
              (error.cause as CorruptAggregateError | CompressionError).kind,
              `corruption ${c.kind}`,
            ).toBe(c.kind);
          }
          // None of the records hidden in the corrupt ones came out as if they were good.
          expect([...received.keys()].filter((id) => id.startsWith('never'))).toEqual([]);
        } finally {
          await consumer.stop();
          raw.destroy();
          dynamo.destroy();
        }
      },
    );
  });
});

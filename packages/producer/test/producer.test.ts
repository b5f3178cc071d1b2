import { deaggregate, hashKeyOf } from '@shardline/aggregation';
import { FakeKinesis } from '@shardline/fake-kinesis';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  InvalidRecordError,
  Producer,
  ProducerClosedError,
  PutAbortedError,
  RecordExpiredError,
  RecordThrottledError,
  RecordTooLargeError,
  type ProducerOptions,
  type PutResult,
} from '../src/index';
import { useFakeStream } from './fake-stream';

const ctx = useFakeStream('s');
const { setup, stored } = ctx;

function expectDelivered(
  streamName: string,
  sent: { key: string; data: string; result: PutResult }[],
) {
  const all = stored(streamName);
  for (const s of sent) {
    const id = `${s.result.sequenceNumber}/${s.result.aggregated ? s.result.subSequenceNumber : 0}`;
    expect(all.get(id)).toEqual({ shardId: s.result.shardId, partitionKey: s.key, data: s.data });
  }
}

async function putEach(producer: Producer, n: number, keys = 50, prefix = 'd') {
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const key = `k${i % keys}`;
      const data = `${prefix}${i}`;
      return producer.put({ partitionKey: key, data }).then((result) => ({ key, data, result }));
    }),
  );
  return results;
}

describe('Producer', () => {
  it('aggregates per predicted shard and resolves every record with where it landed', async () => {
    const { streamName, producer } = setup(4);
    const sent = await putEach(producer, 2000);
    expectDelivered(streamName, sent);
    const shards = ctx.fake.shards(streamName);
    for (const s of sent) {
      const owner = shards.find(
        (sh) =>
          sh.start <= hashKeyOf({ partitionKey: s.key }) &&
          hashKeyOf({ partitionKey: s.key }) <= sh.end,
      )!;
      expect(s.result.shardId).toBe(owner.shardId);
      expect(s.result.attempts.at(-1)).toMatchObject({ success: true });
    }
    expect(ctx.fake.records(streamName).length).toBeLessThan(50);
    expect(producer.stats()).toMatchObject({
      recordsPut: 2000,
      recordsSucceeded: 2000,
      recordsFailed: 0,
      bufferedRecords: 0,
    });
  });

  it('sends each record alone when aggregation is off', async () => {
    const { streamName, producer } = setup(2, { aggregation: false });
    const sent = await putEach(producer, 300);
    expect(
      sent.every((s) => !s.result.aggregated && s.result.subSequenceNumber === undefined),
    ).toBe(true);
    expect(ctx.fake.records(streamName)).toHaveLength(300);
    expect(ctx.fake.stats.calls.PutRecords).toBeLessThanOrEqual(10);
    expectDelivered(streamName, sent);
  });

  it('retries entries that fail in a partial PutRecords failure, entry by entry', async () => {
    const { streamName, producer } = setup(4, { aggregation: false });
    ctx.fake.inject({ operation: 'PutRecords', kind: 'partial', fraction: 0.3, times: 5 });
    ctx.fake.inject({
      operation: 'PutRecords',
      kind: 'partial',
      fraction: 0.5,
      code: 'InternalFailure',
      times: 3,
    });
    const sent = await putEach(producer, 1000);
    expectDelivered(streamName, sent);
    expect(ctx.fake.records(streamName)).toHaveLength(1000);
    const retried = sent.filter((s) => s.result.attempts.length > 1);
    expect(retried.length).toBeGreaterThan(0);
    expect(retried[0]!.result.attempts[0]).toMatchObject({ success: false });
    expect(['ProvisionedThroughputExceededException', 'InternalFailure']).toContain(
      retried[0]!.result.attempts[0]!.errorCode,
    );
    expect(producer.stats().entryRetries).toBeGreaterThan(0);
  });

  it('retries whole calls that are throttled, fail with 5xx, or lose their connection', async () => {
    const { streamName, producer } = setup(3);
    ctx.fake.inject({ operation: 'PutRecords', kind: 'throttle', times: 2 });
    ctx.fake.inject({ operation: 'PutRecords', kind: 'internal', times: 2 });
    ctx.fake.inject({ operation: 'PutRecords', kind: 'reset', times: 2 });
    ctx.fake.inject({ operation: 'PutRecords', kind: 'malformed', times: 1 });
    const sent = await putEach(producer, 500);
    expectDelivered(streamName, sent);
    const codes = new Set(
      sent.flatMap((s) => s.result.attempts.filter((a) => !a.success).map((a) => a.errorCode)),
    );
    expect(codes.has('ProvisionedThroughputExceededException')).toBe(true);
    expect(codes.has('InternalFailure')).toBe(true);
    expect(ctx.fake.stats.faultsInjected).toBe(7);
  });

  it('fails exactly the affected records, with the service code, on a non-retryable error', async () => {
    const { producer } = setup(1);
    await producer.start();
    ctx.fake.inject({
      operation: 'PutRecords',
      kind: 'throttle',
      code: 'KMSAccessDeniedException',
      times: 1,
    });
    const results = await Promise.allSettled([producer.put({ partitionKey: 'a', data: 'x' })]);
    expect(results[0]).toMatchObject({
      status: 'rejected',
      reason: { name: 'KinesisRejectedError', serviceCode: 'KMSAccessDeniedException' },
    });
    const after = await producer.put({ partitionKey: 'a', data: 'y' });
    expect(after.sequenceNumber).toBeTruthy();
  });

  it('fails a throttled record at once with failIfThrottled', async () => {
    const { producer } = setup(1, { failIfThrottled: true, aggregation: false });
    await producer.start();
    ctx.fake.inject({ operation: 'PutRecords', kind: 'partial', fraction: 1, times: 1 });
    await expect(producer.put({ partitionKey: 'a', data: 'x' })).rejects.toBeInstanceOf(
      RecordThrottledError,
    );
  });

  it('expires a record its TTL cannot deliver, with its attempts', async () => {
    const { producer } = setup(1, { recordTtl: 300 });
    await producer.start();
    ctx.fake.inject({ operation: 'PutRecords', kind: 'internal' });
    const error = (await producer
      .put({ partitionKey: 'a', data: 'x' })
      .catch((e: unknown) => e)) as RecordExpiredError;
    expect(error).toBeInstanceOf(RecordExpiredError);
    expect(error.code).toBe('RECORD_EXPIRED');
    expect(error.attempts.length).toBeGreaterThan(0);
    expect(error.attempts.every((a) => a.errorCode === 'InternalFailure')).toBe(true);
  });

  it('refreshes the shard map once after a split and re-aggregates what landed on the wrong shard', async () => {
    const { streamName, producer } = setup(2);
    await putEach(producer, 200);
    const refreshesBefore = producer.stats().shardMapRefreshes;
    ctx.fake.splitShard(streamName, 'shardId-000000000000');
    ctx.fake.splitShard(streamName, 'shardId-000000000001');
    const sent = await putEach(producer, 2000, 200, 'after-split-');
    expectDelivered(streamName, sent);
    const open = ctx.fake.shards(streamName).filter((s) => s.endingSequenceNumber === undefined);
    for (const s of sent) {
      const hash = hashKeyOf({ partitionKey: s.key });
      // Every aggregate that succeeded lies on the shard its records hash into.
      if (s.result.aggregated)
        expect(open.find((sh) => sh.start <= hash && hash <= sh.end)!.shardId).toBe(
          s.result.shardId,
        );
    }
    // Read as a KCL reads (an aggregate with any record outside its shard is dropped whole):
    // every record exactly once — the producer re-sent only what a KCL would drop.
    const delivered = new Map<string, number>();
    for (const shard of ctx.fake.shards(streamName)) {
      for (const r of shard.records) {
        const users = deaggregate(
          { data: r.data, partitionKey: r.partitionKey, sequenceNumber: r.sequenceNumber },
          { strict: true },
        );
        if (
          users.length > 1 &&
          users.some((u) => {
            const h = hashKeyOf(u);
            return h < shard.start || h > shard.end;
          })
        )
          continue;
        for (const u of users)
          delivered.set(
            Buffer.from(u.data).toString(),
            (delivered.get(Buffer.from(u.data).toString()) ?? 0) + 1,
          );
      }
    }
    for (const s of sent) expect(delivered.get(s.data)).toBe(1);
    // A burst of wrong-shard results: one refresh (a second only if a late response raced it), not one per record.
    expect(producer.stats().shardMapRefreshes - refreshesBefore).toBeLessThanOrEqual(2);
  });

  it('does not re-send an aggregate that landed on a new shard all of its records belong to', async () => {
    const { streamName, producer } = setup(1, { shardMapRefreshInterval: 3_600_000 });
    await producer.start();
    ctx.fake.splitShard(streamName, 'shardId-000000000000'); // the producer's map is now stale
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        producer.put({ partitionKey: 'one-key', data: `same-key-${i}` }),
      ),
    );
    const hash = hashKeyOf({ partitionKey: 'one-key' });
    const child = ctx.fake
      .shards(streamName)
      .find((s) => s.endingSequenceNumber === undefined && s.start <= hash && hash <= s.end)!;
    expect(results.every((r) => r.shardId === child.shardId && r.aggregated)).toBe(true);
    // One aggregate in the child, nothing re-sent.
    const copies = ctx.fake.records(streamName, child.shardId).flatMap((r) =>
      deaggregate({
        data: r.data,
        partitionKey: r.partitionKey,
        sequenceNumber: r.sequenceNumber,
      }),
    );
    expect(copies).toHaveLength(50);
  });

  it('routes by explicit hash key', async () => {
    const { producer } = setup(4);
    const result = await producer.put({
      partitionKey: 'any',
      data: 'x',
      explicitHashKey: ((1n << 128n) - 1n).toString(),
    });
    expect(result.shardId).toBe('shardId-000000000003');
  });

  it('compresses records or aggregates with the envelope', async () => {
    for (const scope of ['record', 'aggregate'] as const) {
      const { streamName, producer } = setup(2, { compression: { codec: 'gzip', scope } });
      const sent = await putEach(producer, 300);
      expectDelivered(streamName, sent);
      const raw = ctx.fake.records(streamName);
      if (scope === 'aggregate') expect(raw.every((r) => r.data[0] === 0xd5)).toBe(true);
    }
  });

  it('refuses bad input at once with typed errors', async () => {
    const { producer } = setup(1);
    await expect(producer.put({ partitionKey: '', data: 'x' })).rejects.toMatchObject({
      code: 'PARTITION_KEY_EMPTY',
    });
    await expect(producer.put({ partitionKey: 'x'.repeat(257), data: 'x' })).rejects.toBeInstanceOf(
      InvalidRecordError,
    );
    await expect(
      producer.put({ partitionKey: 'k', data: 42 as unknown as string }),
    ).rejects.toMatchObject({ code: 'DATA_NOT_BYTES' });
    await expect(
      producer.put({ partitionKey: 'k', data: 'x', explicitHashKey: '2'.repeat(40) }),
    ).rejects.toMatchObject({ code: 'EXPLICIT_HASH_KEY_INVALID' });
    await expect(
      producer.put({ partitionKey: 'k', data: Buffer.alloc(1024 * 1024) }),
    ).rejects.toBeInstanceOf(RecordTooLargeError);
    expect(ctx.fake.stats.calls.PutRecords ?? 0).toBe(0);
  });

  it('refuses bad configuration in the constructor', () => {
    const client = ctx.fake.client();
    expect(() => new Producer({ kinesisClient: client } as ProducerOptions)).toThrow(ConfigError);
    expect(() => new Producer({ streamName: 'bad name!', kinesisClient: client })).toThrow(
      ConfigError,
    );
    expect(() => new Producer({ streamName: 's', kinesisClient: client, rateLimit: 0 })).toThrow(
      /rateLimit/,
    );
    expect(
      () => new Producer({ streamName: 's', kinesisClient: client, collectionMaxCount: 501 }),
    ).toThrow(/collectionMaxCount/);
    expect(
      () =>
        new Producer({ streamName: 's', kinesisClient: client, maxRecordBytes: 11 * 1024 * 1024 }),
    ).toThrow(ConfigError);
    expect(
      () =>
        new Producer({
          streamName: 's',
          kinesisClient: client,
          compression: { codec: 'lz4' as 'gzip' },
        }),
    ).toThrow(ConfigError);
  });

  it('rejects puts to a stream that does not exist', async () => {
    const producer = new Producer({ streamName: 'nope', kinesisClient: ctx.fake.client() });
    ctx.closeAfterTest(producer);
    await expect(producer.put({ partitionKey: 'k', data: 'x' })).rejects.toMatchObject({
      name: 'KinesisRejectedError',
      serviceCode: 'ResourceNotFoundException',
    });
  });

  it('waits for buffer room when full, honours an abort, and drains when the backend returns', async () => {
    const { producer } = setup(1, { maxBufferedRecords: 10, aggregation: false });
    await producer.start();
    const stall = ctx.fake.inject({ operation: 'PutRecords', kind: 'stall' });
    const first = Array.from({ length: 10 }, (_, i) =>
      producer.put({ partitionKey: 'k', data: `${i}` }),
    );
    const eleventh = producer.put({ partitionKey: 'k', data: '10' });
    const controller = new AbortController();
    const aborted = producer.put(
      { partitionKey: 'k', data: 'aborted' },
      { signal: controller.signal },
    );
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(PutAbortedError);
    // The eleventh waits outside: not taken in (recordsPut counts records taken in), no room used.
    expect(producer.stats()).toMatchObject({ bufferedRecords: 10, recordsPut: 10 });
    stall.remove();
    ctx.fake.release();
    await Promise.all(first);
    await expect(eleventh).resolves.toMatchObject({ shardId: 'shardId-000000000000' });
    expect(producer.stats()).toMatchObject({ bufferedRecords: 0, recordsPut: 11 });
  });

  it('close drains every put made before it, those still waiting for buffer room included', async () => {
    const { streamName, producer } = setup(2, { maxBufferedRecords: 20 });
    await producer.start(); // so the puts past the 20th queue for room, not for the shard map
    const puts = Array.from({ length: 300 }, (_, i) =>
      producer.put({ partitionKey: `k${i}`, data: `w${i}` }),
    );
    await producer.close();
    const results = await Promise.all(puts);
    expect(results).toHaveLength(300);
    expect(stored(streamName).size).toBe(300);
    await expect(producer.put({ partitionKey: 'k', data: 'late' })).rejects.toBeInstanceOf(
      ProducerClosedError,
    );
  });

  it('flush waits for every record put before it', async () => {
    const { producer } = setup(2, { recordMaxBufferedTime: 60_000 });
    const outcomes: PutResult[] = [];
    const puts = Array.from({ length: 100 }, (_, i) =>
      producer.put({ partitionKey: `k${i}`, data: 'x' }).then((r) => void outcomes.push(r)),
    );
    await producer.flush();
    expect(outcomes).toHaveLength(100);
    await Promise.all(puts);
  });

  it('close gives every record an outcome: delivered, or failed as closed at the deadline', async () => {
    const { producer } = setup(1);
    await producer.start();
    ctx.fake.inject({ operation: 'PutRecords', kind: 'stall' });
    const pending = Array.from({ length: 20 }, (_, i) =>
      producer.put({ partitionKey: 'k', data: `${i}` }),
    );
    await producer.close({ timeoutMs: 200 });
    const settled = await Promise.allSettled(pending);
    expect(
      settled.every((s) => s.status === 'rejected' && s.reason instanceof ProducerClosedError),
    ).toBe(true);
    await expect(producer.put({ partitionKey: 'k', data: 'late' })).rejects.toBeInstanceOf(
      ProducerClosedError,
    );
    ctx.fake.release();
  });

  it('a Writable adapter delivers everything with backpressure', async () => {
    const { streamName, producer } = setup(2, { maxBufferedRecords: 50 });
    const writable = producer.writable();
    const { Readable } = await import('node:stream');
    const { pipeline } = await import('node:stream/promises');
    await pipeline(
      Readable.from(
        Array.from({ length: 1000 }, (_, i) => ({ partitionKey: `k${i % 7}`, data: `w${i}` })),
      ),
      writable,
    );
    const all = [...stored(streamName).values()].map((r) => r.data).sort();
    expect(all).toHaveLength(1000);
    expect(new Set(all).size).toBe(1000);
  });

  it('retries the throttles of a shard slower than the limiter assumes, and surfaces none', async () => {
    ctx.fake = await (async () => {
      await ctx.fake.close();
      return FakeKinesis.start({
        shardLimits: { recordsPerSecond: 50, bytesPerSecond: 1024 * 1024 },
      });
    })();
    const { streamName, producer } = setup(1, { aggregation: false, rateLimit: 100 });
    // 50 records/s shard limit in the fake, but our limiter assumes 1000/s: throttles are retried, never surfaced.
    const sent = await putEach(producer, 120);
    expect(sent).toHaveLength(120);
    expect(producer.stats().throttles).toBeGreaterThan(0);
    expect(producer.stats().recordsFailed).toBe(0);
    expect(stored(streamName).size).toBe(120);
  });
});

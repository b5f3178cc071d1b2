import { checkKeyOrder } from '@shardline/fake-kinesis';
import { describe, expect, it } from 'vitest';
import {
  KinesisRejectedError,
  type Producer,
  type ProducerOptions,
  type PutResult,
} from '../src/index';
import { useFakeStream } from './fake-stream';

const ctx = useFakeStream('o');

const KEYS = 40;
const RECORDS = 4_000;

/** Faults a busy stream sees: entry failures, whole-call throttles and 5xx, resets, slow calls, timeouts. */
function injectFaults(): void {
  const f = ctx.fake;
  f.inject({ operation: 'PutRecords', kind: 'partial', fraction: 0.2, probability: 0.5 });
  f.inject({
    operation: 'PutRecords',
    kind: 'partial',
    fraction: 0.1,
    code: 'InternalFailure',
    probability: 0.2,
  });
  f.inject({ operation: 'PutRecords', kind: 'throttle', probability: 0.1 });
  f.inject({ operation: 'PutRecords', kind: 'internal', probability: 0.05 });
  f.inject({ operation: 'PutRecords', kind: 'reset', probability: 0.03 });
  // Delays of 0–40 ms, so calls overtake each other, and a few past the request timeout.
  for (const latencyMs of [10, 20, 40])
    f.inject({ operation: 'PutRecords', kind: 'latency', latencyMs, probability: 0.15 });
  f.inject({ operation: 'PutRecords', kind: 'latency', latencyMs: 250, probability: 0.01 });
}

/**
 * Puts RECORDS records over KEYS keys in bursts (yielding between them, as a service's requests
 * arrive), splitting shard 0 halfway, and returns each outcome with its key and per-key index.
 */
async function putWithReshard(
  producer: Producer,
  streamName: string,
  reshard: 'split' | 'merge' = 'split',
) {
  const puts: Promise<{ key: string; index: number; result: PutResult }>[] = [];
  const counters = new Array<number>(KEYS).fill(0);
  for (let i = 0; i < RECORDS; i++) {
    const k = i % KEYS;
    const key = `key-${k}`;
    const index = counters[k]!++;
    puts.push(
      producer
        .put({ partitionKey: key, data: `${key}:${index}` })
        .then((result) => ({ key, index, result })),
    );
    if (i % 200 === 199) await new Promise((resolve) => setImmediate(resolve));
    if (i === RECORDS / 2) {
      if (reshard === 'split') ctx.fake.splitShard(streamName, 'shardId-000000000000');
      else ctx.fake.mergeShards(streamName, 'shardId-000000000000', 'shardId-000000000001');
    }
  }
  return Promise.all(puts);
}

/** The per-key order check over what a KCL would read from the stream. */
function keyOrder(streamName: string) {
  return checkKeyOrder(
    ctx.kclView(streamName).map((r) => {
      const [key, index] = r.data.split(':') as [string, string];
      expect(r.partitionKey).toBe(key);
      return { key, index: Number(index) };
    }),
  );
}

describe('per-key order (preserveKeyOrder, the default)', () => {
  for (const [label, options, reshard] of [
    // Small aggregates, so there are many calls for the faults to hit.
    ['aggregated: one aggregate per shard out at a time', { aggregationMaxCount: 25 }, 'split'],
    ['aggregated, shards merged mid-run', { aggregationMaxCount: 25 }, 'merge'],
    ['not aggregated: one record per key out at a time', { aggregation: false }, 'split'],
    [
      'lambda lanes: aggregates per (shard, lane), one per shard out at a time',
      { aggregationMaxCount: 25, lambdaLanes: 8 },
      'split',
    ],
    ['lambda lanes, shards merged mid-run', { aggregationMaxCount: 25, lambdaLanes: 8 }, 'merge'],
  ] as [string, Partial<ProducerOptions>, 'split' | 'merge'][]) {
    it(`${label}: in put order per key through faults and a ${reshard}; none missing, no duplicates`, async () => {
      const { streamName, producer } = ctx.setup(2, {
        ...options,
        requestTimeout: 200,
        retry: { minTimeout: 1, maxTimeout: 30 },
      });
      await producer.start();
      injectFaults();
      const sent = await putWithReshard(producer, streamName, reshard);
      ctx.fake.clearFaults();

      const order = keyOrder(streamName);
      expect(order.outOfOrder).toBe(0);
      // Nothing missing: every put succeeded, and is in the stream where its outcome says.
      const stored = ctx.stored(streamName);
      for (const s of sent) {
        const id = `${s.result.sequenceNumber}/${s.result.aggregated ? s.result.subSequenceNumber : 0}`;
        expect(stored.get(id)).toMatchObject({ partitionKey: s.key, data: `${s.key}:${s.index}` });
      }
      // Duplicates only of records whose request timed out or lost its connection after the
      // fake had written them (written, yet failed as far as the producer could tell).
      const ambiguous = new Set(
        sent
          .filter((s) =>
            s.result.attempts.some(
              (a) =>
                a.errorCode !== undefined &&
                !a.errorCode.endsWith('Exception') &&
                a.errorCode !== 'InternalFailure',
            ),
          )
          .map((s) => `${s.key}:${s.index}`),
      );
      for (const list of order.perKey.values()) expect(list).toHaveLength(RECORDS / KEYS);
      for (const d of order.duplicated) expect(ambiguous.has(`${d.key}:${d.index}`)).toBe(true);
      // The run did meet what it claims to: faults on the way, and records in the new shards.
      expect(sent.some((s) => s.result.attempts.length > 1)).toBe(true);
      const children = new Set(sent.slice(-KEYS).map((s) => s.result.shardId));
      expect(
        [...children].some((id) => id !== 'shardId-000000000000' && id !== 'shardId-000000000001'),
      ).toBe(true);
    });
  }

  it('the check finds reordering when ordering is turned off (preserveKeyOrder: false)', async () => {
    const { streamName, producer } = ctx.setup(2, {
      preserveKeyOrder: false,
      aggregation: false,
      requestTimeout: 200,
      retry: { minTimeout: 1, maxTimeout: 30 },
    });
    await producer.start();
    injectFaults();
    await putWithReshard(producer, streamName);
    ctx.fake.clearFaults();
    expect(keyOrder(streamName).outOfOrder).toBeGreaterThan(0);
  });

  it('a record that fails for good does not hold back its key: the next ones go on', async () => {
    const { streamName, producer } = ctx.setup(1, { aggregation: false });
    await producer.start();
    ctx.fake.inject({
      operation: 'PutRecords',
      kind: 'partial',
      fraction: 1,
      code: 'KMSAccessDeniedException',
      times: 1,
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => producer.put({ partitionKey: 'k', data: `k:${i}` })),
    );
    expect(outcomes[0]).toMatchObject({
      status: 'rejected',
      reason: { serviceCode: 'KMSAccessDeniedException' },
    });
    expect((outcomes[0] as PromiseRejectedResult).reason).toBeInstanceOf(KinesisRejectedError);
    expect(outcomes.slice(1).every((o) => o.status === 'fulfilled')).toBe(true);
    expect(ctx.kclView(streamName).map((r) => r.data)).toEqual(['k:1', 'k:2', 'k:3', 'k:4']);
  });
});

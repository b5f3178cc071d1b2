import { aggregate } from '@shardline/aggregation';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  kinesisRecordHandler,
  type KinesisEventRecord,
  type KinesisStreamEvent,
  type KinesisUserRecord,
} from '../src/lambda';

const ARN = 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders';
const SHARD = 'shardId-000000000000';

/** One shard's event of plain records, `keys[i]` being record i's partition key, data `r<i>`. */
function shardEvent(keys: string[]): { event: KinesisStreamEvent; seqs: string[] } {
  const seqs = keys.map((_, i) => (49_650_000_000_000_000_000n + BigInt(i) * 1000n).toString());
  const Records: KinesisEventRecord[] = keys.map((partitionKey, i) => ({
    kinesis: {
      partitionKey,
      sequenceNumber: seqs[i]!,
      data: Buffer.from(`r${i}`).toString('base64'),
      approximateArrivalTimestamp: 1_732_350_000,
    },
    eventID: `${SHARD}:${seqs[i]!}`,
    eventSourceARN: ARN,
  }));
  return { event: { Records }, seqs };
}

/** A Lambda context whose remaining time the test sets. */
function fakeContext(remainingMillis: number) {
  const ctx = { remainingMillis, getRemainingTimeInMillis: () => ctx.remainingMillis };
  return ctx;
}

interface Deferred {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * A handler whose every call waits until the test settles it, recording starts, the largest number
 * running at once and, per key, any overlap.
 */
function controlled() {
  const pending = new Map<string, Deferred>();
  const started: string[] = [];
  const runningKeys = new Set<string>();
  const state = { running: 0, maxRunning: 0, keyOverlaps: 0 };
  const handler = (r: KinesisUserRecord): Promise<void> => {
    const name = r.data.toString('utf8');
    started.push(name);
    state.running++;
    state.maxRunning = Math.max(state.maxRunning, state.running);
    if (runningKeys.has(r.partitionKey)) state.keyOverlaps++;
    runningKeys.add(r.partitionKey);
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        state.running--;
        runningKeys.delete(r.partitionKey);
      };
      pending.set(name, {
        resolve: () => {
          done();
          resolve();
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
    });
  };
  /** Settles record `name` and lets the adapter react (promise callbacks only, no timers). */
  const settle = async (name: string, err?: Error): Promise<void> => {
    const d = pending.get(name);
    if (!d) throw new Error(`${name} is not running`);
    pending.delete(name);
    if (err) d.reject(err);
    else d.resolve();
    await flush();
  };
  return { handler, started, state, settle, pending };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('kinesisRecordHandler maxConcurrency', () => {
  it('runs records of one key strictly one after another, in sequence order, while other keys overlap', async () => {
    const keys = ['A', 'B', 'A', 'C', 'A', 'B', 'D', 'A'];
    const { event } = shardEvent(keys);
    const c = controlled();
    const done = kinesisRecordHandler(c.handler, { maxConcurrency: 4 })(event, fakeContext(60_000));
    await flush();
    // r2 and r4 (key A) wait for r0; r5 (B) for r1; D's r6 overtakes them.
    expect(c.started).toEqual(['r0', 'r1', 'r3', 'r6']);
    // Finish in an order unlike the batch's; each key must still go in sequence order.
    for (const name of ['r6', 'r3', 'r1', 'r0', 'r5', 'r2', 'r4', 'r7']) await c.settle(name);
    expect(await done).toEqual({ batchItemFailures: [] });
    expect(c.state.keyOverlaps).toBe(0);
    const order = (key: string) =>
      c.started.filter((n) => keys[Number(n.slice(1))] === key).map((n) => Number(n.slice(1)));
    for (const key of ['A', 'B', 'C', 'D']) {
      const seen = order(key);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
    }
    expect(order('A')).toEqual([0, 2, 4, 7]);
    expect(c.started).toHaveLength(keys.length);
  });

  it('never runs more than maxConcurrency records at once, and starts the next as one finishes', async () => {
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const { event } = shardEvent(keys);
    const c = controlled();
    const done = kinesisRecordHandler(c.handler, { maxConcurrency: 3 })(event, fakeContext(60_000));
    await flush();
    expect(c.started).toEqual(['r0', 'r1', 'r2']);
    await c.settle('r1');
    expect(c.started).toEqual(['r0', 'r1', 'r2', 'r3']);
    while (c.pending.size > 0) await c.settle([...c.pending.keys()][0]!);
    expect(await done).toEqual({ batchItemFailures: [] });
    expect(c.state.maxRunning).toBe(3);
    expect(c.started).toHaveLength(10);
  });

  it('reports the lowest failed record even when it fails after a later one, and starts nothing once a failure is known', async () => {
    const { event, seqs } = shardEvent(['a', 'b', 'c', 'd', 'e', 'f']);
    const c = controlled();
    const done = kinesisRecordHandler(c.handler, { maxConcurrency: 3 })(event, fakeContext(60_000));
    await flush();
    expect(c.started).toEqual(['r0', 'r1', 'r2']);
    await c.settle('r2', new Error('r2 failed'));
    // A slot is free, but a failure is known: r3 must not start.
    expect(c.started).toEqual(['r0', 'r1', 'r2']);
    await c.settle('r0');
    expect(c.started).toEqual(['r0', 'r1', 'r2']);
    await c.settle('r1', new Error('r1 failed later, but comes first'));
    expect(await done).toEqual({ batchItemFailures: [{ itemIdentifier: seqs[1] }] });
    expect(c.started).toEqual(['r0', 'r1', 'r2']);
  });

  it('reports a record that was waiting for its key when it comes before the failed one', async () => {
    // r1 waits behind r0 (same key); r2 fails; r0 completes; r1 never ran, so it is reported.
    const { event, seqs } = shardEvent(['A', 'A', 'B', 'C']);
    const c = controlled();
    const done = kinesisRecordHandler(c.handler, { maxConcurrency: 2 })(event, fakeContext(60_000));
    await flush();
    expect(c.started).toEqual(['r0', 'r2']);
    await c.settle('r2', new Error('r2 failed'));
    await c.settle('r0');
    expect(await done).toEqual({ batchItemFailures: [{ itemIdentifier: seqs[1] }] });
    expect(c.started).toEqual(['r0', 'r2']);
  });

  it('keeps sub-sequence order for one key inside an aggregate, and reports the aggregate for a failed user record', async () => {
    const agg = aggregate(
      ['X', 'Y', 'X', 'Z'].map((partitionKey, i) => ({
        partitionKey,
        data: Buffer.from(`u${i}`),
      })),
    );
    expect(agg).toHaveLength(1);
    const { event, seqs } = shardEvent(['a', 'b']);
    event.Records[0]!.kinesis.data = Buffer.from(agg[0]!.data).toString('base64');
    const c = controlled();
    const done = kinesisRecordHandler(c.handler, { maxConcurrency: 8 })(event, fakeContext(60_000));
    await flush();
    // u2 shares u0's key: it waits; the second Kinesis record (r1) overtakes it.
    expect(c.started).toEqual(['u0', 'u1', 'u3', 'r1']);
    await c.settle('r1');
    await c.settle('u0');
    expect(c.started).toEqual(['u0', 'u1', 'u3', 'r1', 'u2']);
    await c.settle('u2');
    await c.settle('u3');
    await c.settle('u1', new Error('u1 failed'));
    expect(await done).toEqual({ batchItemFailures: [{ itemIdentifier: seqs[0] }] });
    expect(c.state.keyOverlaps).toBe(0);
  });

  it('rejects a maxConcurrency that is not a positive integer', () => {
    for (const maxConcurrency of [0, -1, 1.5, Number.NaN]) {
      expect(() => kinesisRecordHandler(() => {}, { maxConcurrency })).toThrow(ConfigError);
    }
  });
});

describe('kinesisRecordHandler remaining-time guard', () => {
  it('starts nothing under the threshold, awaits the running records and reports from the first unstarted one', async () => {
    const { event, seqs } = shardEvent(['a', 'b', 'c', 'd', 'e']);
    const c = controlled();
    const ctx = fakeContext(60_000);
    const done = kinesisRecordHandler(c.handler, {
      maxConcurrency: 2,
      minRemainingTimeMillis: 1_000,
    })(event, ctx);
    await flush();
    expect(c.started).toEqual(['r0', 'r1']);
    ctx.remainingMillis = 999;
    await c.settle('r0');
    expect(c.started).toEqual(['r0', 'r1']);
    let finished = false;
    void done.then(() => (finished = true));
    await flush();
    expect(finished).toBe(false); // r1 is still running: it is awaited
    await c.settle('r1');
    expect(await done).toEqual({ batchItemFailures: [{ itemIdentifier: seqs[2] }] });
    expect(c.started).toEqual(['r0', 'r1']);
  });

  it('applies with one record at a time, and reports the first record when time is short from the start', async () => {
    const { event, seqs } = shardEvent(['a', 'b', 'c']);
    const seen: string[] = [];
    const ctx = fakeContext(60_000);
    const handler = kinesisRecordHandler(
      (r) => {
        seen.push(r.data.toString('utf8'));
        if (seen.length === 2) ctx.remainingMillis = 4_000;
      },
      { minRemainingTimeMillis: 5_000 },
    );
    expect(await handler(event, ctx)).toEqual({ batchItemFailures: [{ itemIdentifier: seqs[2] }] });
    expect(seen).toEqual(['r0', 'r1']);
    seen.length = 0;
    expect(await handler(event, fakeContext(10))).toEqual({
      batchItemFailures: [{ itemIdentifier: seqs[0] }],
    });
    expect(seen).toEqual([]);
  });

  it('defaults to a tenth of the starting remaining time, at most 5 s; 0 or a context without the clock turns it off', async () => {
    const { event, seqs } = shardEvent(['a', 'b']);
    const seen: string[] = [];
    const ctx = fakeContext(3_000); // Lambda's default timeout: guard 300 ms
    const handler = kinesisRecordHandler((r) => {
      seen.push(r.data.toString('utf8'));
      ctx.remainingMillis = 299;
    });
    expect(await handler(event, ctx)).toEqual({ batchItemFailures: [{ itemIdentifier: seqs[1] }] });
    ctx.remainingMillis = 900_000; // 15 min: the guard is capped at 5 s
    const capped = kinesisRecordHandler(() => {
      ctx.remainingMillis = 5_001;
    });
    expect(await capped(event, ctx)).toEqual({ batchItemFailures: [] });
    ctx.remainingMillis = 900_000;
    const capped2 = kinesisRecordHandler(() => {
      ctx.remainingMillis = 4_999;
    });
    expect(await capped2(event, ctx)).toEqual({ batchItemFailures: [{ itemIdentifier: seqs[1] }] });
    const off = kinesisRecordHandler(() => {}, { minRemainingTimeMillis: 0 });
    expect(await off(event, fakeContext(0))).toEqual({ batchItemFailures: [] });
    expect(await kinesisRecordHandler(() => {})(event, {})).toEqual({ batchItemFailures: [] });
    expect(() => kinesisRecordHandler(() => {}, { minRemainingTimeMillis: -1 })).toThrow(
      ConfigError,
    );
  });
});

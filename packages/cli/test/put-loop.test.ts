import type { Producer, ProducerRecord } from '@shardline/producer';
import { describe, expect, it } from 'vitest';
import { putAll } from '../src/put-loop';

/** A producer stand-in whose puts finish when the test says. */
function fakeProducer() {
  const pending: { record: ProducerRecord; resolve: () => void; reject: (e: unknown) => void }[] =
    [];
  const producer = {
    put(record: ProducerRecord) {
      return new Promise<unknown>((resolve, reject) =>
        pending.push({ record, resolve: () => resolve({}), reject }),
      );
    },
  } as unknown as Producer;
  return { producer, pending };
}

function* records(n: number, taken: { count: number }): Generator<ProducerRecord> {
  for (let i = 0; i < n; i++) {
    taken.count++;
    yield { partitionKey: `k${i}`, data: `data-${i}` };
  }
}

describe('putAll', () => {
  it('waits for every outcome and counts successes, bytes and failures by code', async () => {
    const { producer, pending } = fakeProducer();
    const done = putAll(producer, records(4, { count: 0 }), {
      signal: new AbortController().signal,
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(pending).toHaveLength(4);
    pending[0]!.resolve();
    pending[1]!.resolve();
    pending[2]!.reject(Object.assign(new Error('x'), { code: 'RECORD_EXPIRED' }));
    pending[3]!.reject(new TypeError('y'));
    const { counts, readError } = await done;
    expect(readError).toBeUndefined();
    expect(counts).toEqual({
      offered: 4,
      sent: 2,
      failed: 2,
      bytes: 12,
      failuresByCode: { RECORD_EXPIRED: 1, TypeError: 1 },
    });
  });

  it('holds at most maxInFlight unfinished records', async () => {
    const { producer, pending } = fakeProducer();
    const taken = { count: 0 };
    const done = putAll(producer, records(10, taken), {
      signal: new AbortController().signal,
      maxInFlight: 3,
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(pending).toHaveLength(3);
    expect(taken.count).toBe(3);
    pending[0]!.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(pending).toHaveLength(4);
    for (let i = 1; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 0));
      pending[i]!.resolve();
    }
    expect((await done).counts.sent).toBe(10);
  });

  it('on abort stops taking records, and every record taken from the source was put', async () => {
    const { producer, pending } = fakeProducer();
    const taken = { count: 0 };
    const controller = new AbortController();
    const done = putAll(producer, records(1000, taken), {
      signal: controller.signal,
      maxInFlight: 5,
    });
    await new Promise((r) => setTimeout(r, 0));
    controller.abort();
    for (const p of pending) p.resolve();
    const { counts } = await done;
    expect(counts.offered).toBe(5);
    expect(taken.count).toBe(counts.offered);
    expect(counts.sent).toBe(5);
  });

  it('a source that throws ends the loop; its error comes back beside the counts', async () => {
    const { producer, pending } = fakeProducer();
    async function* failing(): AsyncGenerator<ProducerRecord> {
      yield { partitionKey: 'a', data: 'x' };
      throw new Error('bad line 2');
    }
    const done = putAll(producer, failing(), { signal: new AbortController().signal });
    await new Promise((r) => setTimeout(r, 0));
    pending[0]!.resolve();
    const { counts, readError } = await done;
    expect(counts.sent).toBe(1);
    expect((readError as Error).message).toBe('bad line 2');
  });
});

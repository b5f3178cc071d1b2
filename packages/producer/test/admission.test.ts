import { describe, expect, it } from 'vitest';
import { Admission } from '../src/admission';
import { BufferBudget } from '../src/backpressure';
import { ProducerClosedError, PutAbortedError } from '../src/errors';
import type { PutOutcome } from '../src/outcome';
import type { PendingRecord } from '../src/user-record';

function admission(maxRecords = 2) {
  const taken: PendingRecord[] = [];
  let started = 0;
  const budget = new BufferBudget(maxRecords, 1_000_000);
  const a = new Admission(
    { recordCompression: undefined, maxRecordBytes: 100, recordTtl: 1_000 },
    budget,
    {
      start: () => (started++, Promise.resolve()),
      takeIn: (record) => taken.push(record),
      clock: () => 5,
    },
  );
  const outcomes: unknown[] = [];
  const put = (record: unknown, signal?: AbortSignal, whileClosing = false) =>
    a.admit(
      record as { partitionKey: string; data: string },
      signal,
      whileClosing,
      (r) => outcomes.push(r),
      (e) => outcomes.push(e),
    );
  return { a, taken, budget, outcomes, put, started: () => started };
}

describe('Admission', () => {
  it('takes a valid record in at once when the map is loaded and there is room, with its deadline', () => {
    const { a, taken, put } = admission();
    a.mapReady = true;
    expect(put({ partitionKey: 'k', data: 'x' })).toBeUndefined();
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({
      partitionKey: 'k',
      acceptedAt: 5,
      deadline: 1_005,
      bufferedBytes: 2,
    });
  });

  it('refuses bad input with typed errors, taking nothing in', () => {
    const { a, taken, outcomes, put } = admission();
    a.mapReady = true;
    put({ partitionKey: '', data: 'x' });
    put({ partitionKey: 'k', data: 'x'.repeat(100) });
    put(null);
    expect(
      outcomes.map((e) => (e as { code?: string; name: string }).code ?? (e as Error).name),
    ).toEqual(['PARTITION_KEY_EMPTY', 'RECORD_TOO_LARGE', 'TypeError']);
    expect(taken).toEqual([]);
  });

  it('waits for the shard map and for room, in order, and honours an abort', async () => {
    const { a, taken, budget, outcomes, put, started } = admission(1);
    const first = put({ partitionKey: 'k', data: '1' });
    expect(first).toBeInstanceOf(Promise); // no map yet
    await first;
    expect(started()).toBe(1);
    a.mapReady = true;
    const controller = new AbortController();
    const second = put({ partitionKey: 'k', data: '2' });
    const aborted = put({ partitionKey: 'k', data: '3' }, controller.signal);
    expect(a.waitingCount).toBe(2);
    controller.abort();
    await aborted;
    expect(outcomes[0]).toBeInstanceOf(PutAbortedError);
    budget.release(taken[0]!.bufferedBytes);
    await second;
    expect(taken.map((r) => Buffer.from(r.data).toString())).toEqual(['1', '2']);
    expect(a.waitingCount).toBe(0);
  });

  it('once closing, refuses new records but lets a call made before close finish; once closed, nothing', () => {
    const { a, taken, outcomes, put } = admission(10);
    a.mapReady = true;
    a.closing = true;
    put({ partitionKey: 'k', data: 'new' });
    put({ partitionKey: 'k', data: 'rest-of-a-call' }, undefined, true);
    a.closed = true;
    put({ partitionKey: 'k', data: 'late' }, undefined, true);
    expect(taken.map((r) => Buffer.from(r.data).toString())).toEqual(['rest-of-a-call']);
    expect(outcomes.every((e) => e instanceof ProducerClosedError)).toBe(true);
    expect(outcomes).toHaveLength(2);
  });

  it('a putMany record reports to its batch entry', () => {
    const { a } = admission();
    a.mapReady = true;
    const settled: [number, PutOutcome][] = [];
    a.admit(
      { partitionKey: '', data: 'x' },
      undefined,
      false,
      undefined,
      undefined,
      { settle: (i, o) => settled.push([i, o]) },
      7,
    );
    expect(settled).toMatchObject([
      [7, { status: 'rejected', reason: { code: 'PARTITION_KEY_EMPTY' } }],
    ]);
  });
});

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

describe('Admission queue of held puts', () => {
  function harness(options: { maxRecords?: number; start?: () => Promise<void> } = {}) {
    const taken: PendingRecord[] = [];
    let now = 5;
    let started = 0;
    const budget = new BufferBudget(options.maxRecords ?? 100, 1_000_000);
    const a = new Admission(
      { recordCompression: undefined, maxRecordBytes: 100, recordTtl: 1_000 },
      budget,
      {
        start: () => (started++, options.start ? options.start() : Promise.resolve()),
        takeIn: (record) => taken.push(record),
        clock: () => now,
      },
    );
    const outcomes: unknown[] = [];
    const put = (data: string) =>
      a.put(
        { partitionKey: 'k', data },
        undefined,
        (r) => outcomes.push(r),
        (e) => outcomes.push(e),
      );
    const batch = (size: number) => {
      const settled: PutOutcome[] = new Array<PutOutcome>(size);
      return { settled, settle: (i: number, o: PutOutcome) => (settled[i] = o) };
    };
    const data = (records: PendingRecord[]) => records.map((r) => Buffer.from(r.data).toString());
    return {
      a,
      taken,
      budget,
      outcomes,
      put,
      batch,
      data,
      started: () => started,
      setNow: (t: number) => (now = t),
    };
  }

  it('holds puts and putMany calls made before the shard map, then takes them in in order, their TTL from then', async () => {
    let loaded!: () => void;
    const h = harness({ start: () => new Promise((resolve) => (loaded = resolve)) });
    h.put('p1');
    const b = h.batch(2);
    h.a.putMany(
      [
        { partitionKey: 'k', data: 'm1' },
        { partitionKey: 'k', data: 'm2' },
      ],
      b,
      undefined,
    );
    h.put('p2');
    expect(h.taken).toEqual([]);
    expect(h.a.waitingCount).toBe(3); // the putMany call's records wait as one entry
    expect(h.started()).toBe(1); // one map load for all of them
    h.setNow(40);
    loaded();
    await Promise.resolve();
    await Promise.resolve();
    expect(h.data(h.taken)).toEqual(['p1', 'm1', 'm2', 'p2']);
    expect(h.taken.every((r) => r.acceptedAt === 40 && r.deadline === 1_040)).toBe(true);
    expect(h.a.waitingCount).toBe(0);
  });

  it('a failed map load fails every put held for it; the next put tries again', async () => {
    let calls = 0;
    const h = harness({
      start: () =>
        ++calls === 1 ? Promise.reject(new Error('no such stream')) : Promise.resolve(),
    });
    h.put('a');
    const b = h.batch(2);
    h.a.putMany(
      [
        { partitionKey: 'k', data: 'b' },
        { partitionKey: 'k', data: 'c' },
      ],
      b,
      undefined,
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.outcomes.map((e) => (e as Error).message)).toEqual(['no such stream']);
    expect(b.settled.map((o) => o.status === 'rejected' && o.reason.message)).toEqual([
      'no such stream',
      'no such stream',
    ]);
    expect(h.a.waitingCount).toBe(0);
    h.put('d');
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.started()).toBe(2);
    expect(h.data(h.taken)).toEqual(['d']);
  });

  it("a putMany call's rest waits for room as one entry; an abort fails only what still waits", () => {
    const h = harness({ maxRecords: 2 });
    h.a.mapReady = true;
    const controller = new AbortController();
    const b = h.batch(5);
    h.a.putMany(
      Array.from({ length: 5 }, (_, i) => ({ partitionKey: 'k', data: `r${i}` })),
      b,
      controller.signal,
    );
    expect(h.data(h.taken)).toEqual(['r0', 'r1']);
    expect(h.a.waitingCount).toBe(1);
    h.budget.release(h.taken[0]!.bufferedBytes);
    expect(h.data(h.taken)).toEqual(['r0', 'r1', 'r2']);
    controller.abort();
    expect(b.settled.slice(3).map((o) => o.status === 'rejected' && o.reason)).toEqual([
      expect.any(PutAbortedError),
      expect.any(PutAbortedError),
    ]);
    expect(b.settled[2]).toBeUndefined(); // taken in: its outcome comes from delivery
    expect(h.a.waitingCount).toBe(0);
    h.budget.release(h.taken[1]!.bufferedBytes);
    expect(h.taken).toHaveLength(3);
  });

  it('takenIn resolves once every put held before it is in, not before', async () => {
    const h = harness({ maxRecords: 1 });
    h.a.mapReady = true;
    h.put('in');
    h.put('w1');
    h.put('w2');
    expect(h.a.takenIn).toBeDefined();
    let done = false;
    void h.a.takenIn()!.then(() => (done = true));
    h.put('later'); // held after the call: not waited for
    h.budget.release(h.taken[0]!.bufferedBytes);
    await Promise.resolve();
    expect(done).toBe(false);
    h.budget.release(h.taken[1]!.bufferedBytes);
    await Promise.resolve();
    expect(done).toBe(true);
    expect(h.data(h.taken)).toEqual(['in', 'w1', 'w2']);
  });

  it('takes a long held queue in slices, letting I/O run between them, in order and completely', async () => {
    let loaded!: () => void;
    const h = harness({
      maxRecords: 100_000,
      start: () => new Promise((resolve) => (loaded = resolve)),
    });
    for (let i = 0; i < 20_000; i++) h.put(`r${i}`);
    loaded();
    await Promise.resolve();
    await Promise.resolve();
    const firstSlice = h.taken.length;
    expect(firstSlice).toBeGreaterThan(0);
    expect(firstSlice).toBeLessThan(20_000);
    while (h.a.waitingCount > 0) await new Promise((resolve) => setImmediate(resolve));
    expect(h.taken).toHaveLength(20_000);
    expect(h.taken.every((r, i) => Buffer.from(r.data).toString() === `r${i}`)).toBe(true);
  });

  it('a putMany call made while closing is refused, even behind held puts made before close', () => {
    const h = harness({ maxRecords: 1 });
    h.a.mapReady = true;
    h.put('in');
    h.put('before-close');
    h.a.closing = true;
    const b = h.batch(2);
    h.a.putMany(
      [
        { partitionKey: 'k', data: 'late-1' },
        { partitionKey: 'k', data: 'late-2' },
      ],
      b,
      undefined,
    );
    h.budget.release(h.taken[0]!.bufferedBytes);
    h.budget.release(h.taken[0]!.bufferedBytes);
    expect(h.data(h.taken)).toEqual(['in', 'before-close']);
    expect(b.settled.map((o) => o.status === 'rejected' && o.reason)).toEqual([
      expect.any(ProducerClosedError),
      expect.any(ProducerClosedError),
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { LeaseLostError, RetrievalError } from '../src/errors';
import { StallError } from '../src/lifecycle/context';
import { runShard } from '../src/lifecycle/driver';
import { ReadAheadReader } from '../src/retrieval/polling/read-ahead';
import { ReadAheadBuffer, type ReadAheadLimits } from '../src/retrieval/polling/read-ahead-buffer';
import type { RetrievedBatch, Retrieval, ShardReader, StartPosition } from '../src/retrieval/types';
import { plain, scriptedShard, settle, SHARD } from './support/scripted';

// Read-ahead on scripted readers: no server, no real time. What a reader read ahead is held in a
// bounded buffer, handed out by next() in read order, and dropped by close().

const MANY = 1_000_000;
// Batches stay bounded in every test: a scripted reader answers at once, so an unbounded loop
// would never yield to the timers.
const limits = (l: Partial<ReadAheadLimits>): ReadAheadLimits => ({
  maxBatches: 10,
  maxRecords: MANY,
  maxBytes: MANY,
  ...l,
});

/** A batch of `n` records of `size` bytes each, named `name-i`. */
function batch(name: string, n = 1, size = 10): RetrievedBatch {
  const records = Array.from({ length: n }, (_, i) => {
    const r = plain(`${name}-${i}`.padEnd(size, '.'));
    return { ...r, data: Buffer.from(`${name}-${i}`.padEnd(size, '.').slice(0, size)) };
  });
  return { records, shardEnded: false };
}

const texts = (b: RetrievedBatch) => b.records.map((r) => Buffer.from(r.data).toString());
/** The name of the batch a record came from. */
const first = (b: RetrievedBatch) => texts(b)[0]!.split('-')[0]!;

/**
 * The wrapped reader: answers read `n` (0-based) with `answer(n)` — a batch at once, an error, or
 * 'hang' (a read that returns only when aborted, or when `release(n, batch)` answers it). Counts
 * reads, and what the read-ahead reader held when each began.
 */
function innerReader(answer: (n: number) => RetrievedBatch | Error | 'hang') {
  const pending = new Map<number, (b: RetrievedBatch) => void>();
  const state = {
    calls: 0,
    closed: false,
    aborted: 0,
    heldAtStart: [] as { batches: number; records: number; bytes: number }[],
    outer: undefined as ReadAheadReader | undefined,
    release(n: number, b: RetrievedBatch) {
      pending.get(n)?.(b);
    },
  };
  const reader: ShardReader = {
    shardId: SHARD,
    async close() {
      state.closed = true;
    },
    next(signal) {
      const n = state.calls++;
      if (state.outer) state.heldAtStart.push(state.outer.held);
      const a = answer(n);
      if (a instanceof Error) return Promise.reject(a);
      if (a !== 'hang') return Promise.resolve(a);
      return new Promise((resolve, reject) => {
        pending.set(n, resolve);
        signal.addEventListener(
          'abort',
          () => {
            state.aborted++;
            reject(signal.reason);
          },
          { once: true },
        );
      });
    },
  };
  return { reader, state };
}

function readAhead(answer: (n: number) => RetrievedBatch | Error | 'hang', l: ReadAheadLimits) {
  const { reader, state } = innerReader(answer);
  const outer = new ReadAheadReader(reader, l);
  state.outer = outer;
  return { outer, state };
}

const never = new AbortController().signal;

describe('ReadAheadBuffer (bookkeeping)', () => {
  it('reads while every count is under its bound, and always when it holds nothing', () => {
    const byBatches = new ReadAheadBuffer(limits({ maxBatches: 2 }));
    byBatches.push(batch('a'));
    expect(byBatches.wantsMore).toBe(true);
    byBatches.push(batch('b'));
    expect(byBatches.wantsMore).toBe(false);
    byBatches.take();
    expect(byBatches.wantsMore).toBe(true);

    const byRecords = new ReadAheadBuffer(limits({ maxRecords: 10 }));
    byRecords.push(batch('a', 4));
    byRecords.push(batch('b', 4));
    expect(byRecords.wantsMore).toBe(true); // 8 < 10
    byRecords.push(batch('c', 4));
    expect([byRecords.records, byRecords.wantsMore]).toEqual([12, false]);

    const byBytes = new ReadAheadBuffer(limits({ maxBytes: 50 }));
    byBytes.push(batch('a', 4, 10));
    expect([byBytes.bytes, byBytes.wantsMore]).toEqual([40, true]);
    byBytes.push(batch('b', 1, 10));
    expect([byBytes.bytes, byBytes.wantsMore]).toEqual([50, false]);

    // A response larger than every bound is still read when nothing is held (the KCL's rule).
    const tiny = new ReadAheadBuffer(limits({ maxRecords: 1, maxBytes: 1 }));
    expect(tiny.wantsMore).toBe(true);
    tiny.push(batch('big', 5));
    expect(tiny.wantsMore).toBe(false);
    tiny.take();
    expect([tiny.records, tiny.bytes, tiny.wantsMore]).toEqual([0, 0, true]);
  });

  it('stops at a shard end; an error comes after the batches before it, then reading may go on', () => {
    const ended = new ReadAheadBuffer(limits({}));
    ended.push({ ...batch('last'), shardEnded: true });
    expect([ended.ended, ended.wantsMore]).toEqual([true, false]);

    const failing = new ReadAheadBuffer(limits({}));
    const error = new Error('boom');
    failing.push(batch('a'));
    failing.fail(error);
    expect(failing.wantsMore).toBe(false);
    expect(failing.take()).toEqual({ batch: expect.objectContaining({ shardEnded: false }) });
    expect(failing.wantsMore).toBe(false);
    expect(failing.take()).toEqual({ error });
    expect(failing.wantsMore).toBe(true);

    const cleared = new ReadAheadBuffer(limits({}));
    cleared.push(batch('a', 3));
    cleared.clear();
    expect([cleared.ready, cleared.batches, cleared.records, cleared.wantsMore]).toEqual([
      false,
      0,
      0,
      false,
    ]);
  });
});

describe('ReadAheadReader', () => {
  it('reads the next batch while the consumer still holds the last one, up to maxBatches', async () => {
    const { outer, state } = readAhead((n) => batch(`b${n}`), limits({ maxBatches: 3 }));
    expect(first(await outer.next(never))).toBe('b0');
    await settle();
    // b0 is with the consumer; b1..b3 were read meanwhile, and nothing more: the read loop has
    // stopped at the bound, and only a next() starts it again.
    expect(state.calls).toBe(4);
    expect(outer.held.batches).toBe(3);
    expect(outer.readingAhead).toBe(false);
    expect(state.heldAtStart.every((h) => h.batches < 3)).toBe(true);
    expect(first(await outer.next(never))).toBe('b1');
    await settle();
    expect([state.calls, outer.held.batches]).toEqual([5, 3]);
  });

  it.each([
    {
      bound: 'records' as const,
      answer: (n: number) => batch(`b${n}`, 4),
      set: { maxRecords: 10 },
      max: 10,
      held: { batches: 3, records: 12, bytes: 120 },
    },
    {
      bound: 'bytes' as const,
      answer: (n: number) => batch(`b${n}`, 2, 100),
      set: { maxBytes: 450 },
      max: 450,
      held: { batches: 3, records: 6, bytes: 600 },
    },
  ])(
    'holds $bound under its bound plus at most one response',
    async ({ bound, answer, set, max, held }) => {
      const { outer, state } = readAhead(answer, limits({ maxBatches: MANY, ...set }));
      await outer.next(never);
      await settle();
      expect(state.heldAtStart.every((h) => h[bound] < max)).toBe(true);
      expect(outer.held).toEqual(held);
      expect(state.calls).toBe(4);
    },
  );

  it('hands batches out in read order', async () => {
    const { outer } = readAhead((n) => batch(`b${n}`), limits({ maxBatches: 2 }));
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      seen.push(first(await outer.next(never)));
      if (i % 3 === 0) await settle(); // let the buffer fill now and then
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}`));
  });

  it('close drops what is held, aborts the read in flight, and reads nothing more', async () => {
    const { outer, state } = readAhead(
      (n) => (n < 3 ? batch(`b${n}`) : 'hang'),
      limits({ maxBatches: 5 }),
    );
    await outer.next(never);
    await settle();
    expect([outer.held.batches, state.calls]).toEqual([2, 4]); // b1, b2 held; read 3 in flight
    expect(outer.readingAhead).toBe(true);
    await outer.close();
    expect([outer.held.batches, state.aborted, state.closed]).toEqual([0, 1, true]);
    state.release(3, batch('late')); // an answer after close is not kept
    await settle();
    // The aborted read ended the loop, and a closed reader never starts it again.
    expect([outer.held.batches, state.calls, outer.readingAhead]).toEqual([0, 4, false]);
    await expect(outer.next(never)).rejects.toMatchObject({ serviceCode: 'ReaderClosed' });
  });

  it('an error met reading ahead comes after the batches read before it, then reading goes on', async () => {
    const error = new RetrievalError(SHARD, 'AccessDeniedException', 'no');
    const { outer, state } = readAhead(
      (n) => (n === 3 ? error : batch(`b${n}`)),
      limits({ maxBatches: 5 }),
    );
    expect(first(await outer.next(never))).toBe('b0');
    await settle();
    expect(state.calls).toBe(4); // b1, b2, then the error: nothing read past it
    expect(first(await outer.next(never))).toBe('b1');
    expect(first(await outer.next(never))).toBe('b2');
    await expect(outer.next(never)).rejects.toBe(error);
    expect(first(await outer.next(never))).toBe('b4');
  });

  it('stops at the shard end and reports it with its children', async () => {
    const end: RetrievedBatch = {
      ...batch('last'),
      shardEnded: true,
      childShards: [{ shardId: 'child', parentShards: [SHARD] }],
    };
    const { outer, state } = readAhead((n) => (n === 1 ? end : batch(`b${n}`)), limits({}));
    expect(first(await outer.next(never))).toBe('b0');
    await settle();
    expect(state.calls).toBe(2);
    expect(await outer.next(never)).toBe(end);
    expect(await outer.next(never)).toEqual({ records: [], shardEnded: true });
    expect(state.calls).toBe(2);
  });

  it('a consumer that stops waiting (a stall) gets its abort reason; the read in flight goes on', async () => {
    const { outer, state } = readAhead((n) => (n === 0 ? 'hang' : batch(`b${n}`)), limits({}));
    const wait = new AbortController();
    const pending = outer.next(wait.signal);
    await settle();
    const stall = new StallError('stalled');
    wait.abort(stall);
    await expect(pending).rejects.toBe(stall);
    expect(state.aborted).toBe(0);
    state.release(0, batch('b0'));
    expect(first(await outer.next(never))).toBe('b0');
  });
});

/** A retrieval whose readers read ahead of scripted inner readers (one script per reader). */
function readAheadRetrieval(
  l: ReadAheadLimits,
  ...answers: ((n: number) => RetrievedBatch | Error | 'hang')[]
): Retrieval & { positions: StartPosition[]; inner: ReturnType<typeof innerReader>['state'][] } {
  const positions: StartPosition[] = [];
  const inner: ReturnType<typeof innerReader>['state'][] = [];
  return {
    mode: 'polling',
    positions,
    inner,
    start: async () => {},
    stop: async () => {},
    createReader(_shardId, position) {
      positions.push(position);
      const { reader, state } = innerReader(answers[positions.length - 1] ?? (() => 'hang'));
      const outer = new ReadAheadReader(reader, l);
      state.outer = outer;
      inner.push(state);
      return outer;
    },
  };
}

/** A processor that blocks on its first batch until `release()`. */
function blockingProcessor(batches: string[][], lastSequence: string[] = []) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const started = new Promise<void>((resolve) => (entered = resolve));
  return {
    release: () => release(),
    started,
    processor: {
      async processRecords(b: {
        records: readonly { data: Uint8Array; sequenceNumber: string }[];
      }) {
        batches.push(b.records.map((r) => Buffer.from(r.data).toString()));
        lastSequence.push(b.records.at(-1)!.sequenceNumber);
        if (batches.length === 1) {
          entered();
          await gate;
        }
      },
    },
  };
}

/**
 * A shard reading ahead by `maxBatches` of batches of `records` records, run until its processor
 * is held on the first batch and the reader has had its chance to fill up behind it.
 */
async function heldShard(maxBatches: number, records: number) {
  const retrieval = readAheadRetrieval(limits({ maxBatches }), (n) => batch(`b${n}`, records));
  const batches: string[][] = [];
  const lastSequence: string[] = [];
  const p = blockingProcessor(batches, lastSequence);
  const s = scriptedShard({ retrieval, state: 'initializing', deps: { processor: p.processor } });
  const done = runShard(s.ctx, Promise.resolve());
  await p.started;
  await settle();
  return { retrieval, batches, lastSequence, release: p.release, s, done };
}

describe('read-ahead in the shard lifecycle', () => {
  it('a lost lease drops the batches read ahead: only what was delivered, no checkpoint after', async () => {
    const { retrieval, batches, release, s, done } = await heldShard(3, 2);
    expect(retrieval.inner[0]!.outer!.held.batches).toBe(3);
    s.ctx.loseLease();
    release();
    await done;
    expect(batches.map((b) => b[0]!.replace(/\.+$/, ''))).toEqual(['b0-0']);
    expect(s.written).toEqual([]);
    expect(retrieval.inner[0]!.closed).toBe(true);
    expect(retrieval.inner[0]!.outer!.held.batches).toBe(0);
    expect(s.ctx.health.recordsProcessed).toBe(2);
  });

  it('a stop checkpoints the last record delivered, never one only read ahead', async () => {
    const { retrieval, batches, lastSequence, release, s, done } = await heldShard(3, 2);
    expect(retrieval.inner[0]!.outer!.held.batches).toBe(3);
    s.ctx.requestShutdown('stop');
    release();
    await done;
    expect(batches).toHaveLength(1);
    expect(s.written.length).toBeGreaterThan(0);
    expect(new Set(s.written.map((w) => w.checkpoint))).toEqual(new Set([lastSequence[0]]));
    expect(retrieval.inner[0]!.closed).toBe(true);
  });

  it('a read ahead that hangs is a stall once the shard waits on it: restarted after the last delivered', async () => {
    const retrieval = readAheadRetrieval(
      limits({}),
      (n) => (n === 0 ? batch('b0', 2) : 'hang'),
      (n) => (n === 0 ? batch('again') : 'hang'),
    );
    const s = scriptedShard({ retrieval, state: 'initializing' });
    const done = runShard(s.ctx, Promise.resolve());
    await settle();
    expect(s.batches).toHaveLength(1);
    const delivered = s.ctx.checkpointer.lastDelivered!.sequenceNumber;
    s.clock.advance(1250); // stallTimeoutMillis is 1000 in the scripted shard
    await settle();
    expect(s.events.filter((e) => e.type === 'stall')).toHaveLength(1);
    expect(retrieval.inner[0]!.aborted).toBe(1); // the restart closed the old reader's read
    expect(retrieval.positions[1]).toEqual({
      type: 'AFTER_SEQUENCE_NUMBER',
      sequenceNumber: delivered,
    });
    s.ctx.loseLease();
    await done;
    expect(s.batches.map((b) => b[0]!.replace(/\.+$/, ''))).toEqual(['b0-0', 'again-0']);
  });

  it('a slow processor is reported as slow, not as a stall, while the reader holds its batches', async () => {
    const { retrieval, release, s, done } = await heldShard(2, 1);
    s.clock.advance(5000);
    expect(s.events.map((e) => e.type)).toContain('slowProcessor');
    expect(s.events.map((e) => e.type)).not.toContain('stall');
    expect(retrieval.inner[0]!.outer!.held.batches).toBe(2);
    s.ctx.loseLease();
    release();
    await done;
    expect(s.ctx.stop.signal.reason).toBeInstanceOf(LeaseLostError);
  });
});

import { aggregate, partitionKeyHash } from '@shardline/aggregation';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LeaseTable } from '../src/leases/lease-table';
import type { ConsumerMetricEvent } from '../src/metrics';
import type { RecordBatch } from '../src/processor';
import type {
  RawKinesisRecord,
  RetrievedBatch,
  Retrieval,
  ShardReader,
  StartPosition,
} from '../src/retrieval/types';
import { ShardWorker, type ShardWorkerDeps } from '../src/shard-worker';
import { newLease } from './support/lease-tables';

// The shard worker on a fake clock, with scripted readers: what is a stall, what is a slow
// processor, and how out-of-range aggregates are counted and logged.

const STALL_MS = 1000;
const SHARD = 'shardId-000000000000';

/**
 * One step of a scripted reader: a batch returned at once, a batch returned `afterMs` later (on
 * the fake clock), or a read that never returns (until aborted).
 */
type Step = RawKinesisRecord[] | { afterMs: number; records: RawKinesisRecord[] } | 'hang';

/** Readers that follow `scripts`, one script per reader created (a restart takes the next). */
function scriptedRetrieval(...scripts: Step[][]): Retrieval & { positions: StartPosition[] } {
  const positions: StartPosition[] = [];
  return {
    mode: 'polling',
    positions,
    start: async () => {},
    stop: async () => {},
    createReader(shardId: string, position: StartPosition): ShardReader {
      positions.push(position);
      const steps = [...(scripts[positions.length - 1] ?? [])];
      return {
        shardId,
        close: async () => {},
        next(signal: AbortSignal): Promise<RetrievedBatch> {
          const step = steps.shift() ?? 'hang';
          if (Array.isArray(step)) return Promise.resolve({ records: step, shardEnded: false });
          return new Promise((resolve, reject) => {
            const timer =
              step === 'hang'
                ? undefined
                : setTimeout(
                    () => resolve({ records: step.records, shardEnded: false }),
                    step.afterMs,
                  );
            signal.addEventListener(
              'abort',
              () => {
                clearTimeout(timer);
                reject(signal.reason);
              },
              { once: true },
            );
          });
        },
      };
    },
  };
}

let sequence = 100;
function plain(text: string): RawKinesisRecord {
  return {
    data: Buffer.from(text),
    partitionKey: `pk-${text}`,
    sequenceNumber: String(++sequence),
  };
}

interface Harness {
  worker: ShardWorker;
  events: ConsumerMetricEvent[];
  logs: { level: number; msg: string; line: string }[];
  batches: string[][];
}

function startWorker(
  retrieval: Retrieval,
  processRecords: (batch: RecordBatch) => Promise<void> | void,
  overrides: Partial<ShardWorkerDeps> = {},
): Harness {
  const events: ConsumerMetricEvent[] = [];
  const logs: Harness['logs'] = [];
  const batches: string[][] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        const parsed = JSON.parse(line) as { level: number; msg: string };
        logs.push({ level: parsed.level, msg: parsed.msg, line });
      },
    },
  );
  const table = {
    checkpoint: async () => {},
    setChildren: async () => {},
    get: async () => undefined,
  } as unknown as LeaseTable;
  const worker = new ShardWorker(
    {
      lease: newLease(SHARD, {
        leaseOwner: 'w',
        startingHashKey: undefined,
        endingHashKey: undefined,
      }),
      workerId: 'w',
      table,
      retrieval,
      processor: {
        processRecords: (batch) => {
          batches.push(batch.records.map((r) => Buffer.from(r.data).toString()));
          return processRecords(batch);
        },
      },
      logger,
      initialPosition: 'TRIM_HORIZON',
      autoCheckpoint: true,
      stallTimeoutMillis: STALL_MS,
      dropOutOfRangeAggregates: false,
      onProcessorError: undefined,
      onPoisonRecord: undefined,
      metric: (e) => events.push(e),
      onShardEnded: () => {},
      ...overrides,
    },
    false,
  );
  return { worker, events, logs, batches };
}

/** Graceful stop, with the fake clock let run for the shutdown's own timers. */
async function stop(worker: ShardWorker): Promise<void> {
  const done = worker.shutdown('stop');
  await vi.advanceTimersByTimeAsync(0);
  await done;
}

const WARN = 40; // pino's warn level
const types = (events: ConsumerMetricEvent[]) => events.map((e) => e.type);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('stalls and slow processors', () => {
  it('a processRecords call longer than stallTimeoutMillis is a slow processor: reported once, no stall, no restart', async () => {
    const retrieval = scriptedRetrieval([[plain('a')], [plain('b')]]);
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const h = startWorker(retrieval, (batch) =>
      Buffer.from(batch.records[0]!.data).toString() === 'a' ? slow : undefined,
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(h.batches).toEqual([['a']]);
    expect(h.worker.status()).toMatchObject({ slowProcessor: false, slowBatches: 0 });

    await vi.advanceTimersByTimeAsync(STALL_MS * 5);
    const slowEvents = h.events.filter((e) => e.type === 'slowProcessor');
    expect(slowEvents).toHaveLength(1);
    expect(slowEvents[0]).toMatchObject({ shardId: SHARD, records: 1 });
    expect((slowEvents[0] as { runningForMs: number }).runningForMs).toBeGreaterThan(STALL_MS);
    expect(types(h.events)).not.toContain('stall');
    expect(retrieval.positions).toHaveLength(1); // the reader was not restarted
    expect(h.worker.status()).toMatchObject({ slowProcessor: true, slowBatches: 1, stalls: 0 });
    const warnings = h.logs.filter((l) => l.level === WARN).map((l) => l.msg);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^processRecords is running longer than stallTimeoutMillis/);
    expect(h.logs.map((l) => l.msg)).not.toContain(
      'shard reader stalled: no read returned; restarting it',
    );

    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.batches).toEqual([['a'], ['b']]); // the same reader goes on
    expect(retrieval.positions).toHaveLength(1);
    expect(h.worker.status()).toMatchObject({ slowProcessor: false, slowBatches: 1, stalls: 0 });

    await stop(h.worker);
    expect(types(h.events).filter((t) => t === 'slowProcessor' || t === 'stall')).toEqual([
      'slowProcessor',
    ]);
  });

  it('a slow call that returns between watchdog ticks is still reported, once', async () => {
    const retrieval = scriptedRetrieval([[plain('a')]]);
    const h = startWorker(
      retrieval,
      () => new Promise<void>((resolve) => setTimeout(resolve, STALL_MS + 10)),
    );
    // The watchdog ticks every STALL_MS / 4: the call returns at STALL_MS + 10, before the tick
    // at 1250 ms could see it.
    await vi.advanceTimersByTimeAsync(STALL_MS + 10);
    expect(h.events.filter((e) => e.type === 'slowProcessor')).toHaveLength(1);
    expect(h.worker.status()).toMatchObject({ slowBatches: 1, slowProcessor: false });
    await vi.advanceTimersByTimeAsync(STALL_MS / 2);
    expect(h.events.filter((e) => e.type === 'slowProcessor')).toHaveLength(1);
    await stop(h.worker);
  });

  it('a failing processor waiting out its retry backoff is neither slow nor stalled', async () => {
    const retrieval = scriptedRetrieval([[plain('a')]]);
    let calls = 0;
    const h = startWorker(retrieval, () => {
      if (++calls <= 4) throw new Error('downstream unavailable');
    });
    // Backoffs of 400, 800, 1600 and 3200 ms: the last two each longer than the stall timeout.
    await vi.advanceTimersByTimeAsync(6_000);
    expect(calls).toBe(5);
    expect(types(h.events).filter((t) => t !== 'checkpoint')).toEqual([
      'processorError',
      'processorError',
      'processorError',
      'processorError',
      'batch',
    ]);
    expect(h.worker.status()).toMatchObject({ slowBatches: 0, stalls: 0, lastError: undefined });
    await stop(h.worker);
  });

  it('a reader that returns nothing for stallTimeoutMillis is a stall: reported and restarted from the last record', async () => {
    // Reader 1 delivers 'a' then hangs; reader 2 (the restart) delivers 'b'.
    const retrieval = scriptedRetrieval([[plain('a'), plain('x')], 'hang'], [[plain('b')]]);
    const h = startWorker(retrieval, () => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(h.batches).toEqual([['a', 'x']]);
    expect(types(h.events)).not.toContain('stall');

    await vi.advanceTimersByTimeAsync(STALL_MS * 1.5);
    const stalls = h.events.filter((e) => e.type === 'stall');
    expect(stalls).toHaveLength(1);
    expect((stalls[0] as { silentForMs: number }).silentForMs).toBeGreaterThan(STALL_MS);
    expect(retrieval.positions).toEqual([
      { type: 'TRIM_HORIZON' },
      { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: String(sequence - 1) },
    ]);
    expect(h.batches).toEqual([['a', 'x'], ['b']]);
    expect(types(h.events)).not.toContain('slowProcessor');
    expect(h.worker.status()).toMatchObject({ stalls: 1, slowBatches: 0, slowProcessor: false });
    expect(h.logs.map((l) => l.msg)).toContain(
      'shard reader stalled: no read returned; restarting it',
    );
    await stop(h.worker);
  });
});

describe('aggregates holding records of other shards', () => {
  // The shard holds exactly the hash of 'mine'; 'theirs-*' keys hash elsewhere.
  const hash = partitionKeyHash('mine');
  const range = { startingHashKey: hash.toString(), endingHashKey: hash.toString() };
  const secret = 'payload-never-logged';
  function mixed(n: number): RawKinesisRecord {
    const [agg] = aggregate([
      { partitionKey: 'mine', data: Buffer.from(`${secret}-${n}-0`) },
      { partitionKey: `theirs-${n}`, data: Buffer.from(`${secret}-${n}-1`) },
      { partitionKey: `theirs-${n}-b`, data: Buffer.from(`${secret}-${n}-2`) },
    ]);
    return { data: agg!.data, partitionKey: 'mine', sequenceNumber: String(++sequence) };
  }

  /** A worker on the shard `range`, reading `steps`; no stall in the hours the test spans. */
  function run(dropOutOfRangeAggregates: boolean, steps: Step[]): Harness {
    return startWorker(scriptedRetrieval(steps), () => {}, {
      lease: newLease(SHARD, { leaseOwner: 'w', ...range }),
      dropOutOfRangeAggregates,
      stallTimeoutMillis: 3_600_000,
    });
  }

  it.each([false, true])(
    'dropOutOfRangeAggregates: %s — counted in metrics and health; warned the first time, then at most once a minute, never with data',
    async (drop) => {
      // One aggregate at 0 s, one 10 s later (within the minute), one 61 s after the first.
      const h = run(drop, [
        [mixed(1), plain('p1')],
        { afterMs: 10_000, records: [mixed(2)] },
        { afterMs: 51_000, records: [mixed(3)] },
      ]);
      await vi.advanceTimersByTimeAsync(61_000);

      const delivered = h.batches.flat();
      if (drop) expect(delivered).toEqual(['p1']);
      else
        expect(delivered).toEqual([
          ...[0, 1, 2].map((i) => `${secret}-1-${i}`),
          'p1',
          ...[0, 1, 2].map((i) => `${secret}-2-${i}`),
          ...[0, 1, 2].map((i) => `${secret}-3-${i}`),
        ]);
      const counted = h.events.filter((e) => e.type === 'outOfRangeAggregate');
      expect(counted).toHaveLength(3);
      expect(counted[0]).toMatchObject({
        shardId: SHARD,
        records: 3,
        outside: 2,
        dropped: drop,
      });
      expect(h.worker.status()).toMatchObject({ outOfRangeAggregates: 3, outOfRangeRecords: 9 });

      const warnings = h.logs.filter((l) => l.level === WARN);
      expect(warnings).toHaveLength(2); // at 0 s and at 61 s; the one at 10 s only counted
      expect(warnings[0]!.msg).toMatch(
        drop
          ? /set it to false \(the default\) to deliver them/
          : /set dropOutOfRangeAggregates: true to drop/,
      );
      expect(JSON.parse(warnings[1]!.line)).toMatchObject({
        outOfRangeAggregates: 3,
        outOfRangeRecords: 9,
      });
      for (const l of h.logs) {
        expect(l.line).not.toContain(secret);
        expect(l.line).not.toContain('theirs-');
      }
      await stop(h.worker);
    },
  );

  it('an aggregate wholly inside the shard is not counted', async () => {
    const [agg] = aggregate([{ partitionKey: 'mine', data: Buffer.from('in') }]);
    const h = run(true, [[{ data: agg!.data, partitionKey: 'mine', sequenceNumber: '1' }]]);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.batches).toEqual([['in']]);
    expect(types(h.events)).not.toContain('outOfRangeAggregate');
    expect(h.worker.status()).toMatchObject({ outOfRangeAggregates: 0, outOfRangeRecords: 0 });
    await stop(h.worker);
  });
});

describe('waiting for a hand-off', () => {
  function waiting(retrieval: Retrieval, initialize: (input: unknown) => void) {
    return new ShardWorker(
      {
        lease: newLease(SHARD, { leaseOwner: 'w', checkpointOwner: 'old' }),
        workerId: 'w',
        table: { checkpoint: async () => {} } as unknown as LeaseTable,
        retrieval,
        processor: { processRecords: () => {}, initialize },
        logger: pino({ level: 'silent' }),
        initialPosition: 'TRIM_HORIZON',
        autoCheckpoint: true,
        stallTimeoutMillis: STALL_MS,
        dropOutOfRangeAggregates: false,
        onProcessorError: undefined,
        onPoisonRecord: undefined,
        metric: () => {},
        onShardEnded: () => {},
      },
      true,
    );
  }

  it('reads nothing until the hand-off completes, then resumes exactly after the checkpoint it left', async () => {
    const retrieval = scriptedRetrieval([]);
    const initialized: unknown[] = [];
    const worker = waiting(retrieval, (input) => initialized.push(input));
    await vi.advanceTimersByTimeAsync(STALL_MS * 10);
    expect(worker.lifecycle.state).toBe('waiting-for-handoff');
    expect(retrieval.positions).toEqual([]);
    worker.handoffComplete(
      newLease(SHARD, { leaseOwner: 'w', checkpoint: '777', checkpointSubSequenceNumber: 3 }),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(initialized).toEqual([
      { shardId: SHARD, checkpoint: { sequenceNumber: '777', subSequenceNumber: 3 } },
    ]);
    expect(retrieval.positions).toEqual([{ type: 'AT_SEQUENCE_NUMBER', sequenceNumber: '777' }]);
    await stop(worker);
  });

  it('a lease lost while waiting leaves the owned states without initializing the processor', async () => {
    const retrieval = scriptedRetrieval([]);
    const initialized: unknown[] = [];
    const worker = waiting(retrieval, (input) => initialized.push(input));
    worker.loseLease();
    await worker.done;
    expect(worker.lifecycle.state).toBe('stopped');
    expect(worker.status().leaseHeld).toBe(false);
    expect(initialized).toEqual([]);
    expect(retrieval.positions).toEqual([]);
  });
});

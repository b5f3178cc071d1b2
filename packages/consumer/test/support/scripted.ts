import pino from 'pino';
import { ShardCheckpointer } from '../../src/checkpoint/checkpointer';
import type { ExtendedSequence } from '../../src/checkpoint/sequence';
import type { Clock } from '../../src/lifecycle/clock';
import { ShardContext, type ShardWorkerDeps } from '../../src/lifecycle/context';
import { ShardLifecycle, type ShardState } from '../../src/lifecycle/shard-lifecycle';
import type { ConsumerMetricEvent } from '../../src/metrics';
import type { LeaseTable } from '../../src/leases/lease-table';
import { newLease } from './lease-tables';
import type {
  RawKinesisRecord,
  RetrievedBatch,
  Retrieval,
  ShardReader,
  StartPosition,
} from '../../src/retrieval/types';

// Test doubles for the shard lifecycle: scripted readers, a clock moved by hand, a lease table
// that records writes, and a logger that keeps its lines. No server, no real time.

/**
 * One step of a scripted reader: a batch returned at once (records, or a full batch such as a
 * shard end), an error thrown, or a read that never returns until aborted.
 */
export type Step = RawKinesisRecord[] | RetrievedBatch | { fail: Error } | 'hang';

/** Readers that follow `scripts`, one script per reader created (a restart takes the next). */
export function scriptedRetrieval(...scripts: Step[][]): Retrieval & {
  positions: StartPosition[];
  closed: number;
} {
  const positions: StartPosition[] = [];
  const retrieval = {
    mode: 'polling' as const,
    positions,
    closed: 0,
    start: async () => {},
    stop: async () => {},
    createReader(shardId: string, position: StartPosition): ShardReader {
      positions.push(position);
      const steps = [...(scripts[positions.length - 1] ?? [])];
      return {
        shardId,
        close: async () => {
          retrieval.closed++;
        },
        next(signal: AbortSignal): Promise<RetrievedBatch> {
          const step = steps.shift() ?? 'hang';
          if (Array.isArray(step)) return Promise.resolve({ records: step, shardEnded: false });
          if (step !== 'hang' && 'fail' in step) return Promise.reject(step.fail);
          if (step !== 'hang') return Promise.resolve(step);
          return new Promise((_, reject) => {
            if (signal.aborted) reject(signal.reason);
            signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          });
        },
      };
    },
  };
  return retrieval;
}

let sequence = 1000;
/** A plain (not aggregated) record with the next sequence number. */
export function plain(text: string): RawKinesisRecord {
  return {
    data: Buffer.from(text),
    partitionKey: `pk-${text}`,
    sequenceNumber: String(++sequence),
  };
}

/** A clock moved by hand: `advance` runs the periodic ticks that fall due, in order. */
export class ManualClock implements Clock {
  private t = 0;
  private timers: { every: number; next: number; tick: () => void }[] = [];

  now(): number {
    return this.t;
  }

  every(ms: number, tick: () => void): () => void {
    const timer = { every: ms, next: this.t + ms, tick };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }

  get ticking(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.t = due.next;
      due.next += due.every;
      due.tick();
    }
    this.t = end;
  }
}

/** A lease table that records checkpoint writes and child lists; `refuse` makes writes lose. */
export interface RecordingTable {
  table: LeaseTable;
  checkpoints: { checkpoint: string; sub: number; handingOff: boolean }[];
  children: string[][];
}

export function recordingTable(): RecordingTable {
  const checkpoints: RecordingTable['checkpoints'] = [];
  const children: string[][] = [];
  const table = {
    checkpoint: async (
      _key: string,
      _owner: string,
      checkpoint: string,
      sub: number,
      handingOff = false,
    ) => {
      checkpoints.push({ checkpoint, sub, handingOff });
    },
    setChildren: async (_key: string, c: string[]) => {
      children.push(c);
    },
    get: async () => undefined,
  } as unknown as LeaseTable;
  return { table, checkpoints, children };
}

/** A pino logger whose lines are kept (parsed) for assertions. */
export function keptLogger(): {
  logger: pino.Logger;
  lines: { level: number; msg: string; raw: string }[];
} {
  const lines: { level: number; msg: string; raw: string }[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        const parsed = JSON.parse(line) as { level: number; msg: string };
        lines.push({ level: parsed.level, msg: parsed.msg, raw: line });
      },
    },
  );
  return { logger, lines };
}

/** Lets pending promise callbacks run (no timers involved). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export const SHARD = 'shardId-000000000000';

/** A shard's task context on scripted parts, and what it recorded. */
export interface Scripted {
  ctx: ShardContext;
  clock: ManualClock;
  events: ConsumerMetricEvent[];
  lines: { level: number; msg: string; raw: string }[];
  written: RecordingTable['checkpoints'];
  children: string[][];
  /** Batches the processor got, as the records' texts. */
  batches: string[][];
}

/** A ShardContext for one task under test: scripted reader, manual clock, recording table. */
export function scriptedShard(
  options: {
    retrieval?: Retrieval;
    checkpoint?: ExtendedSequence | string;
    state?: ShardState;
    deps?: Partial<ShardWorkerDeps>;
  } = {},
): Scripted {
  const clock = new ManualClock();
  const events: ConsumerMetricEvent[] = [];
  const batches: string[][] = [];
  const { logger, lines } = keptLogger();
  const rec = recordingTable();
  const d: ShardWorkerDeps = {
    lease: newLease(SHARD, {
      leaseOwner: 'w',
      startingHashKey: undefined,
      endingHashKey: undefined,
    }),
    workerId: 'w',
    table: rec.table,
    retrieval: options.retrieval ?? scriptedRetrieval(),
    processor: {
      processRecords(batch) {
        batches.push(batch.records.map((r) => Buffer.from(r.data).toString()));
      },
    },
    logger,
    initialPosition: 'TRIM_HORIZON',
    autoCheckpoint: true,
    stallTimeoutMillis: 1000,
    dropOutOfRangeAggregates: false,
    onProcessorError: undefined,
    onPoisonRecord: undefined,
    metric: (e) => events.push(e),
    onShardEnded: () => {},
    clock,
    ...options.deps,
  };
  const checkpointer = new ShardCheckpointer(
    SHARD,
    d.table,
    'w',
    options.checkpoint ?? 'TRIM_HORIZON',
    () => d.metric({ type: 'checkpoint', shardId: SHARD }),
  );
  const lifecycle = new ShardLifecycle(options.state ?? 'processing');
  const ctx = new ShardContext(d, checkpointer, lifecycle, clock);
  return { ctx, clock, events, lines, written: rec.checkpoints, children: rec.children, batches };
}

import { describe, expect, it } from 'vitest';
import { CheckpointCadence } from '../src/checkpoint/cadence';
import { resolveConsumerOptions } from '../src/options';
import { ConfigError, DEFAULT_CHECKPOINT_INTERVAL_MILLIS } from '../src/index';
import { runShard } from '../src/lifecycle/driver';
import { processShard } from '../src/lifecycle/process';
import { StallWatchdog } from '../src/lifecycle/stall-watchdog';
import type { Retrieval } from '../src/retrieval/types';
import { MINIMAL_OPTIONS } from './support/options';
import { plain, scriptedRetrieval, scriptedShard, settle, type Step } from './support/scripted';

describe('CheckpointCadence', () => {
  it('0: due after every batch; an interval: at most one write per interval; maxRecords: also by count', () => {
    let now = 0;
    const every = new CheckpointCadence(0, Number.MAX_SAFE_INTEGER, () => now);
    expect(every.due).toBe(false);
    every.delivered(1);
    expect(every.due).toBe(true);
    every.written();
    expect(every.due).toBe(false);

    const timed = new CheckpointCadence(1000, 50, () => now);
    timed.delivered(10);
    now = 999;
    expect(timed.due).toBe(false);
    now = 1000;
    expect(timed.due).toBe(true);
    timed.written();
    timed.delivered(49);
    expect(timed.due).toBe(false);
    timed.delivered(1);
    expect(timed.due).toBe(true);
    timed.written();
    now = 5000;
    expect(timed.due).toBe(false); // nothing waits: no write, however long ago the last
  });
});

/** Readers that move the clock by `stepMs` before every read (time passing between reads). */
function timedRetrieval(inner: Retrieval, advance: () => void): Retrieval {
  return {
    ...inner,
    createReader(shardId, position) {
      const reader = inner.createReader(shardId, position);
      return {
        ...reader,
        next: (signal) => {
          advance();
          return reader.next(signal);
        },
      };
    },
  };
}

async function run(steps: Step[], deps: Record<string, unknown>, stepMs: number) {
  const box: { clock?: { advance(ms: number): void } } = {};
  const s = scriptedShard({
    retrieval: timedRetrieval(scriptedRetrieval(steps), () => box.clock!.advance(stepMs)),
    deps,
  });
  box.clock = s.clock;
  await processShard(
    s.ctx,
    { position: { type: 'TRIM_HORIZON' }, after: undefined },
    new StallWatchdog(s.ctx),
  );
  return s;
}

describe('the process task with checkpointIntervalMillis', () => {
  it('writes at most once per interval, the last record delivered by then; an empty read past the interval writes what waits', async () => {
    const r = Array.from({ length: 6 }, (_, i) => plain(`c${i}`));
    // Reads at t = 300, 600, ..., one record each, then two empty reads and the shard's end.
    const s = await run(
      [[r[0]!], [r[1]!], [r[2]!], [r[3]!], [r[4]!], [], [], [], { records: [], shardEnded: true }],
      { checkpointIntervalMillis: 1000 },
      300,
    );
    // t=1200 (4th read): due, writes r3; t=2400 (8th read, empty): due again, writes r4.
    expect(s.written.map((w) => w.checkpoint)).toEqual([
      r[3]!.sequenceNumber,
      r[4]!.sequenceNumber,
    ]);
  });

  it('checkpointMaxRecords writes once that many wait, inside the interval', async () => {
    const r = Array.from({ length: 5 }, (_, i) => plain(`m${i}`));
    const s = await run(
      [[r[0]!, r[1]!], [r[2]!], [r[3]!, r[4]!], { records: [], shardEnded: true }],
      { checkpointIntervalMillis: 60_000, checkpointMaxRecords: 3 },
      10,
    );
    expect(s.written.map((w) => w.checkpoint)).toEqual([r[2]!.sequenceNumber]);
  });

  it('0 writes after every batch', async () => {
    const r = [plain('d0'), plain('d1')];
    const s = await run(
      [[r[0]!], [r[1]!], { records: [], shardEnded: true }],
      { checkpointIntervalMillis: 0 },
      10,
    );
    expect(s.written.map((w) => w.checkpoint)).toEqual([
      r[0]!.sequenceNumber,
      r[1]!.sequenceNumber,
    ]);
  });
});

describe('options', () => {
  it('defaults to one write per shard per 5 s, no bound by count; takes 0; refuses bad values', () => {
    const resolved = resolveConsumerOptions(MINIMAL_OPTIONS, false);
    expect([resolved.checkpointIntervalMillis, resolved.checkpointMaxRecords]).toEqual([
      5000,
      Number.MAX_SAFE_INTEGER,
    ]);
    expect(DEFAULT_CHECKPOINT_INTERVAL_MILLIS).toBe(5000);
    expect(
      resolveConsumerOptions({ ...MINIMAL_OPTIONS, checkpointIntervalMillis: 0 }, false)
        .checkpointIntervalMillis,
    ).toBe(0);
    expect(() =>
      resolveConsumerOptions({ ...MINIMAL_OPTIONS, checkpointIntervalMillis: -1 }, false),
    ).toThrow(ConfigError);
    expect(() =>
      resolveConsumerOptions({ ...MINIMAL_OPTIONS, checkpointMaxRecords: 0 }, false),
    ).toThrow(ConfigError);
  });
});

describe('with the default cadence, every ending writes what was delivered', () => {
  const { checkpointIntervalMillis, checkpointMaxRecords } = resolveConsumerOptions(
    MINIMAL_OPTIONS,
    false,
  );

  /** Two batches delivered within one interval (the clock does not move), then `then`. */
  async function twoBatches(then: Step) {
    const r = [plain('e0'), plain('e1')];
    const s = scriptedShard({
      retrieval: scriptedRetrieval([[r[0]!], [r[1]!], then]),
      state: 'initializing',
      deps: { checkpointIntervalMillis, checkpointMaxRecords },
    });
    const done = runShard(s.ctx, Promise.resolve());
    await settle();
    expect(s.batches).toEqual([['e0'], ['e1']]);
    return { s, r, done };
  }

  it('nothing is written inside the interval', async () => {
    const { s, done } = await twoBatches('hang');
    expect(s.written).toEqual([]);
    s.ctx.loseLease();
    await done;
  });

  it('stop(): the last record delivered', async () => {
    const { s, r, done } = await twoBatches('hang');
    s.ctx.requestShutdown('stop');
    await done;
    expect(s.written.map((w) => w.checkpoint)).toEqual([r[1]!.sequenceNumber]);
  });

  it('hand-off: the last record delivered is what the hand-over writes', async () => {
    const { s, r, done } = await twoBatches('hang');
    s.ctx.requestShutdown('handoff');
    await done;
    expect(s.written).toEqual([]); // the hand-over's own conditional write carries it
    expect(s.ctx.checkpointer.pending?.sequenceNumber).toBe(r[1]!.sequenceNumber);
  });

  it('shard end: SHARD_END', async () => {
    const { s, done } = await twoBatches({ records: [], shardEnded: true });
    await done;
    expect(s.written.map((w) => w.checkpoint)).toEqual(['SHARD_END']);
  });

  it('a lease lost with no other owner seen: the last record delivered, once', async () => {
    const { s, r, done } = await twoBatches('hang');
    s.ctx.loseLease(true);
    await done;
    expect(s.written).toEqual([{ checkpoint: r[1]!.sequenceNumber, sub: 0, handingOff: false }]);
  });

  it('a lease another worker took: nothing', async () => {
    const { s, done } = await twoBatches('hang');
    s.ctx.loseLease();
    await done;
    expect(s.written).toEqual([]);
  });
});

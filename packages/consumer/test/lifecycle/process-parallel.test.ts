import { aggregate } from '@shardline/aggregation';
import { describe, expect, it } from 'vitest';
import type { DeadLetterDestination } from '../../src/dead-letter/destination';
import type { DeadLetterRecord } from '../../src/dead-letter/format';
import { processShard } from '../../src/lifecycle/process';
import { StallWatchdog } from '../../src/lifecycle/stall-watchdog';
import { resolveRetryBudget } from '../../src/processing/retry-budget';
import type { ConsumerRecord } from '../../src/processor';
import type { RawKinesisRecord } from '../../src/retrieval/types';
import { scriptedRetrieval, scriptedShard, settle, type Scripted } from '../support/scripted';

// The process task with processRecord: key-ordered parallelism inside a shard, the checkpoint at
// the completed prefix, the retry budget and the dead-letter destination, and batch bisection.
// Scripted readers, records released by hand, retries without backoff (base delay 0).

let seq = 5000;
const rec = (key: string, text: string): RawKinesisRecord => ({
  data: Buffer.from(text),
  partitionKey: key,
  sequenceNumber: String(++seq),
});
const text = (r: ConsumerRecord) => Buffer.from(r.data).toString();
const noBackoff = resolveRetryBudget({ maxAttempts: 2, baseDelayMillis: 0, maxDelayMillis: 0 });

/** Waits (on timers of 0 ms, never a fixed delay) until `condition` holds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
  throw new Error(`never: ${what}`);
}

/** A processRecord whose calls the test ends by hand. */
function handRun() {
  const running = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const started: string[] = [];
  let now = 0;
  let most = 0;
  return {
    started,
    running,
    get most() {
      return most;
    },
    finish(t: string) {
      running.get(t)!.resolve();
    },
    processRecord: (r: ConsumerRecord) =>
      new Promise<void>((resolve, reject) => {
        const t = text(r);
        started.push(t);
        most = Math.max(most, ++now);
        running.set(t, {
          resolve: () => {
            now--;
            running.delete(t);
            resolve();
          },
          reject: (e) => {
            now--;
            running.delete(t);
            reject(e);
          },
        });
      }),
  };
}

function run(s: Scripted) {
  return processShard(
    s.ctx,
    { position: { type: 'TRIM_HORIZON' }, after: undefined },
    new StallWatchdog(s.ctx),
  );
}

function recordingDestination(): DeadLetterDestination & {
  letters: DeadLetterRecord[];
  sends: number;
  failing: boolean;
} {
  const d = {
    kind: 'function' as const,
    letters: [] as DeadLetterRecord[],
    sends: 0,
    failing: false,
    async send(records: readonly DeadLetterRecord[]) {
      d.sends++;
      if (d.failing) throw Object.assign(new Error('queue unavailable'), { name: 'QueueDown' });
      d.letters.push(...records);
    },
    close: async () => {},
  };
  return d;
}

describe('processShard with processRecord and maxConcurrencyPerShard', () => {
  it('runs up to N records at once, one key at a time in order; checkpoints the batch once all completed', async () => {
    const h = handRun();
    const batch = [
      rec('a', 'a1'),
      rec('b', 'b1'),
      rec('a', 'a2'),
      rec('c', 'c1'),
      rec('b', 'b2'),
      rec('d', 'd1'),
    ];
    const s = scriptedShard({
      retrieval: scriptedRetrieval([batch, { records: [], shardEnded: true }]),
      deps: { processor: { processRecord: h.processRecord }, maxConcurrencyPerShard: 3 },
    });
    const done = run(s);
    await settle();
    expect(h.started).toEqual(['a1', 'b1', 'c1']);
    h.finish('c1');
    await settle();
    // a2 and b2 still wait for their key; d1 may overtake them.
    expect(h.started).toEqual(['a1', 'b1', 'c1', 'd1']);
    expect(s.written).toEqual([]);
    h.finish('a1');
    await settle();
    expect(h.started.slice(4)).toEqual(['a2']);
    // a1 completed: the delivered position is a1's; b1 is unfinished, so nothing beyond it.
    expect(s.ctx.checkpointer.lastDelivered?.sequenceNumber).toBe(batch[0]!.sequenceNumber);
    for (const t of ['b1', 'd1', 'a2']) {
      h.finish(t);
      await settle();
    }
    h.finish('b2');
    expect(await done).toEqual({ kind: 'shard-ended', children: [] });
    expect(h.most).toBe(3);
    expect(s.written).toEqual([
      { checkpoint: batch[5]!.sequenceNumber, sub: 0, handingOff: false },
    ]);
    expect(s.ctx.health.recordsProcessed).toBe(6);
  });

  it('a slow processor is one record taking stallTimeoutMillis, not a big batch of quick ones', async () => {
    const h = handRun();
    const batch = [rec('a', 'a1'), rec('a', 'a2'), rec('a', 'a3'), rec('a', 'slow')];
    const s = scriptedShard({
      retrieval: scriptedRetrieval([batch, { records: [], shardEnded: true }]),
      deps: { processor: { processRecord: h.processRecord }, maxConcurrencyPerShard: 1 },
    });
    const done = run(s);
    for (const t of ['a1', 'a2', 'a3']) {
      await settle();
      s.clock.advance(600); // 1800 ms for the three, each under the 1000 ms stall timeout
      h.finish(t);
    }
    expect(s.events.filter((e) => e.type === 'slowProcessor')).toEqual([]);
    await settle();
    s.clock.advance(1500);
    h.finish('slow');
    await done;
    expect(s.events.filter((e) => e.type === 'slowProcessor')).toEqual([
      { type: 'slowProcessor', shardId: s.ctx.shardId, runningForMs: 1500, records: 1 },
    ]);
  });

  it('a hand-off in mid-batch waits for the running records and checkpoints the completed prefix, sub-sequence aware', async () => {
    const h = handRun();
    const [agg] = aggregate(
      ['k0', 'k1', 'k2', 'k3', 'k4'].map((k, i) => ({
        partitionKey: k,
        data: Buffer.from(`r${i}`),
      })),
    );
    const s = scriptedShard({
      retrieval: scriptedRetrieval([
        [{ data: agg!.data, partitionKey: 'k0', sequenceNumber: '900' }],
      ]),
      deps: { processor: { processRecord: h.processRecord }, maxConcurrencyPerShard: 2 },
    });
    const done = run(s);
    await settle();
    expect(h.started).toEqual(['r0', 'r1']);
    h.finish('r0');
    await settle();
    expect(h.started).toEqual(['r0', 'r1', 'r2']);
    s.ctx.requestShutdown('handoff');
    h.finish('r2');
    await settle();
    // r1 is still running: nothing new starts, and the position stays at r0.
    expect(h.started).toEqual(['r0', 'r1', 'r2']);
    expect(s.ctx.checkpointer.pending).toEqual({ sequenceNumber: '900', subSequenceNumber: 0 });
    h.finish('r1');
    expect(await done).toEqual({ kind: 'stopped' });
    // r0..r2 completed, r3 and r4 never started: the hand-off checkpoint is sub-record 2.
    expect(s.ctx.checkpointer.pending).toEqual({ sequenceNumber: '900', subSequenceNumber: 2 });
    expect(s.written).toEqual([]);
  });

  it('a poison record blocks only its key; the checkpoint stays below it until the destination acknowledged it, then passes it', async () => {
    const destination = recordingDestination();
    const batch = [
      rec('a', 'a1'),
      rec('p', 'poison'),
      rec('b', 'b1'),
      rec('p', 'p2'),
      rec('a', 'a2'),
    ];
    const processed: string[] = [];
    let acknowledge!: () => void;
    const acknowledged = new Promise<void>((resolve) => (acknowledge = resolve));
    const send = destination.send.bind(destination);
    let asked = 0;
    destination.send = async (records) => {
      asked++;
      await acknowledged;
      return send(records);
    };
    const s = scriptedShard({
      retrieval: scriptedRetrieval([batch, { records: [], shardEnded: true }]),
      deps: {
        processor: {
          processRecord: (r) => {
            if (text(r) === 'poison')
              throw Object.assign(new TypeError('bad record'), { code: 'E_BAD' });
            processed.push(text(r));
          },
        },
        maxConcurrencyPerShard: 4,
        deadLetter: destination,
        retryBudget: noBackoff,
        deadLetterSource: { streamName: 'orders', applicationName: 'billing' },
      },
    });
    const done = run(s);
    await until(() => asked === 1, 'the poison record is sent to the dead-letter destination');
    // The other keys went on; p2 waits behind the poison record of its key.
    expect(processed).toEqual(['a1', 'b1', 'a2']);
    expect(s.ctx.checkpointer.lastDelivered?.sequenceNumber).toBe(batch[0]!.sequenceNumber);
    expect(s.written).toEqual([]);
    acknowledge();
    expect(await done).toEqual({ kind: 'shard-ended', children: [] });
    expect(processed).toEqual(['a1', 'b1', 'a2', 'p2']);
    expect(s.written).toEqual([
      { checkpoint: batch[4]!.sequenceNumber, sub: 0, handingOff: false },
    ]);
    expect(destination.letters).toHaveLength(1);
    const letter = destination.letters[0]!;
    expect({ ...letter, data: Buffer.from(letter.data).toString() }).toEqual({
      formatVersion: 1,
      source: { streamName: 'orders', applicationName: 'billing', shardId: s.ctx.shardId },
      sequenceNumber: batch[1]!.sequenceNumber,
      subSequenceNumber: 0,
      partitionKey: 'p',
      aggregated: false,
      data: 'poison',
      error: { name: 'TypeError', code: 'E_BAD', message: 'bad record' },
      attempts: 2,
      firstFailureAt: new Date(0).toISOString(),
      lastFailureAt: new Date(0).toISOString(),
    });
    expect(s.events.filter((e) => e.type !== 'checkpoint' && e.type !== 'batch')).toEqual([
      { type: 'processorError', shardId: s.ctx.shardId, attempt: 1 },
      { type: 'processorError', shardId: s.ctx.shardId, attempt: 2 },
      { type: 'retryBudgetSpent', shardId: s.ctx.shardId, records: 1, attempts: 2 },
      { type: 'deadLettered', shardId: s.ctx.shardId, records: 1, destination: 'function' },
    ]);
    expect(s.ctx.health.deadLettered).toBe(1);
  });

  it('a failing destination stops the shard and says so; it is retried, never skipped', async () => {
    const destination = recordingDestination();
    destination.failing = true;
    const batch = [rec('p', 'poison'), rec('a', 'a1'), rec('b', 'b1')];
    const processed: string[] = [];
    const s = scriptedShard({
      retrieval: scriptedRetrieval([batch, { records: [], shardEnded: true }]),
      deps: {
        processor: {
          processRecord: (r) => {
            if (text(r) === 'poison') throw new Error('bad record');
            processed.push(text(r));
          },
        },
        // One at a time: a1 and b1 come after the poison record and must wait for it.
        maxConcurrencyPerShard: 1,
        deadLetter: destination,
        retryBudget: noBackoff,
      },
    });
    const done = run(s);
    await until(() => destination.sends >= 3, 'the destination is tried again');
    expect(s.ctx.health.deadLetterFailing).toBe(true);
    expect(s.ctx.health.lastError).toMatch(/dead-letter destination: QueueDown: queue unavailable/);
    expect(s.events.filter((e) => e.type === 'deadLetterFailed')[0]).toEqual({
      type: 'deadLetterFailed',
      shardId: s.ctx.shardId,
      records: 1,
      destination: 'function',
      code: 'QueueDown',
      attempt: 1,
    });
    expect(processed).toEqual([]);
    expect(s.ctx.checkpointer.lastDelivered).toBeUndefined();
    destination.failing = false;
    expect(await done).toEqual({ kind: 'shard-ended', children: [] });
    expect(destination.letters.map((l) => l.sequenceNumber)).toEqual([batch[0]!.sequenceNumber]);
    expect(processed).toEqual(['a1', 'b1']);
    expect(s.ctx.health.deadLetterFailing).toBe(false);
    expect(s.written).toEqual([
      { checkpoint: batch[2]!.sequenceNumber, sub: 0, handingOff: false },
    ]);
  });

  it('while the destination fails, no other record of the shard starts either', async () => {
    const destination = recordingDestination();
    destination.failing = true;
    const h = handRun();
    const batch = [rec('p', 'poison'), rec('a', 'a1'), rec('b', 'b1')];
    const s = scriptedShard({
      retrieval: scriptedRetrieval([batch, { records: [], shardEnded: true }]),
      deps: {
        processor: {
          processRecord: (r) => {
            if (text(r) === 'poison') throw new Error('bad record');
            return h.processRecord(r);
          },
        },
        maxConcurrencyPerShard: 2,
        deadLetter: destination,
        retryBudget: noBackoff,
      },
    });
    const done = run(s);
    await until(() => destination.sends >= 1, 'the destination is tried');
    expect(h.started).toEqual(['a1']);
    h.finish('a1');
    await until(() => destination.sends >= 3, 'the destination is tried again');
    // A slot is free and b1's key is idle, but the shard is stopped at its failing destination.
    expect(h.started).toEqual(['a1']);
    destination.failing = false;
    await until(() => h.started.length === 2, 'b1 starts once the destination works');
    h.finish('b1');
    expect(await done).toEqual({ kind: 'shard-ended', children: [] });
  });

  it('a stop while the destination fails leaves the record below the checkpoint', async () => {
    const destination = recordingDestination();
    destination.failing = true;
    const batch = [rec('a', 'a1'), rec('p', 'poison'), rec('b', 'b1')];
    const s = scriptedShard({
      retrieval: scriptedRetrieval([batch]),
      deps: {
        processor: {
          processRecord: (r) => {
            if (text(r) === 'poison') throw new Error('bad record');
          },
        },
        maxConcurrencyPerShard: 1,
        deadLetter: destination,
        retryBudget: noBackoff,
      },
    });
    const done = run(s);
    await until(() => destination.sends >= 1, 'the destination is tried');
    s.ctx.requestShutdown('stop');
    expect(await done).toEqual({ kind: 'stopped' });
    expect(s.ctx.checkpointer.pending).toEqual({
      sequenceNumber: batch[0]!.sequenceNumber,
      subSequenceNumber: 0,
    });
    expect(destination.letters).toEqual([]);
  });
});

describe('processShard with processRecords, a dead-letter destination and bisection', () => {
  it('bisects a failing batch: only the poison record is dead-lettered, the rest processed, the checkpoint past it', async () => {
    const destination = recordingDestination();
    const batch = ['a', 'b', 'c', 'poison', 'e', 'f'].map((t) => rec(`k-${t}`, t));
    const calls: string[][] = [];
    const s = scriptedShard({
      retrieval: scriptedRetrieval([batch, { records: [], shardEnded: true }]),
      deps: {
        processor: {
          processRecords: (b) => {
            calls.push(b.records.map(text));
            if (b.records.some((r) => text(r) === 'poison')) throw new Error('bad batch');
          },
        },
        deadLetter: destination,
        retryBudget: noBackoff,
      },
    });
    expect(await run(s)).toEqual({ kind: 'shard-ended', children: [] });
    expect(destination.letters.map((l) => Buffer.from(l.data).toString())).toEqual(['poison']);
    // The batch, [poison e f] and [poison e] failed with it; then 2 calls of it alone.
    expect(destination.letters[0]!.attempts).toBe(5);
    const succeeded = calls.filter((c) => !c.includes('poison')).flat();
    expect(succeeded.sort()).toEqual(['a', 'b', 'c', 'e', 'f']);
    expect(s.written).toEqual([
      { checkpoint: batch[5]!.sequenceNumber, sub: 0, handingOff: false },
    ]);
    expect(s.events.filter((e) => e.type === 'batchBisected')).toHaveLength(3);
  });

  it('without bisection the whole batch is retried and dead-lettered together', async () => {
    const destination = recordingDestination();
    const batch = ['a', 'poison'].map((t) => rec(`k-${t}`, t));
    const s = scriptedShard({
      retrieval: scriptedRetrieval([batch, { records: [], shardEnded: true }]),
      deps: {
        processor: {
          processRecords: (b) => {
            if (b.records.some((r) => text(r) === 'poison')) throw new Error('bad batch');
          },
        },
        deadLetter: destination,
        retryBudget: noBackoff,
        bisectBatchOnError: false,
      },
    });
    await run(s);
    expect(destination.letters.map((l) => Buffer.from(l.data).toString())).toEqual(['a', 'poison']);
  });
});

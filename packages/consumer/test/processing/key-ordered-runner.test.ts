import { describe, expect, it } from 'vitest';
import { CompletedPrefix, runKeyOrdered } from '../../src/processing/key-ordered-runner';
import { settle } from '../support/scripted';

// The key-ordered scheduler and the completed-prefix tracker, on hand-released promises: which
// items run at once, in which order, and what a checkpoint may pass.

/** Items whose execution the test finishes by hand, in any order. */
function controlled(keys: string[]) {
  const started: number[] = [];
  const release = new Map<number, () => void>();
  const fail = new Map<number, (e: Error) => void>();
  let next = 0;
  let running = 0;
  let most = 0;
  return {
    started,
    get most() {
      return most;
    },
    finish(i: number) {
      release.get(i)!();
    },
    reject(i: number) {
      fail.get(i)!(new Error(`item ${i}`));
    },
    pull: () => (next < keys.length ? next++ : undefined),
    keyOf: (i: number) => keys[i]!,
    execute: (i: number) =>
      new Promise<void>((resolve, reject) => {
        started.push(i);
        most = Math.max(most, ++running);
        release.set(i, () => {
          running--;
          resolve();
        });
        fail.set(i, (e) => {
          running--;
          reject(e);
        });
      }),
  };
}

describe('runKeyOrdered', () => {
  it('runs up to N at once, never two of one key, each key in pull order', async () => {
    const c = controlled(['a', 'a', 'b', 'c', 'a', 'b', 'd']);
    const done = runKeyOrdered({ maxConcurrency: 3, ...c });
    await settle();
    // a0, b2, c3 start; a1 waits for a0, and nothing else may start (3 slots busy).
    expect(c.started).toEqual([0, 2, 3]);
    c.finish(2); // b idle: a1 and a4 still wait for a0, so the next b (5) starts
    await settle();
    expect(c.started).toEqual([0, 2, 3, 5]);
    c.finish(0); // a idle: a1 (before a4) starts
    await settle();
    expect(c.started).toEqual([0, 2, 3, 5, 1]);
    c.finish(3);
    await settle();
    expect(c.started).toEqual([0, 2, 3, 5, 1, 6]);
    c.finish(1);
    await settle();
    expect(c.started).toEqual([0, 2, 3, 5, 1, 6, 4]);
    for (const i of [5, 6, 4]) c.finish(i);
    expect(await done).toEqual({ notStarted: [] });
    expect(c.most).toBe(3);
  });

  it('with one slot it runs strictly in pull order', async () => {
    const c = controlled(['a', 'b', 'a', 'c']);
    const done = runKeyOrdered({ maxConcurrency: 1, ...c });
    for (let i = 0; i < 4; i++) {
      await settle();
      expect(c.started).toEqual([0, 1, 2, 3].slice(0, i + 1));
      c.finish(i);
    }
    await done;
    expect(c.most).toBe(1);
  });

  it('a halt stops starting; the running items are awaited and the rest reported in order', async () => {
    const c = controlled(['a', 'a', 'b', 'c', 'd']);
    let halted = false;
    const done = runKeyOrdered({ maxConcurrency: 2, ...c, halted: () => halted });
    await settle();
    expect(c.started).toEqual([0, 2]);
    halted = true;
    c.finish(2);
    await settle();
    expect(c.started).toEqual([0, 2]);
    c.finish(0);
    // a1 was pulled (waiting behind a0); c3 and d4 were never pulled.
    expect(await done).toEqual({ notStarted: [1] });
  });

  it('admit refusing keeps the item in its place among those not started', async () => {
    const c = controlled(['a', 'a', 'b']);
    const done = runKeyOrdered({ maxConcurrency: 2, ...c, admit: (i) => i !== 2 });
    await settle();
    expect(c.started).toEqual([0]);
    c.finish(0);
    expect(await done).toEqual({ notStarted: [1, 2] });
  });

  it('a rejected execute goes to onRejected and the run goes on', async () => {
    const c = controlled(['a', 'a']);
    const rejected: number[] = [];
    const done = runKeyOrdered({ maxConcurrency: 2, ...c, onRejected: (i) => rejected.push(i) });
    await settle();
    c.reject(0);
    await settle();
    c.finish(1);
    await done;
    expect(rejected).toEqual([0]);
    expect(c.started).toEqual([0, 1]);
  });
});

describe('CompletedPrefix', () => {
  it('moves only past items below which everything completed, sub-sequence numbers included', () => {
    const positions = [
      { sequenceNumber: '100', subSequenceNumber: 0 },
      { sequenceNumber: '100', subSequenceNumber: 1 },
      { sequenceNumber: '100', subSequenceNumber: 2 },
      { sequenceNumber: '200', subSequenceNumber: 0 },
    ];
    const p = new CompletedPrefix(positions);
    expect(p.complete(1)).toBeUndefined();
    expect(p.complete(3)).toBeUndefined();
    expect(p.position).toBeUndefined();
    expect(p.complete(0)).toEqual(positions[1]);
    expect(p.all).toBe(false);
    expect(p.complete(2)).toEqual(positions[3]);
    expect(p.all).toBe(true);
    expect(p.length).toBe(4);
  });
});

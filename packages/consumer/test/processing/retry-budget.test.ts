import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors';
import { bisect } from '../../src/processing/bisect';
import {
  FailureHistory,
  RetryBudget,
  resolveRetryBudget,
  settle,
  type SettleDeps,
} from '../../src/processing/retry-budget';

// The retry budget, the settle loop and batch bisection, without a server: the clock is a number
// the test moves, waits resolve at once, and calls fail as scripted.

function harness(options: { poison?: Set<string>; maxAttempts?: number; maxAgeMillis?: number }) {
  let now = 1_000;
  const calls: string[][] = [];
  const deadLettered: { items: string[]; attempts: number; own: number }[] = [];
  const waits: number[] = [];
  const deps: SettleDeps<string> = {
    budget: new RetryBudget(
      resolveRetryBudget({
        maxAttempts: options.maxAttempts ?? 3,
        ...(options.maxAgeMillis !== undefined ? { maxAgeMillis: options.maxAgeMillis } : {}),
      }),
      (attempt) => attempt * 100,
    ),
    now: () => now,
    call: async (items) => {
      calls.push([...items]);
      if (items.some((i) => options.poison?.has(i))) throw new Error('poison');
    },
    failed: async () => 'retry',
    spent: async (items, history) => {
      deadLettered.push({
        items: [...items],
        attempts: history.attempts,
        own: history.ownAttempts,
      });
      return true;
    },
    wait: async (ms) => {
      waits.push(ms);
      now += ms;
      return true;
    },
  };
  return {
    deps,
    calls,
    deadLettered,
    waits,
    advance: (ms: number) => (now += ms),
  };
}

describe('settle', () => {
  it('retries with backoff until maxAttempts, then dead-letters, once', async () => {
    const h = harness({ poison: new Set(['x']), maxAttempts: 3 });
    expect(await settle(['x'], h.deps)).toBe('dead-lettered');
    expect(h.calls).toEqual([['x'], ['x'], ['x']]);
    expect(h.waits).toEqual([100, 200]);
    expect(h.deadLettered).toEqual([{ items: ['x'], attempts: 3, own: 3 }]);
  });

  it('a record that recovers is done, never dead-lettered', async () => {
    const h = harness({ poison: new Set(['x']) });
    let calls = 0;
    const call = h.deps.call;
    h.deps.call = async (items, attempt) => {
      if (++calls === 2) return;
      await call(items, attempt);
    };
    expect(await settle(['x'], h.deps)).toBe('done');
    expect(h.deadLettered).toEqual([]);
  });

  it('maxAgeMillis spends the budget by age, whatever maxAttempts says', async () => {
    const h = harness({ poison: new Set(['x']), maxAttempts: 1000, maxAgeMillis: 250 });
    expect(await settle(['x'], h.deps)).toBe('dead-lettered');
    // Failures at t0, t0+100, t0+300 (age 300 >= 250).
    expect(h.calls).toHaveLength(3);
  });

  it("the policy's skip and stop end it without dead-lettering", async () => {
    const h = harness({ poison: new Set(['x']) });
    h.deps.failed = async () => 'skip';
    expect(await settle(['x'], h.deps)).toBe('skipped');
    h.deps.failed = async () => 'stop';
    expect(await settle(['x'], h.deps)).toBe('stopped');
    h.deps.failed = async () => 'retry';
    h.deps.wait = async () => false;
    expect(await settle(['x'], h.deps)).toBe('stopped');
    expect(h.deadLettered).toEqual([]);
  });

  it('a destination that did not acknowledge leaves it stopped, not settled', async () => {
    const h = harness({ poison: new Set(['x']), maxAttempts: 1 });
    h.deps.spent = async () => false;
    expect(await settle(['x'], h.deps)).toBe('stopped');
  });
});

describe('bisect', () => {
  it('splits a failing batch until only the poison record is dead-lettered', async () => {
    const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const h = harness({ poison: new Set(['e']), maxAttempts: 2 });
    const splits: string[][] = [];
    const ok = await bisect(items, new FailureHistory(), {
      now: h.deps.now,
      call: (slice) => h.deps.call(slice, 1),
      failed: h.deps.failed,
      single: async (slice, history) => (await settle(slice, h.deps, history)) !== 'stopped',
      halted: () => false,
      onSplit: (slice) => splits.push([...slice]),
    });
    expect(ok).toBe(true);
    expect(splits).toEqual([items, ['e', 'f', 'g'], ['e', 'f']]);
    // Left halves first: the processor still sees the shard in order.
    expect(h.calls).toEqual([
      items,
      ['a', 'b', 'c', 'd'],
      ['e', 'f', 'g'],
      ['e', 'f'],
      ['e'],
      ['e'],
      ['f'],
      ['g'],
    ]);
    // 3 failed slices that held it, then 2 calls of it alone (maxAttempts counts those).
    expect(h.deadLettered).toEqual([{ items: ['e'], attempts: 5, own: 2 }]);
  });

  it('stops between slices once halted', async () => {
    const h = harness({ poison: new Set(['a']) });
    let halted = false;
    const ok = await bisect(['a', 'b'], new FailureHistory(), {
      now: h.deps.now,
      call: async (slice) => {
        halted = true;
        await h.deps.call(slice, 1);
      },
      failed: h.deps.failed,
      single: async () => true,
      halted: () => halted,
    });
    expect(ok).toBe(false);
    expect(h.calls).toEqual([['a', 'b']]);
  });
});

describe('resolveRetryBudget', () => {
  it('fills in the defaults', () => {
    expect(resolveRetryBudget(undefined)).toEqual({
      maxAttempts: 3,
      maxAgeMillis: Infinity,
      baseDelayMillis: 200,
      maxDelayMillis: 30_000,
    });
  });
  it.each([
    [{ maxAttempts: 0 }],
    [{ maxAttempts: 1.5 }],
    [{ maxAgeMillis: -1 }],
    [{ baseDelayMillis: '10' }],
    [{ baseDelayMillis: 500, maxDelayMillis: 100 }],
  ])('refuses %j', (o) => {
    expect(() => resolveRetryBudget(o as never)).toThrow(ConfigError);
  });
});

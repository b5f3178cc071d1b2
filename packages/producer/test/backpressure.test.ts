import { describe, expect, it } from 'vitest';
import { BufferBudget } from '../src/backpressure';
import { PutAbortedError } from '../src/errors';

describe('BufferBudget', () => {
  it('serves waiters first come first served, skipping those aborted while queued', async () => {
    const budget = new BufferBudget(1, 1_000);
    expect(budget.tryAcquire(10)).toBe(true);
    const order: string[] = [];
    const controller = new AbortController();
    const a = budget.acquire(10).then(() => order.push('a'));
    const b = budget.acquire(10, controller.signal).then(
      () => order.push('b'),
      (error: unknown) => order.push(error instanceof PutAbortedError ? 'b aborted' : 'b?'),
    );
    const c = budget.acquire(10).then(() => order.push('c'));
    expect(budget.waiting).toBe(3);
    controller.abort();
    await b;
    expect(budget.waiting).toBe(2);
    // Someone waiting: a newcomer may not jump the queue even if it would fit.
    expect(budget.tryAcquire(1)).toBe(false);
    budget.release(10);
    await a;
    budget.release(10);
    await c;
    expect(order).toEqual(['b aborted', 'a', 'c']);
    expect(budget.waiting).toBe(0);
    expect(budget.records).toBe(1);
  });

  // The timeout is the assertion: a wake that is O(waiting) per release (an array's shift) took
  // 25 s here; the deque takes well under a second. 100x headroom keeps a loaded CI honest.
  it('wakes a queue far longer than the bound in linear time', { timeout: 10_000 }, async () => {
    const budget = new BufferBudget(1_000, Number.MAX_SAFE_INTEGER);
    for (let i = 0; i < 1_000; i++) budget.tryAcquire(1);
    const waiting = Array.from({ length: 200_000 }, () => budget.acquire(1));
    for (let i = 0; i < 200_000; i++) budget.release(1);
    await Promise.all(waiting);
    expect(budget.records).toBe(1_000);
    expect(budget.waiting).toBe(0);
  });

  it('rejectAll fails every live waiter and leaves none queued', async () => {
    const budget = new BufferBudget(1, 100);
    budget.tryAcquire(1);
    const waiters = [budget.acquire(1), budget.acquire(1)];
    budget.rejectAll(new Error('closed'));
    for (const w of waiters) await expect(w).rejects.toThrow('closed');
    expect(budget.waiting).toBe(0);
  });
});

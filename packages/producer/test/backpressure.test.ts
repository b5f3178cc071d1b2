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

  // How fast the wake is (a deque, not an array's O(n) shift) is the CPU benchmark's business
  // (its beyond-the-bound path); here, what users rely on: a queue far longer than the bound is
  // served completely and first come first served.
  it('serves a queue far longer than the bound completely, in arrival order', async () => {
    const budget = new BufferBudget(1_000, Number.MAX_SAFE_INTEGER);
    for (let i = 0; i < 1_000; i++) budget.tryAcquire(1);
    const served: number[] = [];
    const waiting = Array.from({ length: 200_000 }, (_, i) =>
      budget.acquire(1).then(() => void served.push(i)),
    );
    for (let i = 0; i < 200_000; i++) budget.release(1);
    await Promise.all(waiting);
    expect(served).toHaveLength(200_000);
    expect(served.every((v, i) => v === i)).toBe(true);
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

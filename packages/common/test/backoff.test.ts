import { describe, expect, it } from 'vitest';
import { abortableSleep, backoffCeiling, equalJitterDelay, fullJitterDelay } from '../src/backoff';

describe('backoff', () => {
  it('doubles from the base each attempt up to the cap, and never overflows', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffCeiling(a, 100, 2000))).toEqual([
      100, 200, 400, 800, 1600, 2000,
    ]);
    expect(backoffCeiling(0, 100, 2000)).toBe(100);
    expect(backoffCeiling(10_000, 100, 2000)).toBe(2000);
    expect(backoffCeiling(10_000, 100, Number.MAX_SAFE_INTEGER)).toBe(100 * 2 ** 30);
  });

  it('full jitter spans [0, ceiling)', () => {
    expect(fullJitterDelay(1, 100, 5000, () => 0.999)).toBe(99);
    expect(fullJitterDelay(3, 100, 5000, () => 0.5)).toBe(200);
    expect(fullJitterDelay(20, 100, 5000, () => 0.999)).toBe(4995);
    expect(fullJitterDelay(5, 100, 5000, () => 0)).toBe(0);
  });

  it('equal jitter spans [ceiling/2, ceiling)', () => {
    expect(equalJitterDelay(1, 1000, 5000, () => 0)).toBe(500);
    expect(equalJitterDelay(2, 1000, 5000, () => 0.999)).toBe(1999);
    expect(equalJitterDelay(9, 200, 5000, () => 0.5)).toBe(3750);
  });

  it('a sleep ends early, rejecting with the reason, when its signal aborts', async () => {
    const controller = new AbortController();
    const slept = abortableSleep(60_000, controller.signal);
    controller.abort(new Error('stopping'));
    await expect(slept).rejects.toThrow('stopping');
    await expect(abortableSleep(0, controller.signal)).rejects.toThrow('stopping');
    await expect(abortableSleep(0, new AbortController().signal)).resolves.toBeUndefined();
  });
});

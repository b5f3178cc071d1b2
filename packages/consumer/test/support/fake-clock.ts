import { vi } from 'vitest';

/** Deterministic randomness per worker (mulberry32), so a fleet on the fake clock replays exactly. */
export function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Waits for `promise` while the fake clock runs (table calls in flight take fake time). */
export async function finish<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  const out = promise.finally(() => (done = true));
  while (!done) await vi.advanceTimersByTimeAsync(50);
  return out;
}

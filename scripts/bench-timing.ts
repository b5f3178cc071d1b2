/** Timing for the benchmarks (`pnpm bench`): one place for how a run is timed and the best kept. */

/** Seconds one call of `fn` takes, awaited. */
export async function timeOnce(fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Best of `runs` timings of `fn` (after one warm-up), in seconds. */
export async function best(runs: number, fn: () => unknown): Promise<number> {
  await fn();
  let min = Infinity;
  for (let i = 0; i < runs; i++) min = Math.min(min, await timeOnce(fn));
  return min;
}

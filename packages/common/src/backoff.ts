/**
 * Exponential backoff, one formula for every retry loop: the producer's retrier, the consumer's
 * GetRecords loop and its fan-out resubscriptions. Pure apart from the sleep; `random` is passed
 * in so tests pin the jitter.
 */

/**
 * The ceiling of attempt `attempt` (1 for the first retry): `min(cap, base · 2^(attempt−1))`. The
 * exponent stops at 30 so a long run of failures never computes Infinity.
 */
export function backoffCeiling(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
}

/**
 * Full jitter: uniform in [0, ceiling). Spreads the retries of many clients instead of having
 * them hit a recovering shard in step.
 */
export function fullJitterDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * backoffCeiling(attempt, baseMs, capMs));
}

/**
 * Equal jitter: uniform in [ceiling/2, ceiling). For waits that must not be short, such as a
 * resubscription that the service refuses within its minimum interval.
 */
export function equalJitterDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeiling(attempt, baseMs, capMs);
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

/** Sleeps `ms`, or less if `signal` aborts (then rejects with its reason). The timer never outlives the wait. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

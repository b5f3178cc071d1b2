import { abortableSleep, fullJitterDelay, isFatalCode } from '@shardline/common';

// The sleep, the backoff formula and the list of fatal codes are shared with the producer
// (@shardline/common); these names stay for the readers that import them.
export { abortableSleep };

/** Exponential backoff with full jitter. */
export function jitter(attempt: number, baseMs: number, capMs: number): number {
  return fullJitterDelay(attempt, baseMs, capMs);
}

/** Errors of reading a shard that retrying will not fix. */
export function isFatalReadError(code: string): boolean {
  return isFatalCode(code);
}

export function errorName(error: unknown): string {
  const e = error as { name?: string; code?: string } | undefined;
  if (e?.code && /^E[A-Z]+/.test(e.code)) return e.code;
  return e?.name ?? 'UnknownError';
}

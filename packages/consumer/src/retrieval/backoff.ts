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

/** Exponential backoff with full jitter. */
export function jitter(attempt: number, baseMs: number, capMs: number): number {
  return Math.floor(Math.random() * Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1)));
}

/** Errors of reading a shard that retrying will not fix. */
const FATAL = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'InvalidArgumentException',
  'ValidationException',
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSAccessDeniedException',
  'KMSNotFoundException',
  'KMSOptInRequired',
  'UnrecognizedClientException',
]);

export function isFatalReadError(code: string): boolean {
  return FATAL.has(code);
}

export function errorName(error: unknown): string {
  const e = error as { name?: string; code?: string } | undefined;
  if (e?.code && /^E[A-Z]+/.test(e.code)) return e.code;
  return e?.name ?? 'UnknownError';
}

import { fullJitterDelay } from '@shardline/common';
import { ConfigError } from '../errors';

/** How long failing records are retried before they go to the dead-letter destination. */
export interface RetryBudgetOptions {
  /**
   * Calls of a failing record (in batch mode with bisection: of the record on its own, once
   * bisection has narrowed the failure down to it; without bisection: of the whole batch) before
   * it is dead-lettered. Default 3.
   */
  maxAttempts?: number;
  /**
   * Dead-letter a failing record once this long has passed since its first failure, whatever
   * `maxAttempts` says. Default: no age limit.
   */
  maxAgeMillis?: number;
  /** Backoff before the first retry; doubling, with full jitter. Default 200 ms. */
  baseDelayMillis?: number;
  /** Longest backoff between two attempts. Default 30,000 ms. */
  maxDelayMillis?: number;
}

export interface ResolvedRetryBudget {
  maxAttempts: number;
  maxAgeMillis: number;
  baseDelayMillis: number;
  maxDelayMillis: number;
}

/** Checks `retryBudget`; every bad value is a `ConfigError` naming it. */
export function resolveRetryBudget(options: RetryBudgetOptions | undefined): ResolvedRetryBudget {
  if (options !== undefined && (options === null || typeof options !== 'object'))
    throw new ConfigError('retryBudget must be an object');
  const o = options ?? {};
  const int = (value: unknown, name: string, fallback: number, min: number, max: number) => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw new ConfigError(
        `retryBudget.${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`,
      );
    return value;
  };
  const resolved = {
    maxAttempts: int(o.maxAttempts, 'maxAttempts', 3, 1, 1_000_000),
    maxAgeMillis: int(o.maxAgeMillis, 'maxAgeMillis', Infinity, 0, 30 * 86_400_000),
    baseDelayMillis: int(o.baseDelayMillis, 'baseDelayMillis', 200, 0, 3_600_000),
    maxDelayMillis: int(o.maxDelayMillis, 'maxDelayMillis', 30_000, 0, 3_600_000),
  };
  if (resolved.maxDelayMillis < resolved.baseDelayMillis)
    throw new ConfigError(
      `retryBudget.maxDelayMillis (${resolved.maxDelayMillis}) must not be below baseDelayMillis (${resolved.baseDelayMillis})`,
    );
  return resolved;
}

/** The failures of one record (or batch) so far: what a dead-letter record reports. */
export class FailureHistory {
  /** Failed calls that included it (bisection's calls of larger slices too). */
  attempts = 0;
  /** Failed calls of it on its own: what `maxAttempts` counts. */
  ownAttempts = 0;
  firstFailureAt: number | undefined;
  lastFailureAt: number | undefined;
  lastError: unknown;

  failed(error: unknown, now: number, own: boolean): void {
    this.attempts++;
    if (own) this.ownAttempts++;
    this.firstFailureAt ??= now;
    this.lastFailureAt = now;
    this.lastError = error;
  }

  /** The same history for a half of a bisected slice. */
  copy(): FailureHistory {
    return Object.assign(new FailureHistory(), this);
  }
}

/** Whether a history has used up its budget, and how long to wait before the next attempt. */
export class RetryBudget {
  constructor(
    readonly limits: ResolvedRetryBudget,
    /** Backoff before retry number `attempt` (1 for the first retry). */
    private readonly backoff: (attempt: number) => number = (attempt) =>
      fullJitterDelay(attempt, limits.baseDelayMillis, limits.maxDelayMillis),
  ) {}

  /** Unlimited attempts with the given backoff: the behaviour without a dead-letter destination. */
  static unlimited(backoff: (attempt: number) => number): RetryBudget {
    return new RetryBudget(
      { maxAttempts: Infinity, maxAgeMillis: Infinity, baseDelayMillis: 0, maxDelayMillis: 0 },
      backoff,
    );
  }

  spent(history: FailureHistory, now: number): boolean {
    return (
      history.ownAttempts >= this.limits.maxAttempts ||
      (history.firstFailureAt !== undefined &&
        now - history.firstFailureAt >= this.limits.maxAgeMillis)
    );
  }

  delay(history: FailureHistory): number {
    return this.backoff(Math.max(1, history.ownAttempts));
  }

  /** Backoff before retry number `attempt` of something else (a failed dead-letter send). */
  backoffFor(attempt: number): number {
    return this.backoff(Math.max(1, attempt));
  }
}

/** What the caller's policy says after a failed call. */
export type FailureAction = 'retry' | 'skip' | 'stop';

/** How one record (or batch) ended. */
export type Settled = 'done' | 'skipped' | 'dead-lettered' | 'stopped';

/** What {@link settle} runs on. */
export interface SettleDeps<T> {
  budget: RetryBudget;
  now(): number;
  /** One call of the processor; rejects when it failed. */
  call(items: readonly T[], attempt: number): Promise<void>;
  /** After each failed call (metrics, logs, `onProcessorError`). */
  failed(error: unknown, items: readonly T[], history: FailureHistory): Promise<FailureAction>;
  /** The budget is spent: dead-letter `items`. True once the destination acknowledged them. */
  spent(items: readonly T[], history: FailureHistory): Promise<boolean>;
  /** Waits `ms` before the next attempt; false when the shard is stopping meanwhile. */
  wait(ms: number): Promise<boolean>;
}

/**
 * Calls until the call succeeds, the policy skips, or the budget is spent and the items are
 * dead-lettered; `'stopped'` when the shard stops first (the items are then not done, and the
 * checkpoint stays below them).
 */
export async function settle<T>(
  items: readonly T[],
  d: SettleDeps<T>,
  history: FailureHistory = new FailureHistory(),
): Promise<Settled> {
  for (;;) {
    try {
      await d.call(items, history.ownAttempts + 1);
      return 'done';
    } catch (error) {
      history.failed(error, d.now(), true);
      const action = await d.failed(error, items, history);
      if (action === 'skip') return 'skipped';
      if (action === 'stop') return 'stopped';
      if (d.budget.spent(history, d.now()))
        return (await d.spent(items, history)) ? 'dead-lettered' : 'stopped';
      if (!(await d.wait(d.budget.delay(history)))) return 'stopped';
    }
  }
}

import type { FailureAction, FailureHistory } from './retry-budget';

/** What {@link bisect} runs on. */
export interface BisectDeps<T> {
  now(): number;
  /** One call of the processor on a slice of two or more items; rejects when it failed. */
  call(items: readonly T[]): Promise<void>;
  /** After a slice's failed call (metrics, logs, `onProcessorError`). */
  failed(error: unknown, items: readonly T[], history: FailureHistory): Promise<FailureAction>;
  /** A failing single item (or a whole batch of one): retried under the budget, then dead-lettered. */
  single(items: readonly T[], history: FailureHistory): Promise<boolean>;
  /** True once the shard is stopping: no further slice is tried. */
  halted(): boolean;
  /** A failing slice is about to be split in two. */
  onSplit?(items: readonly T[]): void;
}

/**
 * Runs a batch as Lambda's `BisectBatchOnFunctionError` does: a failing slice is split in two
 * halves, run in order (left first, so the processor still sees the shard in order), until a
 * failing slice of one item is left; only that one is retried under the budget and dead-lettered.
 * Items of a half that succeeds after its slice failed are delivered again (at least once). True
 * once every item is settled; false when the shard stopped first.
 */
export async function bisect<T>(
  items: readonly T[],
  history: FailureHistory,
  d: BisectDeps<T>,
): Promise<boolean> {
  if (d.halted()) return false;
  if (items.length <= 1) return d.single(items, history);
  try {
    await d.call(items);
    return true;
  } catch (error) {
    history.failed(error, d.now(), false);
    const action = await d.failed(error, items, history);
    if (action === 'skip') return true;
    if (action === 'stop') return false;
  }
  d.onSplit?.(items);
  const mid = Math.ceil(items.length / 2);
  return (
    (await bisect(items.slice(0, mid), history.copy(), d)) &&
    (await bisect(items.slice(mid), history.copy(), d))
  );
}

/**
 * Key-ordered parallelism, shared by the consumer (`maxConcurrencyPerShard`) and the Lambda
 * adapter (`maxConcurrency`): up to N items of one shard run at once, never two of one key, and
 * each key's items in the order they were pulled. Pure: no clock, no I/O, so both callers and
 * their tests drive it with plain promises.
 */

/** What {@link runKeyOrdered} runs. */
export interface KeyOrderedRun<T> {
  /** Most items running at once (≥ 1). */
  maxConcurrency: number;
  /** The next item in shard order, or undefined when there are no more. Called lazily. */
  pull(): T | undefined;
  /** Items of one key run one after another, in pull order. */
  keyOf(item: T): string | symbol;
  /** Runs one item. Should not reject; a rejection goes to `onRejected`. */
  execute(item: T): Promise<void>;
  /** Checked before anything more is pulled or started: true once nothing more may start. */
  halted?(): boolean;
  /**
   * The last word before `item` starts: false keeps it (and everything after it) unstarted and
   * ends starting, as a halt does.
   */
  admit?(item: T): boolean;
  /** `execute` rejected (a bug in the caller, e.g. a throwing logger). */
  onRejected?(item: T, error: unknown): void;
}

/** What was left unstarted when the run ended, in pull order. */
export interface KeyOrderedResult<T> {
  notStarted: T[];
}

interface Slot<T> {
  n: number;
  item: T;
  key: string | symbol;
}

/**
 * Runs items until they are all done, or until the run is halted (then it resolves once the
 * running ones have finished). Pulls a new item only when no waiting one can start, so with one
 * slot (or no busy key) the source is read no further ahead than it is run.
 */
export function runKeyOrdered<T>(run: KeyOrderedRun<T>): Promise<KeyOrderedResult<T>> {
  /** Pulled but not started (their key was busy, or an earlier item of their key waits), in order. */
  const waiting: Slot<T>[] = [];
  const busy = new Set<string | symbol>();
  let pulled = 0;
  let running = 0;
  let refused = false;

  /** The earliest item that may start: its key is idle and no earlier waiting item has its key. */
  const nextStartable = (): Slot<T> | undefined => {
    // Allocated only when something waits: the common case (no busy key in the way) stays cheap.
    let blocked = waiting.length > 0 ? new Set<string | symbol>() : undefined;
    for (let i = 0; i < waiting.length; i++) {
      const t = waiting[i]!;
      if (!busy.has(t.key) && !blocked!.has(t.key)) return waiting.splice(i, 1)[0];
      blocked!.add(t.key);
    }
    for (let item = run.pull(); item !== undefined; item = run.pull()) {
      const t = { n: pulled++, item, key: run.keyOf(item) };
      if (!busy.has(t.key) && !blocked?.has(t.key)) return t;
      waiting.push(t);
      (blocked ??= new Set()).add(t.key);
    }
    return undefined;
  };

  const halted = (): boolean => refused || (run.halted?.() ?? false);

  return new Promise<KeyOrderedResult<T>>((resolve, reject) => {
    let settled = false;
    let failure: { error: unknown } | undefined;
    const pump = (): void => {
      if (settled) return;
      try {
        while (!halted() && running < run.maxConcurrency) {
          const t = nextStartable();
          if (!t) break;
          if (run.admit && !run.admit(t.item)) {
            // Kept in its place, so the caller sees exactly what did not start, in order.
            const at = waiting.findIndex((w) => w.n > t.n);
            waiting.splice(at < 0 ? waiting.length : at, 0, t);
            refused = true;
            break;
          }
          running++;
          busy.add(t.key);
          void run
            .execute(t.item)
            .catch((error: unknown) => run.onRejected?.(t.item, error))
            .finally(() => {
              running--;
              busy.delete(t.key);
              pump();
            });
        }
      } catch (error) {
        // A throwing source or hook: nothing more starts, and the run fails once the running
        // items have finished (they are never abandoned mid-flight).
        refused = true;
        failure ??= { error };
      }
      if (running === 0) {
        settled = true;
        if (failure) reject(failure.error);
        else resolve({ notStarted: waiting.map((w) => w.item) });
      }
    };
    pump();
  });
}

/**
 * Which items of a run have completed, as the longest completed prefix: item i completes in any
 * order, and `position` is the last item of the prefix below which everything completed. The
 * items are user records in shard order, so that is a position (sequence and sub-sequence
 * number) a checkpoint may move to: nothing before it is unfinished.
 */
export class CompletedPrefix<P> {
  private readonly done: Uint8Array;
  private next = 0;

  constructor(private readonly positions: readonly P[]) {
    this.done = new Uint8Array(positions.length);
  }

  /** Item `index` completed; returns the new prefix position when the prefix grew, else undefined. */
  complete(index: number): P | undefined {
    if (index < 0 || index >= this.done.length) throw new RangeError(`no item ${index}`);
    this.done[index] = 1;
    if (index !== this.next) return undefined;
    while (this.next < this.done.length && this.done[this.next] === 1) this.next++;
    return this.positions[this.next - 1];
  }

  /** Items in the completed prefix. */
  get length(): number {
    return this.next;
  }

  /** True when every item completed. */
  get all(): boolean {
    return this.next === this.done.length;
  }

  /** The last position of the completed prefix; undefined while the first item is unfinished. */
  get position(): P | undefined {
    return this.next === 0 ? undefined : this.positions[this.next - 1];
  }
}

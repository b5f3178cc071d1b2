import { RecordExpiredError } from './errors';
import type { PendingLedger } from './pending-ledger';
import type { PendingRecord } from './user-record';

/** Timers the expiry uses: injectable, so tests drive it with a fake clock. */
export interface ExpiryTimers {
  /** Ms since the producer's epoch (the clock of record deadlines). */
  now(): number;
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/**
 * The one place a record's TTL ends. Wherever a record waits — in a partial aggregate, in its
 * ordering lane, in a shard's limiter queue, in a retry backoff, parked on a gap of the shard
 * map — the sweep fails it with `RecordExpiredError` (carrying its attempts) once `recordTtl` has
 * passed; the stages holding it drop settled records when they next touch them.
 *
 * A record inside a request in flight is not expired under it: the request may still succeed,
 * and a record reported expired must not also be written. It is judged when the request comes
 * back (`expireIfDue`), by the same rule.
 *
 * Every record gets the same TTL, so the ledger's acceptance order is deadline order: one timer,
 * armed for the oldest record's deadline, serves them all.
 */
export class Expiry {
  private timer: unknown;
  private timerAt = Infinity;

  constructor(
    private readonly ledger: PendingLedger,
    private readonly ttlMs: number,
    private readonly timers: ExpiryTimers,
    private readonly fail: (record: PendingRecord, error: RecordExpiredError) => void,
  ) {}

  /** Makes sure the sweep runs by the oldest pending record's deadline. Cheap when it is armed. */
  arm(): void {
    if (this.timer !== undefined) return;
    const head = this.ledger.oldest;
    if (head) this.schedule(head.deadline);
  }

  /** Fails `record` as expired if its TTL has passed (a request carrying it just came back). */
  expireIfDue(record: PendingRecord): boolean {
    if (record.settled) return true;
    if (record.deadline > this.timers.now()) return false;
    this.fail(record, new RecordExpiredError(this.ttlMs, record.attempts));
    return true;
  }

  /** Fails every expired record not in flight; re-arms for the next deadline. */
  sweep(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.timers.now();
    let r = this.ledger.oldest;
    while (r && r.deadline <= now) {
      const next = r.next;
      if (!r.inFlight) this.fail(r, new RecordExpiredError(this.ttlMs, r.attempts));
      r = next;
    }
    // Expired records still in flight are judged when their request returns; the timer is for
    // the first one not yet due.
    if (r) this.schedule(r.deadline);
  }

  stop(): void {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private schedule(deadline: number): void {
    if (deadline >= this.timerAt) return;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timerAt = deadline;
    this.timer = this.timers.set(() => this.sweep(), Math.max(0, deadline - this.timers.now()));
  }
}

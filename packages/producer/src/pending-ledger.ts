import type { PendingRecord } from './user-record';

/**
 * Every record accepted and not yet finished, in acceptance order: what `close` fails and what
 * `flush` waits for. An intrusive list (the links live on the records), because a Set entry per
 * record and a promise per record at each flush were a visible share of the producer's hot path.
 *
 * `drained()` resolves once every record added before the call is gone, whatever the order they
 * finish in: records carry increasing sequence numbers, so that is when the oldest record left
 * is younger than the call.
 */
export class PendingLedger {
  private head: PendingRecord | undefined;
  private tail: PendingRecord | undefined;
  private nextSeq = 0;
  private count = 0;
  /** Waiting `drained()` calls, in call order (so by increasing `upTo`). */
  private readonly drains: { upTo: number; resolve: () => void }[] = [];

  get size(): number {
    return this.count;
  }

  /** The record accepted first of those not finished (the earliest deadline: every TTL is the same). */
  get oldest(): PendingRecord | undefined {
    return this.head;
  }

  add(record: PendingRecord): void {
    record.seq = this.nextSeq++;
    record.prev = this.tail;
    record.next = undefined;
    if (this.tail) this.tail.next = record;
    else this.head = record;
    this.tail = record;
    this.count++;
  }

  /** Takes a record out; a no-op for one already out. */
  remove(record: PendingRecord): void {
    if (record.seq < 0) return;
    record.seq = -1;
    const { prev, next } = record;
    if (prev) prev.next = next;
    else this.head = next;
    if (next) next.prev = prev;
    else this.tail = prev;
    record.prev = record.next = undefined;
    this.count--;
    if (prev === undefined && this.drains.length > 0) this.release();
  }

  /** Resolves when every record added so far has been removed. */
  drained(): Promise<void> {
    const upTo = this.nextSeq;
    if (this.head === undefined || this.head.seq >= upTo) return Promise.resolve();
    return new Promise((resolve) => this.drains.push({ upTo, resolve }));
  }

  /** The records in acceptance order (a copy: safe to remove while iterating it). */
  toArray(): PendingRecord[] {
    const out: PendingRecord[] = [];
    for (let r = this.head; r; r = r.next) out.push(r);
    return out;
  }

  private release(): void {
    const oldest = this.head === undefined ? Infinity : this.head.seq;
    let released = 0;
    while (released < this.drains.length && this.drains[released]!.upTo <= oldest)
      this.drains[released++]!.resolve();
    if (released > 0) this.drains.splice(0, released);
  }
}

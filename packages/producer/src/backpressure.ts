import Denque from 'denque';
import { PutAbortedError } from './errors';

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (e: Error) => void;
  cleanup: () => void;
  /** Aborted while queued: skipped when its turn comes (removing it from the middle is O(n)). */
  cancelled: boolean;
}

/**
 * Bounds what the producer holds: records and bytes accepted and not yet finished. `acquire`
 * waits, first come first served, until the record fits (a lone record always fits, so one larger
 * than the byte bound cannot deadlock), and gives up when the caller's signal aborts.
 *
 * The waiters sit in a deque: a burst of puts far beyond the bound (200k records against the
 * default 100k, say) queues them all, and an array's `shift` made each release O(waiting), which
 * the CPU benchmark showed taking two thirds of the time.
 */
export class BufferBudget {
  records = 0;
  bytes = 0;
  private readonly waiters = new Denque<Waiter>();
  /** Waiters queued and not cancelled. */
  private queued = 0;

  constructor(
    private readonly maxRecords: number,
    private readonly maxBytes: number,
  ) {}

  private fits(bytes: number): boolean {
    return (
      this.records === 0 ||
      (this.records + 1 <= this.maxRecords && this.bytes + bytes <= this.maxBytes)
    );
  }

  /** True if a record of `bytes` can be taken at once (no one waiting ahead). */
  tryAcquire(bytes: number): boolean {
    if (this.queued > 0 || !this.fits(bytes)) return false;
    this.records++;
    this.bytes += bytes;
    return true;
  }

  acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire(bytes)) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(new PutAbortedError(signal.reason));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        waiter.cancelled = true;
        this.queued--;
        reject(new PutAbortedError(signal!.reason));
        this.wake();
      };
      const waiter: Waiter = {
        bytes,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
        cancelled: false,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.queued++;
    });
  }

  release(bytes: number): void {
    this.records--;
    this.bytes -= bytes;
    this.wake();
  }

  /** Releases several records at once (a whole Kinesis record's worth). */
  releaseMany(records: number, bytes: number): void {
    if (records === 0) return;
    this.records -= records;
    this.bytes -= bytes;
    this.wake();
  }

  /** Fails every waiter (on close). */
  rejectAll(error: Error): void {
    const all = this.waiters.toArray();
    this.waiters.clear();
    this.queued = 0;
    for (const w of all) {
      if (w.cancelled) continue;
      w.cleanup();
      w.reject(error);
    }
  }

  get waiting(): number {
    return this.queued;
  }

  private wake(): void {
    for (;;) {
      const w = this.waiters.peekFront();
      if (w === undefined) return;
      if (w.cancelled) {
        this.waiters.shift();
        continue;
      }
      if (!this.fits(w.bytes)) return;
      this.waiters.shift();
      this.queued--;
      this.records++;
      this.bytes += w.bytes;
      w.cleanup();
      w.resolve();
    }
  }
}

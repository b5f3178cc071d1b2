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
 * What the producer holds per byte of user data while a record is unfinished, in thirds of a
 * byte: the data itself (3), its copy inside an aggregate (3), the compressed aggregate (3, with
 * aggregate-scope compression), and the SDK's serialized request (8: base64 is 4/3 of the bytes,
 * in a buffer the serializer grows by doubling, so up to 8/3). Charging all of it against
 * `maxBufferedBytes` keeps memory under the bound plus a fixed amount, where counting the user
 * data alone let it reach 4–5× the bound (measured with `pnpm bench`).
 */
export function heldPerUserByte(options: {
  aggregation: boolean;
  aggregateCompression: boolean;
}): number {
  return 3 + (options.aggregation ? 3 : 0) + (options.aggregateCompression ? 3 : 0) + 8;
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
  /** What the accepted records hold, in thirds of a byte (see `heldThirds`). */
  private held = 0;
  private readonly maxHeld: number;
  private readonly waiters = new Denque<Waiter>();
  /** Waiters queued and not cancelled. */
  private queued = 0;
  /**
   * Called after records are released (room may have freed): the admission's queue of held puts
   * takes its turn there, behind this budget's own waiters, without a promise per put.
   */
  onRoom: (() => void) | undefined = undefined;

  /**
   * @param maxBytes the memory bound, in bytes.
   * @param heldThirds what the producer holds per byte of user data, in thirds of a byte: 3 counts
   *   the user data alone; the producer adds its working copies (see `heldPerUserByte`). Integer
   *   thirds keep bulk releases exactly equal to what was taken.
   */
  constructor(
    private readonly maxRecords: number,
    maxBytes: number,
    private readonly heldThirds = 3,
  ) {
    this.maxHeld = Math.min(Number.MAX_SAFE_INTEGER, maxBytes * 3);
  }

  private fits(bytes: number): boolean {
    return (
      this.records === 0 ||
      (this.records + 1 <= this.maxRecords && this.held + bytes * this.heldThirds <= this.maxHeld)
    );
  }

  /** True if a record of `bytes` can be taken at once (no one waiting ahead). */
  tryAcquire(bytes: number): boolean {
    if (this.queued > 0 || !this.fits(bytes)) return false;
    this.records++;
    this.held += bytes * this.heldThirds;
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
    this.held -= bytes * this.heldThirds;
    this.wake();
    this.onRoom?.();
  }

  /** Releases several records at once (a whole Kinesis record's worth). */
  releaseMany(records: number, bytes: number): void {
    if (records === 0) return;
    this.records -= records;
    this.held -= bytes * this.heldThirds;
    this.wake();
    this.onRoom?.();
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

  /** User bytes (data + partition key) of the records accepted and not yet released. */
  get bytes(): number {
    return this.held / this.heldThirds;
  }

  /** Bytes charged for the records accepted and not yet released. */
  get heldBytes(): number {
    return Math.ceil(this.held / 3);
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
      this.held += w.bytes * this.heldThirds;
      w.cleanup();
      w.resolve();
    }
  }
}

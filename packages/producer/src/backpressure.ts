import { PutAbortedError } from './errors';

/**
 * Bounds what the producer holds: records and bytes accepted and not yet finished. `acquire`
 * waits, first come first served, until the record fits (a lone record always fits, so one larger
 * than the byte bound cannot deadlock), and gives up when the caller's signal aborts.
 */
export class BufferBudget {
  records = 0;
  bytes = 0;
  private readonly waiters: { bytes: number; resolve: () => void; reject: (e: Error) => void; cleanup: () => void }[] = [];

  constructor(
    private readonly maxRecords: number,
    private readonly maxBytes: number,
  ) {}

  private fits(bytes: number): boolean {
    return this.records === 0 || (this.records + 1 <= this.maxRecords && this.bytes + bytes <= this.maxBytes);
  }

  /** True if a record of `bytes` can be taken at once (no one waiting ahead). */
  tryAcquire(bytes: number): boolean {
    if (this.waiters.length > 0 || !this.fits(bytes)) return false;
    this.records++;
    this.bytes += bytes;
    return true;
  }

  acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire(bytes)) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(new PutAbortedError(signal.reason));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new PutAbortedError(signal!.reason));
        this.wake();
      };
      const waiter = {
        bytes,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
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
    for (const w of this.waiters.splice(0)) {
      w.cleanup();
      w.reject(error);
    }
  }

  get waiting(): number {
    return this.waiters.length;
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const w = this.waiters.shift()!;
      this.records++;
      this.bytes += w.bytes;
      w.cleanup();
      w.resolve();
    }
  }
}

import { RetrievalError } from '../../errors';
import type { RetrievedBatch, ShardReader } from '../types';
import { ReadAheadBuffer, type ReadAheadLimits } from './read-ahead-buffer';

/**
 * Reads a shard ahead of its consumer, as the KCL's `PrefetchRecordsPublisher` does for polling:
 * the next read runs while the processor works on the batch `next()` last returned, so the read's
 * latency no longer adds to every batch. What is read goes into a bounded buffer
 * (`ReadAheadBuffer`); reading pauses while the buffer is full and resumes when `next()` takes.
 *
 * `next()` still returns batches one at a time, in read order, so "what was handed to the
 * processor" is still exactly what `next()` returned: the buffer is never delivered, never
 * checkpointed, and `close()` drops it. A read error is returned by `next()` after the batches
 * read before it. The wrapped reader keeps its own pacing (the reads-per-second floor, the idle
 * wait, backoff, iterator renewal); it is read with this reader's own abort signal, aborted only
 * by `close()`, so a consumer that stops waiting (a stop, a stall) does not lose a read midway.
 */
export class ReadAheadReader implements ShardReader {
  readonly shardId: string;
  private readonly buffer: ReadAheadBuffer;
  private readonly controller = new AbortController();
  private reading = false;
  private closed = false;
  private arrived: (() => void) | undefined;

  constructor(
    private readonly inner: ShardReader,
    limits: Readonly<ReadAheadLimits>,
  ) {
    this.shardId = inner.shardId;
    this.buffer = new ReadAheadBuffer(limits);
  }

  /** What is held, read but not yet returned (for tests and health). */
  get held(): { batches: number; records: number; bytes: number } {
    return { batches: this.buffer.batches, records: this.buffer.records, bytes: this.buffer.bytes };
  }

  /**
   * Whether the read loop runs: a read ahead is on the wire or waiting for its turn (for tests and
   * health). Once it is false only `next()` starts the loop again, and nothing does once closed:
   * while no `next()` is pending, no read goes out (the buffer is at its bound, holds the shard
   * end or an error, or the reader closed and its last read has ended).
   */
  get readingAhead(): boolean {
    return this.reading;
  }

  async next(signal: AbortSignal): Promise<RetrievedBatch> {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      if (this.closed)
        throw new RetrievalError(this.shardId, 'ReaderClosed', 'the reader was closed');
      const entry = this.buffer.take();
      if (entry) {
        this.readAhead();
        if ('error' in entry) throw entry.error;
        return entry.batch;
      }
      if (this.buffer.ended) return { records: [], shardEnded: true };
      this.readAhead();
      await this.arrival(signal);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    this.controller.abort(
      new RetrievalError(this.shardId, 'ReaderClosed', 'the reader was closed'),
    );
    this.arrived?.();
    await this.inner.close();
  }

  /** Starts the read loop unless it runs or the buffer wants nothing. */
  private readAhead(): void {
    if (this.reading || this.closed || !this.buffer.wantsMore) return;
    this.reading = true;
    void this.readWhileWanted();
  }

  private async readWhileWanted(): Promise<void> {
    // `reading` is cleared in the same synchronous step as the last `wantsMore` check, so a
    // `take()` right after can always start the loop again.
    while (!this.closed && this.buffer.wantsMore) {
      try {
        const batch = await this.inner.next(this.controller.signal);
        if (!this.closed) this.buffer.push(batch);
      } catch (error) {
        if (!this.closed) this.buffer.fail(error);
      }
      this.arrived?.();
    }
    this.reading = false;
  }

  /** Resolves when something was read (or the reader closed); rejects when `signal` aborts. */
  private arrival(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.arrived = undefined;
        reject(signal.reason);
      };
      this.arrived = () => {
        this.arrived = undefined;
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

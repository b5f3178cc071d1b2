import type { RetrievedBatch } from '../types';

/** How much a read-ahead reader may hold that the consumer has not taken yet. */
export interface ReadAheadLimits {
  /** Batches (GetRecords responses, empty ones included). */
  maxBatches: number;
  /** Raw Kinesis records (an aggregate counts as one). */
  maxRecords: number;
  /** Bytes of record data. */
  maxBytes: number;
}

/**
 * The KCL's prefetch bounds: `SimpleRecordsFetcherFactory` (amazon-kinesis-client,
 * retrieval/polling) defaults `maxPendingProcessRecordsInput` 3, `maxRecordsCount` 30,000 and
 * `maxByteSize` 8 MiB. (KCL 3's `PollingConfig` passes 4 batches since #1674; 30,000 records is
 * three full 10,000-record responses either way.)
 */
export const READ_AHEAD_DEFAULTS: Readonly<ReadAheadLimits> = Object.freeze({
  maxBatches: 3,
  maxRecords: 30_000,
  maxBytes: 8 * 1024 * 1024,
});

/** What the buffer hands out: a batch, or the error that ended reading ahead, in read order. */
export type ReadAheadEntry = { batch: RetrievedBatch } | { error: unknown };

/** Bytes of record data in a batch, as the KCL's `PrefetchCounters.getByteSize` counts them. */
export function batchBytes(batch: RetrievedBatch): number {
  let bytes = 0;
  for (const record of batch.records) bytes += record.data.byteLength;
  return bytes;
}

/**
 * The bookkeeping of read-ahead, without I/O: batches read but not yet taken, their records and
 * bytes, and whether another read may start. As the KCL's `PrefetchCounters.shouldGetNewRecords`,
 * a read starts when nothing is held, or while every count is under its bound; so the batch
 * count never exceeds `maxBatches`, and records and bytes exceed theirs by at most one response
 * (its size is known only once it arrives). Nothing is read after a shard end, nor past an error
 * until it is taken: the shard has no more, or its reader is about to be restarted from the last
 * record delivered. Nothing is read once cleared.
 */
export class ReadAheadBuffer {
  private readonly entries: ReadAheadEntry[] = [];
  private heldRecords = 0;
  private heldBytes = 0;
  private shardEnded = false;
  private failed = false;
  private cleared = false;

  constructor(readonly limits: Readonly<ReadAheadLimits>) {}

  get batches(): number {
    return this.entries.filter((e) => 'batch' in e).length;
  }

  get records(): number {
    return this.heldRecords;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** Anything to take (a batch or an error). */
  get ready(): boolean {
    return this.entries.length > 0;
  }

  /** The shard's end was read: nothing more will come. */
  get ended(): boolean {
    return this.shardEnded;
  }

  /** Whether another read may start now. */
  get wantsMore(): boolean {
    if (this.shardEnded || this.failed || this.cleared) return false;
    if (this.entries.length === 0) return true;
    return (
      this.batches < this.limits.maxBatches &&
      this.heldRecords < this.limits.maxRecords &&
      this.heldBytes < this.limits.maxBytes
    );
  }

  /** A batch was read. */
  push(batch: RetrievedBatch): void {
    this.entries.push({ batch });
    this.heldRecords += batch.records.length;
    this.heldBytes += batchBytes(batch);
    if (batch.shardEnded) this.shardEnded = true;
  }

  /** A read failed: the error is taken after the batches read before it. */
  fail(error: unknown): void {
    this.entries.push({ error });
    this.failed = true;
  }

  /**
   * The oldest entry, removed; undefined when nothing is held. Once an error is taken reading
   * may go on (as the wrapped reader would if asked again).
   */
  take(): ReadAheadEntry | undefined {
    const entry = this.entries.shift();
    if (!entry) return undefined;
    if ('batch' in entry) {
      this.heldRecords -= entry.batch.records.length;
      this.heldBytes -= batchBytes(entry.batch);
    } else this.failed = false;
    return entry;
  }

  /** Drops everything held (close, lease loss): none of it was delivered, so none is checkpointed. */
  clear(): void {
    this.entries.length = 0;
    this.heldRecords = 0;
    this.heldBytes = 0;
    this.cleared = true;
  }
}

import {
  HashKeyCache,
  RecordTooLargeError,
  compress,
  toBytes,
  validateExplicitHashKey,
  validatePartitionKey,
  type CompressionCodec,
} from '@shardline/aggregation';
import type { BufferBudget } from './backpressure';
import { ProducerClosedError } from './errors';
import type { PutResult } from './outcome';
import { PendingRecord, type OutcomeBatch } from './user-record';

/** A record to put, as `put` takes it. */
export interface AdmittedInput {
  partitionKey: string;
  data: Uint8Array | string;
  explicitHashKey?: string;
}

export interface AdmissionOptions {
  recordCompression: CompressionCodec | undefined;
  maxRecordBytes: number;
  recordTtl: number;
}

export interface AdmissionHooks {
  /** Fetches the shard map (once); rejects when the stream cannot be read. */
  start(): Promise<void>;
  /** Hands a record taken in to the pipeline (ledger, expiry, route). */
  takeIn(record: PendingRecord): void;
  /** Ms since the producer's epoch, the clock of record deadlines. */
  clock(): number;
}

/**
 * The first stage, and the one way in (`put`, `putMany`, `writable`): checks a record at the
 * boundary, then takes it in at once when the shard map is loaded and there is buffer room, else
 * once there is (or the caller's signal aborts). The producer sets `mapReady`, `closing` and
 * `closed` as its state changes.
 */
export class Admission {
  mapReady = false;
  closing = false;
  closed = false;
  /** Puts waiting for the shard map or buffer room: `flush` waits for them to be taken in. */
  readonly waiting = new Set<Promise<void>>();
  private readonly hashKeys = new HashKeyCache();

  constructor(
    private readonly options: AdmissionOptions,
    private readonly budget: BufferBudget,
    private readonly hooks: AdmissionHooks,
  ) {}

  /**
   * Takes `record` in. Its outcome goes to `resolve`/`reject`, or to `batch[index]`; a bad
   * record's error too. Returns undefined when the record is settled or taken in already, else a
   * promise that resolves (never rejects) once it is taken in or has failed waiting.
   * `whileClosing`: a record of a call made before `close` still goes in while it drains.
   */
  admit(
    record: AdmittedInput,
    signal: AbortSignal | undefined,
    whileClosing: boolean,
    resolve: ((result: PutResult) => void) | undefined,
    reject: ((error: Error) => void) | undefined,
    batch?: OutcomeBatch,
    index = 0,
  ): Promise<void> | undefined {
    let data: Uint8Array;
    try {
      data = this.check(record, whileClosing);
    } catch (error) {
      if (batch) batch.settle(index, { status: 'rejected', reason: error as Error });
      else reject!(error as Error);
      return undefined;
    }
    const { partitionKey, explicitHashKey } = record;
    const bytes = data.length + partitionKey.length;
    if (this.mapReady && this.budget.tryAcquire(bytes)) {
      this.accept(partitionKey, explicitHashKey, data, bytes, resolve, reject, batch, index);
      return undefined;
    }
    const accepted = this.waitForRoom(bytes, signal).then(
      () => this.accept(partitionKey, explicitHashKey, data, bytes, resolve, reject, batch, index),
      (error: Error) => {
        if (batch) batch.settle(index, { status: 'rejected', reason: error });
        else reject!(error);
      },
    );
    this.track(accepted);
    return accepted;
  }

  /** Counts `p` among the puts waiting to be taken in until it settles. */
  track(p: Promise<void>): void {
    this.waiting.add(p);
    void p.then(() => this.waiting.delete(p));
  }

  /** Checks a record at the boundary; returns its data as it will go out. Throws a typed error for bad input. */
  private check(record: AdmittedInput, whileClosing: boolean): Uint8Array {
    if (this.closed || (this.closing && !whileClosing))
      throw new ProducerClosedError('producer is closed');
    if (record === null || typeof record !== 'object')
      throw new TypeError('put takes a record object');
    const partitionKey = validatePartitionKey(record.partitionKey);
    validateExplicitHashKey(record.explicitHashKey);
    let data = toBytes(record.data);
    if (this.options.recordCompression) data = compress(data, this.options.recordCompression);
    const max = this.options.maxRecordBytes;
    // A UTF-16 unit takes at most 3 UTF-8 bytes: most records are clearly within the limit
    // without measuring the key's UTF-8 length.
    if (data.length + partitionKey.length * 3 > max) {
      const size = data.length + Buffer.byteLength(partitionKey, 'utf8');
      if (size > max) throw new RecordTooLargeError(size, max);
    }
    return data;
  }

  /**
   * Waits for the shard map and buffer room for a record of `bytes` (or the caller's abort). A put
   * made before `close` still gets room while close drains; once closed, none.
   */
  private async waitForRoom(bytes: number, signal: AbortSignal | undefined): Promise<void> {
    await this.hooks.start();
    await this.budget.acquire(bytes, signal);
    if (this.closed) {
      this.budget.release(bytes);
      throw new ProducerClosedError('producer is closed');
    }
  }

  /** Takes a record in (room already acquired). */
  private accept(
    partitionKey: string,
    explicitHashKey: string | undefined,
    data: Uint8Array,
    bytes: number,
    resolve: ((result: PutResult) => void) | undefined,
    reject: ((error: Error) => void) | undefined,
    batch: OutcomeBatch | undefined,
    index: number,
  ): void {
    const now = this.hooks.clock();
    this.hooks.takeIn(
      new PendingRecord(
        partitionKey,
        explicitHashKey,
        data,
        this.hashKeys.of(partitionKey, explicitHashKey),
        bytes,
        now,
        now + this.options.recordTtl,
        resolve,
        reject,
        batch,
        index,
      ),
    );
  }
}

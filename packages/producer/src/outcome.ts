import type { BufferBudget } from './backpressure';
import type { KinesisRecord } from './kinesis-record';
import type { MetricsRecorder } from './metrics';
import type { PendingLedger } from './pending-ledger';
import type { PendingRecord } from './user-record';

/** One try at delivering a user record, as it ends up in its outcome. */
export interface Attempt {
  /** When the PutRecords request carrying it was sent (ms since epoch). */
  startedAt: number;
  /** How long the request took, in ms. */
  durationMs: number;
  success: boolean;
  /** Kinesis' error code when it failed (`ProvisionedThroughputExceededException`, `InternalFailure`, `ECONNRESET`, ...). */
  errorCode?: string;
  errorMessage?: string;
}

/** What `put` resolves to: where the record landed. */
export interface PutResult {
  shardId: string;
  sequenceNumber: string;
  /** The record's position inside its aggregate, when it was aggregated with others. */
  subSequenceNumber?: number;
  /** True when the record went out inside a KPL aggregate of several records. */
  aggregated: boolean;
  /** Every attempt, the successful one last (read-only: records of one request may share it). */
  attempts: readonly Attempt[];
}

/** One record's outcome from `putMany`, in the shape `Promise.allSettled` uses. */
export type PutOutcome =
  | { status: 'fulfilled'; value: PutResult }
  | { status: 'rejected'; reason: Error };

/**
 * The last stage: a user record's one outcome. Settling it also takes it out of the ledger (what
 * `flush` and `close` wait on) and gives its buffer room back; a record already settled is left
 * as it is, so no record ever gets two outcomes.
 */
export class Outcomes {
  constructor(
    private readonly ledger: PendingLedger,
    private readonly metrics: MetricsRecorder,
    private readonly budget: BufferBudget,
    /** Ms since the producer's epoch, the clock of `acceptedAt`. */
    private readonly clock: () => number,
  ) {}

  /**
   * Resolves every user record of a Kinesis record that Kinesis took. The hot path of the
   * producer: counters and the buffer budget are updated once per Kinesis record, and records that
   * succeeded at their first try share one frozen attempts list.
   */
  succeed(e: KinesisRecord, shardId: string, sequenceNumber: string, success: Attempt): void {
    const firstTry: readonly Attempt[] = Object.freeze([success]);
    const listening = this.metrics.listening;
    let released = 0;
    let releasedBytes = 0;
    for (let i = 0; i < e.records.length; i++) {
      const r = e.records[i]!;
      if (r.settled) continue;
      let attempts: readonly Attempt[];
      if (r.attempts.length === 0) attempts = firstTry;
      else {
        r.addAttempt(success);
        attempts = r.attempts;
      }
      const result: PutResult = e.aggregated
        ? { shardId, sequenceNumber, subSequenceNumber: i, aggregated: true, attempts }
        : { shardId, sequenceNumber, aggregated: false, attempts };
      released++;
      releasedBytes += r.bufferedBytes;
      if (listening)
        this.metrics.emit({
          type: 'recordSucceeded',
          shardId,
          bufferedMs: this.clock() - r.acceptedAt,
          attempts: attempts.length,
        });
      r.succeed(result);
      // After the outcome: a flush waiting on the ledger then resumes after the caller's own handler.
      this.ledger.remove(r);
    }
    if (!listening) this.metrics.recordsSucceeded(shardId, released);
    this.budget.releaseMany(released, releasedBytes);
  }

  /** A user record's final failure, with the error naming its cause. */
  fail(record: PendingRecord, error: Error & { code?: string }): void {
    if (record.settled) return;
    this.metrics.emit({ type: 'recordFailed', code: error.code ?? error.name });
    record.fail(error);
    this.ledger.remove(record);
    this.budget.release(record.bufferedBytes);
  }
}

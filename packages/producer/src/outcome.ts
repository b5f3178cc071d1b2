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

/**
 * When the automatic checkpoint after a batch is written (`autoCheckpoint`).
 *
 * The KCL leaves the cadence to the application; a checkpoint per batch costs a DynamoDB write
 * per batch (up to five a second per shard when polling, more with fan-out) and, measured
 * (`pnpm bench`), about a tenth of the polling consumer's CPU at 8,000 records a batch. A longer
 * interval trades that for more records delivered again after a crash: at most what was delivered
 * within one interval (or `maxRecords`) before it. Graceful endings (stop, hand-off, shard end)
 * always write what was delivered, whatever the cadence.
 */
export class CheckpointCadence {
  private pendingRecords = 0;
  private lastWriteAt: number;

  /**
   * @param intervalMillis `0`: after every batch; otherwise at most one write per interval (from
   *   the last write), so a crash delivers again at most one interval's records.
   * @param maxRecords with an interval: also as soon as this many records wait.
   * @param now the clock.
   */
  constructor(
    private readonly intervalMillis: number,
    private readonly maxRecords: number,
    private readonly now: () => number,
  ) {
    this.lastWriteAt = now();
  }

  /** Records of a batch the processor finished. */
  delivered(records: number): void {
    this.pendingRecords += records;
  }

  /** True when a checkpoint is due now (checked after every read, empty ones included). */
  get due(): boolean {
    if (this.pendingRecords === 0) return false;
    if (this.intervalMillis === 0) return true;
    return (
      this.pendingRecords >= this.maxRecords || this.now() - this.lastWriteAt >= this.intervalMillis
    );
  }

  /** The checkpoint was written (or tried: a failure is reported, and the next one is due later). */
  written(): void {
    this.pendingRecords = 0;
    this.lastWriteAt = this.now();
  }
}

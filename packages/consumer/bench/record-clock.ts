// Times a run over a known number of records: from the first one's start to the last one's end.

/** Counts records to `total`; `done` settles when the last is counted. */
export class RecordClock {
  /** performance.now() when the first record (or batch) started; 0 before. */
  firstAt = 0;
  /** performance.now() when the last record was counted; 0 before. */
  lastAt = 0;
  readonly done: Promise<void>;
  private count = 0;
  private finish!: () => void;

  constructor(readonly total: number) {
    this.done = new Promise<void>((resolve) => (this.finish = resolve));
  }

  /** Call as processing of a record or batch starts: only the first call counts. */
  started(): void {
    this.firstAt ||= performance.now();
  }

  /** Call as `n` records are finished. */
  finished(n = 1): void {
    this.count += n;
    if (this.count === this.total) {
      this.lastAt = performance.now();
      this.finish();
    }
  }
}

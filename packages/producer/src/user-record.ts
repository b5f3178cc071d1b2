import type { Attempt, PutResult } from './outcome';

/**
 * A user record from `put` to its outcome. It carries its attempts, so its success or failure can
 * say everything that happened to it.
 */
export class PendingRecord {
  readonly attempts: Attempt[] = [];
  /** Shard the record is routed to, by the map in use when it was last (re)aggregated. */
  predictedShard = '';
  /** Shard-map version used for that prediction. */
  mapVersion = 0;
  settled = false;
  private waiters: (() => void)[] | undefined;

  constructor(
    readonly partitionKey: string,
    readonly explicitHashKey: string | undefined,
    /** Data as it goes out (compressed when compression scope is 'record'). */
    readonly data: Uint8Array,
    readonly hashKey: bigint,
    /** Bytes counted against the buffer bound. */
    readonly bufferedBytes: number,
    readonly acceptedAt: number,
    readonly deadline: number,
    private readonly resolveOutcome: (result: PutResult) => void,
    private readonly rejectOutcome: (error: Error) => void,
  ) {}

  succeed(result: PutResult): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveOutcome(result);
    this.notify();
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectOutcome(error);
    this.notify();
  }

  /** Resolves once the record has its outcome (for flush and close; never rejects). */
  whenSettled(): Promise<void> {
    if (this.settled) return Promise.resolve();
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  private notify(): void {
    if (this.waiters) for (const w of this.waiters) w();
    this.waiters = undefined;
  }
}

import type { Attempt, PutResult } from './outcome';

/** The attempts of a record that has had none: shared, so a record that succeeds first time allocates no list. */
const NO_ATTEMPTS: readonly Attempt[] = Object.freeze([]);

/**
 * A user record from `put` to its outcome. It carries its attempts, so its success or failure can
 * say everything that happened to it.
 */
export class PendingRecord {
  private attemptList: readonly Attempt[] = NO_ATTEMPTS;
  /** Shard the record is routed to, by the map in use when it was last (re)aggregated. */
  predictedShard = '';
  /** Shard-map version used for that prediction. */
  mapVersion = 0;
  settled = false;
  /** Links and place in the producer's `PendingLedger` (intrusive: no per-record set entry). */
  seq = 0;
  prev: PendingRecord | undefined = undefined;
  next: PendingRecord | undefined = undefined;
  listed = false;

  constructor(
    readonly partitionKey: string,
    readonly explicitHashKey: string | undefined,
    /** Data as it goes out (compressed when compression scope is 'record'). */
    readonly data: Uint8Array,
    readonly hashKey: bigint,
    /** Bytes counted against the buffer bound. */
    readonly bufferedBytes: number,
    /** When `put` accepted it, in the producer's clock (ms since its epoch). */
    readonly acceptedAt: number,
    /** When its TTL runs out, same clock. */
    readonly deadline: number,
    private readonly resolveOutcome: (result: PutResult) => void,
    private readonly rejectOutcome: (error: Error) => void,
  ) {}

  /** Every attempt so far, oldest first. */
  get attempts(): readonly Attempt[] {
    return this.attemptList;
  }

  addAttempt(attempt: Attempt): void {
    if (this.attemptList === NO_ATTEMPTS) this.attemptList = [attempt];
    else (this.attemptList as Attempt[]).push(attempt);
  }

  succeed(result: PutResult): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveOutcome(result);
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectOutcome(error);
  }
}

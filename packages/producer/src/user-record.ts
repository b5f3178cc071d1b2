import type { Attempt, PutOutcome, PutResult } from './outcome';
import type { ShardRanges } from './shard-map';

/** Where the records of one `putMany` call report: one promise for the lot. */
export interface OutcomeBatch {
  settle(index: number, outcome: PutOutcome): void;
}

/**
 * A partition key's route, cached per key: its hash key (MD5, once per key) and the shard it maps
 * to by `ranges`, the map it was last looked up in. Real traffic repeats its keys, and a hash and
 * a binary search over BigInt ranges per record were a visible share of the producer's profile.
 */
export interface KeyRoute {
  readonly hashKey: bigint;
  ranges: ShardRanges | undefined;
  shardId: string;
}

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
  /** Its partition key's cached route (hash key, and shard by the last map), shared by the key's records. */
  keyRoute: KeyRoute | undefined = undefined;
  settled = false;
  /** Inside a PutRecords request now: the expiry waits for the request's answer. */
  inFlight = false;
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
    /**
     * When the producer took it in, in the producer's clock (ms since its epoch): at `put`, or
     * once there was room for it (the admission sets both times then).
     */
    public acceptedAt: number,
    /** When its TTL runs out, same clock. */
    public deadline: number,
    /** The `put` promise's resolvers; unused when the record belongs to a `putMany` batch. */
    private readonly resolveOutcome: ((result: PutResult) => void) | undefined,
    private readonly rejectOutcome: ((error: Error) => void) | undefined,
    private readonly batch?: OutcomeBatch,
    /** Position in the batch. */
    private readonly batchIndex = 0,
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
    if (this.batch) this.batch.settle(this.batchIndex, { status: 'fulfilled', value: result });
    else this.resolveOutcome!(result);
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    if (this.batch) this.batch.settle(this.batchIndex, { status: 'rejected', reason: error });
    else this.rejectOutcome!(error);
  }
}

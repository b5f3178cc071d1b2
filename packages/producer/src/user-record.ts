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
  // Every field costs 8 bytes per record held, and a burst holds 100,000s of them (GC copies each
  // surviving record twice): outcome sinks share two fields, the ledger's membership is `seq`.
  private attemptList: readonly Attempt[] = NO_ATTEMPTS;
  /** Shard the record is routed to, by the map in use when it was last (re)aggregated. */
  predictedShard = '';
  /** Its hash key, and the shard it mapped to by the last map: shared by the records of one partition key. */
  readonly keyRoute: KeyRoute;
  settled = false;
  /**
   * The W3C trace context it carries (`traceparent`, `tracestate`), written as its tags when it
   * shares an aggregate; undefined for most records (one field, no object, when tracing is off).
   */
  tags: Readonly<Record<string, string>> | undefined = undefined;
  /** Inside a PutRecords request now: the expiry waits for the request's answer. */
  inFlight = false;
  /** Links and place in the producer's `PendingLedger` (intrusive: no per-record set entry); −1 while not in it. */
  seq = -1;
  prev: PendingRecord | undefined = undefined;
  next: PendingRecord | undefined = undefined;
  /** The `put` promise's resolve, or the `putMany` batch. */
  private readonly sink: ((result: PutResult) => void) | OutcomeBatch | undefined;
  /** The `put` promise's reject, or the position in the batch. */
  private readonly sinkAux: ((error: Error) => void) | number | undefined;

  constructor(
    readonly partitionKey: string,
    readonly explicitHashKey: string | undefined,
    /** Data as it goes out (compressed when compression scope is 'record'). */
    readonly data: Uint8Array,
    /** The hash key, or its partition key's cached route (which holds it). */
    hashKey: bigint | KeyRoute,
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
    resolveOutcome: ((result: PutResult) => void) | undefined,
    rejectOutcome: ((error: Error) => void) | undefined,
    batch?: OutcomeBatch,
    /** Position in the batch. */
    batchIndex = 0,
  ) {
    this.keyRoute =
      typeof hashKey === 'bigint' ? { hashKey, ranges: undefined, shardId: '' } : hashKey;
    this.sink = batch ?? resolveOutcome;
    this.sinkAux = batch ? batchIndex : rejectOutcome;
  }

  /** The 128-bit hash key that routes the record. */
  get hashKey(): bigint {
    return this.keyRoute.hashKey;
  }

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
    const aux = this.sinkAux;
    if (typeof aux === 'number')
      (this.sink as OutcomeBatch).settle(aux, { status: 'fulfilled', value: result });
    else (this.sink as (result: PutResult) => void)(result);
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    const aux = this.sinkAux;
    if (typeof aux === 'number')
      (this.sink as OutcomeBatch).settle(aux, { status: 'rejected', reason: error });
    else aux!(error);
  }
}

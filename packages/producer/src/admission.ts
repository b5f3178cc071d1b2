import Denque from 'denque';
import {
  RecordTooLargeError,
  partitionKeyHash,
  compress,
  toBytes,
  validateExplicitHashKey,
  validatePartitionKey,
  type CompressionCodec,
} from '@shardline/aggregation';
import type { BufferBudget } from './backpressure';
import { ProducerClosedError, PutAbortedError } from './errors';
import type { PutResult } from './outcome';
import { PendingRecord, type KeyRoute, type OutcomeBatch } from './user-record';
import { ActiveTraceContext, traceTags, type TraceContext, type TraceTags } from './trace-context';

/** Partition keys whose routes are cached; the cache is dropped whole when full (O(1), bounded). */
const MAX_CACHED_KEYS = 65_536;
/** Records a drain takes in per clock read. */
const DRAIN_CLOCK_RECORDS = 256;
/**
 * Records one drain takes in before it lets I/O run (the rest follow in the next turn). Taking a
 * whole burst in at once kept all of it live at the same time, before any request could return:
 * the CPU benchmark's cold burst spent 15–25% less CPU in slices of this size.
 */
const DRAIN_SLICE_RECORDS = 8192;

/** A record to put, as `put` takes it. */
export interface AdmittedInput {
  partitionKey: string;
  data: Uint8Array | string;
  explicitHashKey?: string;
  traceContext?: TraceContext;
}

/** The active trace context of a call: its tags, none, or why the supplier could not give one. */
type Active = TraceTags | Error | undefined;

export interface AdmissionOptions {
  recordCompression: CompressionCodec | undefined;
  /** Supplies the active trace context at put time; undefined: records carry only their own. */
  traceContext?: (() => TraceContext | undefined) | undefined;
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

/** A held put that needs more than its record: an abort signal to honour, or someone to tell when it is in. */
class HeldPut {
  cancelled = false;
  onAbort: (() => void) | undefined = undefined;

  constructor(
    readonly record: PendingRecord,
    readonly signal: AbortSignal | undefined,
    /** Called once the record is taken in or has failed waiting. */
    readonly done: (() => void) | undefined,
  ) {}
}

/**
 * The records of one `putMany` call from `next` on, waiting their turn as one entry (a huge call
 * holds one entry, not one per record). They are checked as their turn comes, as consecutive puts
 * made before `close` would be; `head` is the next one, checked and waiting for room.
 */
class HeldBatch {
  cancelled = false;
  head: PendingRecord | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;

  constructor(
    readonly records: readonly AdmittedInput[],
    public next: number,
    readonly batch: OutcomeBatch,
    readonly signal: AbortSignal | undefined,
    /** The call was made before `close`: its records still go in while close drains. */
    readonly beforeClose: boolean,
    /** The trace context active when the call was made (its records are checked later). */
    readonly active: Active,
  ) {}
}

type Held = PendingRecord | HeldPut | HeldBatch;

/**
 * The first stage, and the one way in (`put`, `putMany`, `writable`): checks a record at the
 * boundary, then takes it in at once when the shard map is loaded and there is buffer room, else
 * holds it, in arrival order, until there is (or the caller's signal aborts). The producer sets
 * `mapReady`, `closing` and `closed` as its state changes.
 *
 * Held puts wait in one queue, not as a promise (and its closures) each: a service starting up
 * puts its first burst before the shard map has loaded, and a promise chain per record there cost
 * four times the CPU of the whole fast path (the CPU benchmark's cold path). The map's arrival and
 * every release of buffer room drain the queue, in order, synchronously.
 */
export class Admission {
  mapReady = false;
  closing = false;
  closed = false;
  private readonly keyRoutes = new Map<string, KeyRoute>();
  private readonly held = new Denque<Held>();
  /** Entries ever held, and ever done with (taken in, failed or cancelled): `takenIn` waits on these. */
  private heldTotal = 0;
  private doneTotal = 0;
  private readonly takenWaiters: { upTo: number; resolve: () => void }[] = [];
  private starting = false;
  private drainNow = 0;
  private drainScheduled = false;
  private drainTaken = 0;
  private draining = false;
  private drainAgain = false;
  private readonly activeTrace: ActiveTraceContext | undefined;

  constructor(
    private readonly options: AdmissionOptions,
    private readonly budget: BufferBudget,
    private readonly hooks: AdmissionHooks,
  ) {
    budget.onRoom = () => this.drain();
    this.activeTrace = options.traceContext && new ActiveTraceContext(options.traceContext);
  }

  /** Puts held, waiting for the shard map or buffer room (a `putMany` call's rest counts once). */
  get waitingCount(): number {
    return this.held.length;
  }

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
    const pending = this.prepare(
      record,
      whileClosing,
      resolve,
      reject,
      batch,
      index,
      this.active(),
    );
    if (pending === undefined || this.tryTakeIn(pending)) return undefined;
    return new Promise<void>((done) => this.hold(new HeldPut(pending, signal, done)));
  }

  /** `put`'s way in: as `admit`, without a promise to say when the record is in (nobody asks). */
  put(
    record: AdmittedInput,
    signal: AbortSignal | undefined,
    resolve: (result: PutResult) => void,
    reject: (error: Error) => void,
  ): void {
    const pending = this.prepare(record, false, resolve, reject, undefined, 0, this.active());
    if (pending === undefined || this.tryTakeIn(pending)) return;
    this.hold(signal ? new HeldPut(pending, signal, undefined) : pending);
  }

  /** `putMany`'s way in: every record reports to `batch`; those without room wait as one entry. */
  putMany(
    records: readonly AdmittedInput[],
    batch: OutcomeBatch,
    signal: AbortSignal | undefined,
  ): void {
    // One clock read for the call: its records are taken in within the same millisecond or so,
    // and a read per record was a visible share of the fast path.
    const now = this.hooks.clock();
    // One context for the call, read now: the records held for later are checked outside it.
    const active = this.active();
    for (let i = 0; i < records.length; i++) {
      if (this.held.length > 0 || !this.mapReady) {
        this.hold(new HeldBatch(records, i, batch, signal, !this.closing, active));
        return;
      }
      const pending = this.prepare(records[i]!, false, undefined, undefined, batch, i, active);
      if (pending === undefined || this.tryTakeIn(pending, now)) continue;
      const rest = new HeldBatch(records, i + 1, batch, signal, !this.closing, active);
      rest.head = pending;
      this.hold(rest);
      return;
    }
  }

  /** Resolves once every put held now has been taken in or has failed; undefined if none is held. */
  takenIn(): Promise<void> | undefined {
    if (this.held.length === 0) return undefined;
    const upTo = this.heldTotal;
    return new Promise((resolve) => this.takenWaiters.push({ upTo, resolve }));
  }

  /** Fails every held put with `error` (on close). */
  rejectAll(error: Error): void {
    while (this.held.length > 0) this.finishHead(error);
  }

  /** Checks a record and builds its state; undefined (its outcome reported) when it is refused. */
  private prepare(
    record: AdmittedInput,
    whileClosing: boolean,
    resolve: ((result: PutResult) => void) | undefined,
    reject: ((error: Error) => void) | undefined,
    batch: OutcomeBatch | undefined,
    index: number,
    active: Active,
  ): PendingRecord | undefined {
    let data: Uint8Array;
    let tags: TraceTags | undefined;
    try {
      data = this.check(record, whileClosing);
      if (record.traceContext !== undefined) tags = traceTags(record.traceContext);
      else if (active instanceof Error) throw active;
      else tags = active;
    } catch (error) {
      if (batch) batch.settle(index, { status: 'rejected', reason: error as Error });
      else reject!(error as Error);
      return undefined;
    }
    const { partitionKey, explicitHashKey } = record;
    const pending = new PendingRecord(
      partitionKey,
      explicitHashKey,
      data,
      explicitHashKey === undefined ? this.routeOf(partitionKey) : BigInt(explicitHashKey),
      data.length + partitionKey.length,
      0,
      0,
      resolve,
      reject,
      batch,
      index,
    );
    if (tags !== undefined) pending.tags = tags;
    return pending;
  }

  /** The supplier's trace context now; an error it throws or a bad context is the call's records' error. */
  private active(): Active {
    if (this.activeTrace === undefined) return undefined;
    try {
      return this.activeTrace.tags();
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /** The cached route of a partition key (its MD5 computed once). */
  private routeOf(partitionKey: string): KeyRoute {
    let route = this.keyRoutes.get(partitionKey);
    if (route === undefined) {
      if (this.keyRoutes.size >= MAX_CACHED_KEYS) this.keyRoutes.clear();
      route = { hashKey: partitionKeyHash(partitionKey), ranges: undefined, shardId: '' };
      this.keyRoutes.set(partitionKey, route);
    }
    return route;
  }

  /** Takes `record` in if nothing is held ahead of it, the map is loaded and there is room. */
  private tryTakeIn(record: PendingRecord, now?: number): boolean {
    if (this.held.length > 0 || !this.mapReady || !this.budget.tryAcquire(record.bufferedBytes))
      return false;
    this.accept(record, now);
    return true;
  }

  private hold(entry: Held): void {
    this.held.push(entry);
    this.heldTotal++;
    if (!(entry instanceof PendingRecord)) this.watchAbort(entry);
    if (!this.mapReady) this.startOnce();
  }

  private watchAbort(entry: HeldPut | HeldBatch): void {
    const signal = entry.signal;
    if (!signal) return;
    if (signal.aborted) {
      this.cancel(entry);
      return;
    }
    entry.onAbort = () => this.cancel(entry);
    signal.addEventListener('abort', entry.onAbort, { once: true });
  }

  /** The caller's signal aborted: what of the entry is still waiting fails with `PutAbortedError`. */
  private cancel(entry: HeldPut | HeldBatch): void {
    if (entry.cancelled) return;
    entry.cancelled = true;
    this.unwatch(entry);
    const error = new PutAbortedError(entry.signal!.reason);
    if (entry instanceof HeldPut) {
      entry.record.fail(error);
      entry.done?.();
    } else this.failBatch(entry, error);
    // Taking it out of the middle of the queue would be O(n): the drain skips it when its turn
    // comes, and at the head that is now (whoever is behind it may have room).
    this.drain();
  }

  /** Fetches the shard map for the held puts; its arrival drains them, its failure fails them. */
  private startOnce(): void {
    if (this.starting) return;
    this.starting = true;
    this.hooks.start().then(
      () => {
        this.starting = false;
        this.mapReady = true;
        this.drain();
      },
      (error: Error) => {
        this.starting = false;
        // Every put held now waited for this map; a later one tries again.
        this.rejectAll(error);
      },
    );
  }

  /** Takes held puts in, in order, while there is room (and the map). */
  private drain(): void {
    if (this.held.length === 0) return;
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.drainAgain = false;
        this.drainOnce();
      } while (this.drainAgain);
    } finally {
      this.draining = false;
    }
  }

  private drainOnce(): void {
    this.drainNow = this.hooks.clock();
    this.drainTaken = 0;
    while (this.held.length > 0) {
      if (this.drainTaken >= DRAIN_SLICE_RECORDS) {
        this.drainLater();
        return;
      }
      const entry = this.held.peekFront()!;
      if (!(entry instanceof PendingRecord) && entry.cancelled) {
        this.held.shift();
        this.entryDone();
        continue;
      }
      if (!this.mapReady) return;
      if (this.closed) {
        this.rejectAll(new ProducerClosedError('producer is closed'));
        return;
      }
      if (entry instanceof PendingRecord) {
        if (!this.budget.tryAcquire(entry.bufferedBytes)) return;
        this.held.shift();
        this.accept(entry, this.drainClock());
      } else if (entry instanceof HeldPut) {
        if (!this.budget.tryAcquire(entry.record.bufferedBytes)) return;
        this.held.shift();
        this.unwatch(entry);
        this.accept(entry.record, this.drainClock());
        entry.done?.();
      } else {
        if (!this.drainBatch(entry)) return;
        this.held.shift();
        this.unwatch(entry);
      }
      this.entryDone();
    }
  }

  /** Goes on draining after I/O: a drain of a whole burst at once holds all of it live together. */
  private drainLater(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /** Takes in what of a `putMany` call's rest fits; true once none is left. */
  private drainBatch(entry: HeldBatch): boolean {
    const { records, batch } = entry;
    for (;;) {
      let head = entry.head;
      if (!head) {
        if (entry.next >= records.length) return true;
        const index = entry.next++;
        // Records of a call made before `close` still go in while it drains.
        head = this.prepare(
          records[index]!,
          entry.beforeClose,
          undefined,
          undefined,
          batch,
          index,
          entry.active,
        );
        if (!head) continue;
        entry.head = head;
      }
      if (this.drainTaken >= DRAIN_SLICE_RECORDS) return false;
      if (!this.budget.tryAcquire(head.bufferedBytes)) return false;
      entry.head = undefined;
      this.accept(head, this.drainClock());
    }
  }

  /** Fails what is left of a `putMany` call's rest. */
  private failBatch(entry: HeldBatch, error: Error): void {
    entry.head?.fail(error);
    entry.head = undefined;
    for (let i = entry.next; i < entry.records.length; i++)
      entry.batch.settle(i, { status: 'rejected', reason: error });
    entry.next = entry.records.length;
  }

  /** Takes the head entry out, failing what of it is still waiting. */
  private finishHead(error: Error): void {
    const entry = this.held.shift()!;
    if (entry instanceof PendingRecord) entry.fail(error);
    else if (!entry.cancelled) {
      entry.cancelled = true;
      this.unwatch(entry);
      if (entry instanceof HeldPut) {
        entry.record.fail(error);
        entry.done?.();
      } else this.failBatch(entry, error);
    }
    this.entryDone();
  }

  private unwatch(entry: HeldPut | HeldBatch): void {
    if (entry.onAbort) entry.signal!.removeEventListener('abort', entry.onAbort);
  }

  private entryDone(): void {
    this.doneTotal++;
    const waiters = this.takenWaiters;
    while (waiters.length > 0 && waiters[0]!.upTo <= this.doneTotal) waiters.shift()!.resolve();
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
   * The clock for records taken in by a drain: read again every {@link DRAIN_CLOCK_RECORDS}
   * records, so a long drain stays within about a millisecond without a read per record.
   */
  private drainClock(): number {
    if (++this.drainTaken % DRAIN_CLOCK_RECORDS === 0) this.drainNow = this.hooks.clock();
    return this.drainNow;
  }

  /** Takes a record in (room already acquired): its TTL starts now. */
  private accept(record: PendingRecord, now = this.hooks.clock()): void {
    record.acceptedAt = now;
    record.deadline = now + this.options.recordTtl;
    this.hooks.takeIn(record);
  }
}

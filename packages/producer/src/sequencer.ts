import type { KinesisRecord } from './kinesis-record';
import type { ShardRange } from './shard-map';
import type { PendingRecord } from './user-record';

/**
 * How records of one partition key are kept in `put` order:
 * - `'shard'` (aggregation on): one lane per predicted shard, at most one Kinesis record of a
 *   shard out (queued for the limiter, in a request, or waiting to be retried) at a time. An
 *   aggregate holds its records in put order, and the next one for the shard goes only once the
 *   previous one is in or has finally failed, so sequence numbers follow put order.
 * - `'key'` (aggregation off): one lane per partition key, so one shard still takes many keys'
 *   records in each request (it fills up), while no two records of one key are ever out at once.
 *   PutRecords does not promise the order of entries within a call, so two records of one key
 *   never share a call.
 * - `'off'` (`preserveKeyOrder: false`): no lanes; every record goes on at once.
 */
export type OrderingMode = 'shard' | 'key' | 'off';

interface Lane {
  /** A Kinesis record of this lane is out: nothing else of the lane may go. */
  busy: boolean;
  /** Kinesis records waiting their turn, oldest first. */
  waiting: KinesisRecord[];
  /** Hash keys the lane's shard owns (`'shard'` mode), to hold the lane behind retired parents. */
  range: ShardRange | undefined;
}

/** A shard that left the map (split or merged) while one of its Kinesis records was out. */
interface Retired {
  range: ShardRange | undefined;
  /** Its records not yet sent, in put order, to go to the children ahead of anything newer. */
  leftovers: PendingRecord[];
}

/** What the sequencer needs from the rest of the pipeline. */
export interface SequencerHooks {
  /** Hands a Kinesis record on to the collector; `waited` when it was held back first (send it soon). */
  forward(record: KinesisRecord, waited: boolean): void;
  /** Routes user records again, in the order given (shard map → aggregate stage). */
  reroute(records: PendingRecord[]): void;
  /** Takes back the aggregate stage's partial aggregate of a shard: its records, in put order. */
  takePartial(shardId: string): PendingRecord[];
  /** Shards with a partial aggregate in the aggregate stage. */
  partialShards(): Iterable<string>;
  /** The hash-key range of a shard by the current map. */
  rangeOf(shardId: string): ShardRange | undefined;
  /** The shard a hash key belongs to by the current map (`'key'` mode re-predicts at release). */
  predict(hashKey: bigint): string | undefined;
}

/**
 * The ordering gate between the aggregate stage and the collector. Each Kinesis record joins its
 * lane; the lane lets one through at a time and the next only when the pipeline says the one out
 * is `finished` (delivered, or every record in it has its final failure). A record to retry is
 * `resend` while its lane stays held, so nothing overtakes it.
 *
 * Resharding (`'shard'` mode): a shard that leaves the map while one of its records is out
 * retires; its children are held until it has finished, then receive its leftovers ahead of what
 * was put since, so a key's records reach a child only after everything before them reached the
 * parent or failed.
 */
export class Sequencer {
  private readonly lanes = new Map<string, Lane>();
  private readonly retired = new Map<string, Retired>();

  constructor(
    readonly mode: OrderingMode,
    private readonly hooks: SequencerHooks,
  ) {}

  offer(record: KinesisRecord): void {
    if (this.mode === 'off') {
      this.hooks.forward(record, false);
      return;
    }
    const id = this.mode === 'shard' ? record.shardId : record.partitionKey;
    record.lane = id;
    const retired = this.retired.get(id);
    if (retired) {
      // Made from a partial aggregate of a shard that has since left the map: back in line.
      retired.leftovers.push(...record.records);
      return;
    }
    const lane = this.lane(id);
    if (lane.busy || lane.waiting.length > 0 || this.held(lane)) {
      lane.waiting.push(record);
      return;
    }
    lane.busy = true;
    this.hooks.forward(record, false);
  }

  /** `record` needs no more sending: its lane lets the next one go. */
  finished(record: KinesisRecord): void {
    if (this.mode === 'off' || record.lane === undefined) return;
    const retired = this.retired.get(record.lane);
    if (retired) {
      this.settleRetired(record.lane, retired, []);
      return;
    }
    const lane = this.lanes.get(record.lane);
    if (!lane) return;
    lane.busy = false;
    this.release(record.lane, lane);
  }

  /**
   * Sends `record` again (after its backoff) ahead of everything behind it in its lane. If its
   * shard retired meanwhile, its records go to the children first instead.
   */
  resend(record: KinesisRecord, reroute = false): void {
    if (this.mode === 'off') {
      if (reroute) this.hooks.reroute(record.records);
      else this.hooks.forward(record, true);
      return;
    }
    const retired = record.lane === undefined ? undefined : this.retired.get(record.lane);
    if (retired) {
      this.settleRetired(record.lane!, retired, record.records);
      return;
    }
    this.hooks.forward(record, true);
  }

  /**
   * The shard map changed: lanes of shards that are no longer open retire. An idle one hands its
   * leftovers to the children at once; a busy one keeps them (and holds its children) until its
   * record out has finished.
   */
  retire(open: ReadonlySet<string>): void {
    if (this.mode !== 'shard') return;
    const closed = new Set<string>();
    for (const id of this.lanes.keys()) if (!open.has(id)) closed.add(id);
    for (const id of this.hooks.partialShards()) if (!open.has(id)) closed.add(id);
    for (const id of closed) {
      const lane = this.lanes.get(id);
      this.lanes.delete(id);
      const leftovers = lane ? lane.waiting.flatMap((k) => k.records) : [];
      leftovers.push(...this.hooks.takePartial(id));
      if (lane?.busy) this.retired.set(id, { range: lane.range, leftovers });
      else this.hooks.reroute(leftovers);
    }
  }

  /** True while a Kinesis record of the shard's lane is out (`'shard'` mode). */
  busy(shardId: string): boolean {
    return this.lanes.get(shardId)?.busy === true || this.retired.has(shardId);
  }

  private lane(id: string): Lane {
    let lane = this.lanes.get(id);
    if (!lane) {
      lane = {
        busy: false,
        waiting: [],
        range: this.mode === 'shard' ? this.hooks.rangeOf(id) : undefined,
      };
      this.lanes.set(id, lane);
    }
    return lane;
  }

  /** A child lane waits while a retired parent whose hash keys it shares still has a record out. */
  private held(lane: Lane): boolean {
    if (this.retired.size === 0 || !lane.range) return false;
    for (const r of this.retired.values())
      if (!r.range || overlaps(r.range, lane.range)) return true;
    return false;
  }

  private release(id: string, lane: Lane): void {
    if (lane.busy || this.held(lane)) return;
    const next = lane.waiting.shift();
    if (!next) {
      // Idle lanes are dropped so per-key lanes do not accumulate one entry per key ever seen.
      this.lanes.delete(id);
      return;
    }
    lane.busy = true;
    if (this.mode === 'key')
      next.shardId = this.hooks.predict(next.records[0]!.hashKey) ?? next.shardId;
    this.hooks.forward(next, true);
  }

  /**
   * A retired shard's record out has come back: `unsent` (its records, when they must go again)
   * and the leftovers go to the children, ahead of what the children hold, which is taken out and
   * routed again behind them.
   */
  private settleRetired(id: string, retired: Retired, unsent: PendingRecord[]): void {
    this.retired.delete(id);
    const behind: PendingRecord[] = [];
    // A child may hold records in a lane or only in a partial aggregate: both go behind.
    const candidates = new Set([...this.lanes.keys(), ...this.hooks.partialShards()]);
    for (const childId of candidates) {
      const lane = this.lanes.get(childId);
      const range = lane ? lane.range : this.hooks.rangeOf(childId);
      if (lane?.busy || !overlaps(range, retired.range)) continue;
      if (lane) for (const k of lane.waiting) behind.push(...k.records);
      behind.push(...this.hooks.takePartial(childId));
      this.lanes.delete(childId);
    }
    this.hooks.reroute([...unsent, ...retired.leftovers, ...behind]);
    // Children held by this parent alone may go now; `reroute` re-created the lanes it used.
    for (const [laneId, lane] of [...this.lanes]) this.release(laneId, lane);
  }
}

function overlaps(a: ShardRange | undefined, b: ShardRange | undefined): boolean {
  return a !== undefined && b !== undefined && a.start <= b.end && b.start <= a.end;
}

import type { Logger } from 'pino';
import type { ShardMap } from './shard-map';
import type { PendingRecord } from './user-record';

/** How long a record parked on a gap of the shard map waits before the map is fetched again, ms. */
export const PARK_RETRY_MS = 100;

/**
 * The route stage: predicts each user record's shard with the current map and hands it on (to
 * the aggregate stage). A record whose hash key no open shard owns — a gap in the map
 * mid-resharding — is parked, in order, while the map is fetched again every
 * {@link PARK_RETRY_MS}; a new map routes the parked records first. A key's later records hash
 * into the same gap, so they park behind it and keep their order. Parked records still expire
 * (the Expiry fails them; a settled record is dropped here).
 */
export class Router {
  private parked: PendingRecord[] = [];
  private retryTimer: unknown;

  constructor(
    private readonly shardMap: ShardMap,
    private readonly next: (record: PendingRecord) => void,
    /** Runs `fn` after `ms` unless the producer has closed (then returns undefined). */
    private readonly later: (fn: () => void, ms: number) => unknown,
    private readonly logger: Logger,
  ) {}

  /** Records parked on a gap. */
  get parkedCount(): number {
    return this.parked.length;
  }

  route(record: PendingRecord): void {
    const ranges = this.shardMap.ranges!;
    const cached = record.keyRoute;
    if (cached.ranges === ranges) {
      record.predictedShard = cached.shardId;
      this.next(record);
      return;
    }
    const shard = ranges.find(record.hashKey);
    if (!shard) {
      this.park(record);
      return;
    }
    cached.ranges = ranges;
    cached.shardId = shard.shardId;
    record.predictedShard = shard.shardId;
    this.next(record);
  }

  /** Routes records again, in the order given, skipping those that have finished meanwhile. */
  reroute(records: readonly PendingRecord[]): void {
    for (const r of records) if (!r.settled) this.route(r);
  }

  /** A new shard map: the parked records try again, ahead of anything routed after. */
  mapChanged(): void {
    this.reroute(this.parked.splice(0));
  }

  private park(record: PendingRecord): void {
    this.parked.push(record);
    if (this.retryTimer !== undefined) return;
    const retry = () => {
      this.retryTimer = undefined;
      this.parked = this.parked.filter((r) => !r.settled);
      if (this.parked.length === 0) return;
      void this.shardMap
        .refresh('no shard for hash key', this.shardMap.version)
        .catch((error: unknown) => this.logger.warn({ err: error }, 'shard map refresh failed'));
      this.retryTimer = this.later(retry, PARK_RETRY_MS);
    };
    this.retryTimer = this.later(retry, PARK_RETRY_MS);
  }
}

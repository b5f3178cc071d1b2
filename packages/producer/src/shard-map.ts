import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import { listAllShards } from '@shardline/common/list-shards';

/** An open shard and the hash keys it owns, inclusive. */
export interface ShardRange {
  shardId: string;
  start: bigint;
  end: bigint;
}

/**
 * Pure lookup: open shards sorted by starting hash key, found by binary search. Open shards of a
 * stream cover [0, 2^128) without overlap, so every hash key has exactly one owner.
 */
export class ShardRanges {
  readonly ranges: readonly ShardRange[];
  /** Every listed shard, closed ones too, by id: where a record actually landed. */
  private readonly byId: Map<string, ShardRange>;

  constructor(shards: readonly Shard[]) {
    this.byId = new Map(
      shards.map((s) => [
        s.ShardId!,
        {
          shardId: s.ShardId!,
          start: BigInt(s.HashKeyRange!.StartingHashKey!),
          end: BigInt(s.HashKeyRange!.EndingHashKey!),
        },
      ]),
    );
    this.ranges = shards
      .filter((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined)
      .map((s) => ({
        shardId: s.ShardId!,
        start: BigInt(s.HashKeyRange!.StartingHashKey!),
        end: BigInt(s.HashKeyRange!.EndingHashKey!),
      }))
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  }

  /** The shard whose range holds `hashKey`, or undefined if no open shard does (a gap during resharding). */
  find(hashKey: bigint): ShardRange | undefined {
    const ranges = this.ranges;
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const range = ranges[mid]!;
      if (hashKey < range.start) hi = mid - 1;
      else if (hashKey > range.end) lo = mid + 1;
      else return range;
    }
    return undefined;
  }

  /** The hash-key range of any listed shard, open or closed. */
  range(shardId: string): ShardRange | undefined {
    return this.byId.get(shardId);
  }
}

/**
 * The producer's view of the stream's open shards, from ListShards. Refreshes are shared: any
 * number of callers asking at once get one ListShards round, and a caller that saw a stale result
 * from before the latest refresh does not trigger another (a burst of wrong-shard results after a
 * split costs one refresh, not one per record).
 */
export class ShardMap {
  private current: ShardRanges | undefined;
  private inFlight: Promise<ShardRanges> | undefined;
  /** When the current map was fetched (ms since epoch). */
  private fetchedAt = 0;

  constructor(
    private readonly client: KinesisClient,
    private readonly stream: { streamName?: string | undefined; streamArn?: string | undefined },
    /** Called with each new map, before anyone awaiting the refresh sees it. */
    private readonly onRefresh: (ranges: ShardRanges, reason: string) => void = () => {},
    private readonly requestTimeoutMs = 6000,
  ) {}

  get ranges(): ShardRanges | undefined {
    return this.current;
  }

  /** When the map in use was fetched; 0 before the first fetch. */
  get version(): number {
    return this.fetchedAt;
  }

  /** The current map, fetching it the first time. */
  async get(): Promise<ShardRanges> {
    return this.current ?? this.refresh('initial');
  }

  /**
   * Fetches the map again, unless it was already fetched after `staleSince` (the time the caller's
   * evidence of staleness was produced), or a fetch is under way.
   */
  refresh(reason: string, staleSince?: number): Promise<ShardRanges> {
    if (this.current && staleSince !== undefined && this.fetchedAt > staleSince)
      return Promise.resolve(this.current);
    if (this.inFlight) return this.inFlight;
    const startedAt = Date.now();
    this.inFlight = this.fetch()
      .then((ranges) => {
        this.current = ranges;
        this.fetchedAt = startedAt;
        this.onRefresh(ranges, reason);
        return ranges;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private async fetch(): Promise<ShardRanges> {
    const shards = await listAllShards(this.client, this.stream, {
      timeoutMs: this.requestTimeoutMs,
    });
    const ranges = new ShardRanges(shards);
    if (ranges.ranges.length === 0) throw new Error('stream has no open shards');
    return ranges;
  }
}

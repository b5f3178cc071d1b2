import { createHash } from 'node:crypto';

const MAX_HASH = (1n << 128n) - 1n;

/** A record as the fake stores it. */
export interface StoredRecord {
  sequenceNumber: string;
  partitionKey: string;
  explicitHashKey?: string;
  data: Buffer;
  arrival: number;
}

/** One shard of a fake stream. */
export interface ShardState {
  shardId: string;
  start: bigint;
  end: bigint;
  parentShardId?: string;
  adjacentParentShardId?: string;
  startingSequenceNumber: string;
  endingSequenceNumber?: string;
  records: StoredRecord[];
  /** Records and bytes written in the current one-second window, for the shard limits. */
  windowSecond: number;
  windowRecords: number;
  windowBytes: number;
  children?: string[];
}

/** One fake stream. */
export interface StreamState {
  name: string;
  arn: string;
  mode: 'PROVISIONED' | 'ON_DEMAND';
  shards: ShardState[];
  createdAt: number;
  nextShardIndex: number;
  sequence: bigint;
  /** Registered stream consumers (enhanced fan-out), by name. */
  consumers: Map<string, StreamConsumer>;
}

/** A registered stream consumer; ACTIVE as soon as it is registered (no CREATING phase). */
export interface StreamConsumer {
  name: string;
  arn: string;
  createdAt: number;
}

/** The shard (open) whose range holds the record's hash key. */
export function routeRecord(
  stream: StreamState,
  partitionKey: string,
  explicitHashKey: string | undefined,
): ShardState {
  const hash =
    explicitHashKey !== undefined
      ? BigInt(explicitHashKey)
      : BigInt('0x' + createHash('md5').update(partitionKey, 'utf8').digest('hex'));
  for (const shard of stream.shards) {
    if (shard.endingSequenceNumber === undefined && shard.start <= hash && hash <= shard.end)
      return shard;
  }
  throw new Error(`no open shard for hash key ${hash}`);
}

export function newStream(
  name: string,
  shardCount: number,
  region: string,
  mode: 'PROVISIONED' | 'ON_DEMAND',
): StreamState {
  const stream: StreamState = {
    name,
    arn: `arn:aws:kinesis:${region}:000000000000:stream/${name}`,
    mode,
    shards: [],
    createdAt: Date.now(),
    nextShardIndex: 0,
    consumers: new Map(),
    sequence: 49_590_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n,
  };
  const width = (MAX_HASH + 1n) / BigInt(shardCount);
  for (let i = 0; i < shardCount; i++) {
    const start = width * BigInt(i);
    const end = i === shardCount - 1 ? MAX_HASH : width * BigInt(i + 1) - 1n;
    addShard(stream, start, end);
  }
  return stream;
}

export function addShard(
  stream: StreamState,
  start: bigint,
  end: bigint,
  parents: string[] = [],
): ShardState {
  const shard: ShardState = {
    shardId: `shardId-${String(stream.nextShardIndex++).padStart(12, '0')}`,
    start,
    end,
    startingSequenceNumber: nextSequence(stream),
    records: [],
    windowSecond: 0,
    windowRecords: 0,
    windowBytes: 0,
  };
  if (parents[0]) shard.parentShardId = parents[0];
  if (parents[1]) shard.adjacentParentShardId = parents[1];
  stream.shards.push(shard);
  return shard;
}

export function nextSequence(stream: StreamState): string {
  stream.sequence += 1n;
  return stream.sequence.toString();
}

export function closeShard(stream: StreamState, shard: ShardState, children: string[]): void {
  shard.endingSequenceNumber = nextSequence(stream);
  shard.children = children;
}

export function describeShard(shard: ShardState) {
  return {
    ShardId: shard.shardId,
    ...(shard.parentShardId ? { ParentShardId: shard.parentShardId } : {}),
    ...(shard.adjacentParentShardId ? { AdjacentParentShardId: shard.adjacentParentShardId } : {}),
    HashKeyRange: { StartingHashKey: shard.start.toString(), EndingHashKey: shard.end.toString() },
    SequenceNumberRange: {
      StartingSequenceNumber: shard.startingSequenceNumber,
      ...(shard.endingSequenceNumber ? { EndingSequenceNumber: shard.endingSequenceNumber } : {}),
    },
  };
}

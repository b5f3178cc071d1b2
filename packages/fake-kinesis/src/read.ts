import type { Backend } from './backend';
import { ServiceError } from './service-error';
import type { ShardState, StoredRecord, StreamState } from './streams';

/** Where a shard iterator points: the fake's iterators are this, base64-encoded JSON. */
interface IteratorToken {
  stream: string;
  shard: string;
  index: number;
}

function iterator(stream: string, shard: string, index: number): string {
  return Buffer.from(JSON.stringify({ stream, shard, index } satisfies IteratorToken)).toString(
    'base64',
  );
}

/**
 * Where a reader starting at `type` begins, as an index into the shard's records: every iterator
 * type the SDK offers (also SubscribeToShard's starting positions). `timestamp` in epoch seconds.
 */
export function startIndex(
  shard: ShardState,
  type: string,
  sequenceNumber: unknown,
  timestamp: unknown,
): number {
  const seq = typeof sequenceNumber === 'string' ? BigInt(sequenceNumber) : 0n;
  let index: number;
  switch (type) {
    case 'TRIM_HORIZON':
      return 0;
    case 'LATEST':
      return shard.records.length;
    case 'AT_SEQUENCE_NUMBER':
      index = shard.records.findIndex((r) => BigInt(r.sequenceNumber) >= seq);
      break;
    case 'AFTER_SEQUENCE_NUMBER':
      index = shard.records.findIndex((r) => BigInt(r.sequenceNumber) > seq);
      break;
    case 'AT_TIMESTAMP': {
      const at = Number(timestamp) * 1000;
      index = shard.records.findIndex((r) => r.arrival >= at);
      break;
    }
    default:
      throw new ServiceError('InvalidArgumentException', `bad ShardIteratorType ${type}`);
  }
  return index < 0 ? shard.records.length : index;
}

/** GetShardIterator: an iterator at `startIndex`. */
export function getShardIterator(backend: Backend, input: Record<string, unknown>): string {
  const stream = backend.streams.of(input);
  const shard = stream.shards.find((s) => s.shardId === input.ShardId);
  if (!shard)
    throw new ServiceError('ResourceNotFoundException', `shard ${String(input.ShardId)} not found`);
  const index = startIndex(
    shard,
    String(input.ShardIteratorType),
    input.StartingSequenceNumber,
    input.Timestamp,
  );
  return JSON.stringify({ ShardIterator: iterator(stream.name, shard.shardId, index) });
}

/** A stored record as GetRecords and SubscribeToShard events carry it. */
export function recordJson(r: StoredRecord) {
  return {
    SequenceNumber: r.sequenceNumber,
    PartitionKey: r.partitionKey,
    Data: r.data.toString('base64'),
    ApproximateArrivalTimestamp: r.arrival / 1000,
  };
}

/** How far behind the newest record a reader at `next` is (0 at the end). */
export function millisBehindLatest(shard: ShardState, next: number): number {
  return next >= shard.records.length
    ? 0
    : Math.max(0, Date.now() - (shard.records[next]?.arrival ?? Date.now()));
}

/** The children of a closed shard, as the end of its records reports them. */
export function childShardsJson(stream: StreamState, shard: ShardState) {
  return stream.shards
    .filter((s) => shard.children?.includes(s.shardId))
    .map((s) => ({
      ShardId: s.shardId,
      ParentShards: [s.parentShardId, s.adjacentParentShardId].filter(Boolean),
      HashKeyRange: { StartingHashKey: s.start.toString(), EndingHashKey: s.end.toString() },
    }));
}

/** GetRecords: a page of records; at the end of a closed shard, its children instead of a next iterator. */
export function getRecords(backend: Backend, input: Record<string, unknown>): string {
  const token = JSON.parse(
    Buffer.from(String(input.ShardIterator), 'base64').toString(),
  ) as IteratorToken;
  const stream = backend.streams.get(token.stream);
  const shard = stream.shards.find((s) => s.shardId === token.shard)!;
  const limit = Math.min(Number(input.Limit ?? 10_000), 10_000);
  const records = shard.records.slice(token.index, token.index + limit);
  const next = token.index + records.length;
  const atEnd = next >= shard.records.length;
  const closed = shard.endingSequenceNumber !== undefined;
  const out: Record<string, unknown> = {
    Records: records.map(recordJson),
    MillisBehindLatest: millisBehindLatest(shard, next),
  };
  if (closed && atEnd) {
    out.ChildShards = childShardsJson(stream, shard);
  } else {
    out.NextShardIterator = iterator(stream.name, shard.shardId, next);
  }
  return JSON.stringify(out);
}

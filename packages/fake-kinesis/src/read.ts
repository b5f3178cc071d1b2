import type { Backend } from './backend';
import { ServiceError } from './service-error';

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

/** GetShardIterator: every iterator type the SDK offers, as an index into the shard's records. */
export function getShardIterator(backend: Backend, input: Record<string, unknown>): string {
  const stream = backend.streams.of(input);
  const shard = stream.shards.find((s) => s.shardId === input.ShardId);
  if (!shard)
    throw new ServiceError('ResourceNotFoundException', `shard ${String(input.ShardId)} not found`);
  const type = String(input.ShardIteratorType);
  let index: number;
  const seq =
    typeof input.StartingSequenceNumber === 'string' ? BigInt(input.StartingSequenceNumber) : 0n;
  switch (type) {
    case 'TRIM_HORIZON':
      index = 0;
      break;
    case 'LATEST':
      index = shard.records.length;
      break;
    case 'AT_SEQUENCE_NUMBER':
      index = shard.records.findIndex((r) => BigInt(r.sequenceNumber) >= seq);
      if (index < 0) index = shard.records.length;
      break;
    case 'AFTER_SEQUENCE_NUMBER':
      index = shard.records.findIndex((r) => BigInt(r.sequenceNumber) > seq);
      if (index < 0) index = shard.records.length;
      break;
    case 'AT_TIMESTAMP': {
      const at = Number(input.Timestamp) * 1000;
      index = shard.records.findIndex((r) => r.arrival >= at);
      if (index < 0) index = shard.records.length;
      break;
    }
    default:
      throw new ServiceError('InvalidArgumentException', `bad ShardIteratorType ${type}`);
  }
  return JSON.stringify({ ShardIterator: iterator(stream.name, shard.shardId, index) });
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
    Records: records.map((r) => ({
      SequenceNumber: r.sequenceNumber,
      PartitionKey: r.partitionKey,
      Data: r.data.toString('base64'),
      ApproximateArrivalTimestamp: r.arrival / 1000,
    })),
    MillisBehindLatest: atEnd
      ? 0
      : Math.max(0, Date.now() - (shard.records[next]?.arrival ?? Date.now())),
  };
  if (closed && atEnd) {
    out.ChildShards = stream.shards
      .filter((s) => shard.children?.includes(s.shardId))
      .map((s) => ({
        ShardId: s.shardId,
        ParentShards: [s.parentShardId, s.adjacentParentShardId].filter(Boolean),
        HashKeyRange: { StartingHashKey: s.start.toString(), EndingHashKey: s.end.toString() },
      }));
  } else {
    out.NextShardIterator = iterator(stream.name, shard.shardId, next);
  }
  return JSON.stringify(out);
}

import type { Backend } from './backend';
import { describeShard, type StreamState } from './streams';

/** ListShards, paged by MaxResults with a NextToken that names the stream and the next index. */
export function listShards(backend: Backend, input: Record<string, unknown>): string {
  let stream: StreamState;
  let start = 0;
  if (typeof input.NextToken === 'string') {
    const token = JSON.parse(Buffer.from(input.NextToken, 'base64').toString()) as {
      stream: string;
      index: number;
    };
    stream = backend.streams.get(token.stream);
    start = token.index;
  } else {
    stream = backend.streams.of(input);
    if (typeof input.ExclusiveStartShardId === 'string') {
      start = stream.shards.findIndex((s) => s.shardId === input.ExclusiveStartShardId) + 1;
    }
  }
  const page = Math.min(Number(input.MaxResults ?? 1000), 1000);
  const shards = stream.shards.slice(start, start + page);
  const next =
    start + page < stream.shards.length
      ? Buffer.from(JSON.stringify({ stream: stream.name, index: start + page })).toString('base64')
      : undefined;
  return JSON.stringify({
    Shards: shards.map(describeShard),
    ...(next ? { NextToken: next } : {}),
  });
}

/** What DescribeStream and DescribeStreamSummary both say of a stream. */
function streamFields(stream: StreamState) {
  return {
    StreamName: stream.name,
    StreamARN: stream.arn,
    StreamStatus: 'ACTIVE',
    RetentionPeriodHours: 24,
    StreamCreationTimestamp: stream.createdAt / 1000,
    EnhancedMonitoring: [],
  };
}

export function describeStreamSummary(backend: Backend, input: Record<string, unknown>): string {
  const stream = backend.streams.of(input);
  return JSON.stringify({
    StreamDescriptionSummary: {
      ...streamFields(stream),
      StreamModeDetails: { StreamMode: stream.mode },
      EncryptionType: 'NONE',
      OpenShardCount: stream.shards.filter((s) => s.endingSequenceNumber === undefined).length,
      ConsumerCount: 0,
    },
  });
}

/** DescribeStream: every shard in one page. */
export function describeStream(backend: Backend, input: Record<string, unknown>): string {
  const stream = backend.streams.of(input);
  return JSON.stringify({
    StreamDescription: {
      ...streamFields(stream),
      Shards: stream.shards.map(describeShard),
      HasMoreShards: false,
    },
  });
}

export function listStreams(backend: Backend): string {
  return JSON.stringify({ StreamNames: backend.streams.names(), HasMoreStreams: false });
}

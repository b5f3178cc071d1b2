import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  type Shard,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { KinesisClient as KinesisClientClass } from '@aws-sdk/client-kinesis';
import { createFanoutHttpHandler } from '@shardline/consumer';
import { inject } from 'vitest';
import { dynamoDBClientFor, kinesisClientFor } from './backend-clients';
import type { BackendInfo } from './backend-info';

export type { BackendInfo } from './backend-info';

/** The backend the global setup started for this run. */
export function backend(): BackendInfo {
  const info = inject('shardlineBackend');
  if (!info)
    throw new Error(
      'no backend: run integration tests through the vitest projects that have the global setup',
    );
  return info;
}

/**
 * A Kinesis client for the backend. `http2: false` (default) talks HTTP/1.1 keep-alive to the
 * plain endpoint; `http2: true` talks HTTP/2 to the TLS endpoint, as enhanced fan-out needs.
 */
export function kinesisClient(options: { http2?: boolean } = {}): KinesisClient {
  return kinesisClientFor(backend(), options);
}

/**
 * A client for SubscribeToShard (enhanced fan-out): HTTP/2 on the TLS endpoint with the consumer's
 * fan-out handler, whose sessions stay open and are shared. (The SDK's default HTTP/2 handler
 * closes an event stream's session early, which kinesis-local and LocalStack answer with a
 * protocol error.) The self-signed certificate is accepted only for a local emulator.
 */
export function fanoutKinesisClient(): KinesisClient {
  const info = backend();
  return new KinesisClientClass({
    region: info.region,
    ...(info.kinesisTlsEndpoint ? { endpoint: info.kinesisTlsEndpoint } : {}),
    ...(info.credentials ? { credentials: { ...info.credentials } } : {}),
    requestHandler: createFanoutHttpHandler({ allowSelfSignedCertificate: info.emulator }),
  });
}

/** A DynamoDB client for the backend. */
export function dynamoDBClient(): DynamoDBClient {
  return dynamoDBClientFor(backend());
}

let counter = 0;
/**
 * A name no other test uses (stream, table, application, fan-out consumer). It carries the run's
 * id, which is how the run finds what to delete when it ends (run-resources.ts).
 */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${backend().runId}-${process.pid}-${counter}`;
}

let sharedClient: KinesisClient | undefined;
function client(): KinesisClient {
  sharedClient ??= kinesisClient();
  return sharedClient;
}

/** Polls `condition` until it returns a value other than undefined/false, or fails with `message`. */
export async function waitFor<T>(
  condition: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`${options.message ?? 'condition'} not met within ${timeoutMs} ms${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}

/** Creates a stream and resolves once it is ACTIVE. */
export async function createStream(
  name: string,
  shards: number,
): Promise<{ streamName: string; streamArn: string }> {
  await client().send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  const summary = await waitFor(
    async () => {
      const out = await client().send(new DescribeStreamSummaryCommand({ StreamName: name }));
      return out.StreamDescriptionSummary?.StreamStatus === 'ACTIVE'
        ? out.StreamDescriptionSummary
        : undefined;
    },
    { message: `stream ${name} ACTIVE` },
  );
  return { streamName: name, streamArn: summary.StreamARN! };
}

export async function deleteStream(name: string): Promise<void> {
  await client().send(new DeleteStreamCommand({ StreamName: name, EnforceConsumerDeletion: true }));
}

/** Every shard of the stream, closed ones included. */
export async function listShards(streamName: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    const out = await client().send(
      new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: streamName }),
    );
    shards.push(...(out.Shards ?? []));
    nextToken = out.NextToken;
  } while (nextToken);
  return shards;
}

/** Splits `shardId` at `newStartingHashKey`; resolves with the two children once both are listed. */
export async function splitShard(
  streamName: string,
  shardId: string,
  newStartingHashKey: bigint,
): Promise<string[]> {
  await client().send(
    new SplitShardCommand({
      StreamName: streamName,
      ShardToSplit: shardId,
      NewStartingHashKey: newStartingHashKey.toString(),
    }),
  );
  return waitFor(
    async () => {
      const shards = await listShards(streamName);
      const children = shards.filter((s) => s.ParentShardId === shardId).map((s) => s.ShardId!);
      return children.length === 2 ? children : undefined;
    },
    { message: `split of ${shardId} done` },
  );
}

/** Merges two adjacent shards; resolves with the merged child once it is listed. */
export async function mergeShards(
  streamName: string,
  shardId: string,
  adjacentShardId: string,
): Promise<string> {
  await client().send(
    new MergeShardsCommand({
      StreamName: streamName,
      ShardToMerge: shardId,
      AdjacentShardToMerge: adjacentShardId,
    }),
  );
  return waitFor(
    async () =>
      (await listShards(streamName)).find(
        (s) => s.ParentShardId === shardId && s.AdjacentParentShardId === adjacentShardId,
      )?.ShardId,
    { message: `merge of ${shardId} and ${adjacentShardId} done` },
  );
}

export async function listShardIds(streamName: string): Promise<string[]> {
  return (await listShards(streamName)).map((s) => s.ShardId!);
}

/** A record as GetRecords returns it. */
export interface RawRecord {
  data: Uint8Array;
  partitionKey: string;
  sequenceNumber: string;
  explicitHashKey?: string;
  approximateArrivalTimestamp?: Date;
}

/**
 * Reads a shard from TRIM_HORIZON until it is caught up: `maxEmptyReads` reads in a row that
 * return nothing and report 0 ms behind, or the end of a closed shard.
 */
export async function readShard(
  streamName: string,
  shardId: string,
  options: { maxEmptyReads?: number } = {},
): Promise<RawRecord[]> {
  const records: RawRecord[] = [];
  let iterator = (
    await client().send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    )
  ).ShardIterator;
  let empty = 0;
  while (iterator) {
    const out = await client().send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }),
    );
    for (const r of out.Records ?? []) {
      records.push({
        data: r.Data!,
        partitionKey: r.PartitionKey!,
        sequenceNumber: r.SequenceNumber!,
        ...(r.ApproximateArrivalTimestamp
          ? { approximateArrivalTimestamp: r.ApproximateArrivalTimestamp }
          : {}),
      });
    }
    iterator = out.NextShardIterator;
    if ((out.Records?.length ?? 0) === 0 && (out.MillisBehindLatest ?? 0) === 0) {
      empty += 1;
      if (empty >= (options.maxEmptyReads ?? 2)) break;
    } else {
      empty = 0;
    }
  }
  return records;
}

/** Every record of every shard, by shard id. */
export async function readStream(streamName: string): Promise<Map<string, RawRecord[]>> {
  const out = new Map<string, RawRecord[]>();
  for (const shardId of await listShardIds(streamName))
    out.set(shardId, await readShard(streamName, shardId));
  return out;
}

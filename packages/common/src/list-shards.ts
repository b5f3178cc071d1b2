import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';

/** The stream to list: by name, by ARN, or both (as the options of the producer and the consumer allow). */
export interface StreamTarget {
  streamName?: string | undefined;
  streamArn?: string | undefined;
}

export interface ListShardsOptions {
  /**
   * Longest wait for one page, ms. A page that takes longer is aborted and the listing rejects
   * (the caller retries): without it, a connection the service never answers holds a shard
   * sync or a shard-map refresh forever. Default {@link DEFAULT_LIST_SHARDS_TIMEOUT_MS}.
   */
  timeoutMs?: number | undefined;
  /** Aborts the listing (the consumer stopping). */
  signal?: AbortSignal | undefined;
}

/** Per-page limit when the caller has no request timeout of its own (the consumer), ms. */
export const DEFAULT_LIST_SHARDS_TIMEOUT_MS = 10_000;

/** Every shard of the stream, closed ones included, following `NextToken` page by page. */
export async function listAllShards(
  client: KinesisClient,
  stream: StreamTarget,
  options: ListShardsOptions = {},
): Promise<Shard[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_LIST_SHARDS_TIMEOUT_MS);
    const out = await client.send(
      new ListShardsCommand(
        // A page after the first names only its token: ListShards refuses a stream beside it.
        nextToken
          ? { NextToken: nextToken }
          : {
              ...(stream.streamName ? { StreamName: stream.streamName } : {}),
              ...(stream.streamArn ? { StreamARN: stream.streamArn } : {}),
            },
      ),
      { abortSignal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout },
    );
    shards.push(...(out.Shards ?? []));
    nextToken = out.NextToken;
  } while (nextToken);
  return shards;
}

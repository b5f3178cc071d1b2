// The CPU comparison's service: a Kinesis inside the SDK client's request handler, answering at
// once. No socket, no HTTP: what the CPU figures count is the client side (the SDK's
// serialization and signing included, for every contender alike) plus the little this service
// does per call. It routes every PutRecords entry by its hash key to one of `shards` equal ranges,
// as Kinesis does, so a producer's shard predictions are checked for real.
import { createHash } from 'node:crypto';
import { KinesisClient } from '@aws-sdk/client-kinesis';

interface Request {
  headers: Record<string, string>;
  body?: unknown;
}

const MAX_HASH = (1n << 128n) - 1n;

/** A client whose every call is answered in this process by an in-memory stream of `shards` shards. */
export function inProcessKinesisClient(shards = 4): KinesisClient {
  const size = (MAX_HASH + 1n) / BigInt(shards);
  const ranges = Array.from({ length: shards }, (_, i) => ({
    ShardId: `shardId-${String(i).padStart(12, '0')}`,
    HashKeyRange: {
      StartingHashKey: (size * BigInt(i)).toString(),
      EndingHashKey: (i === shards - 1 ? MAX_HASH : size * BigInt(i + 1) - 1n).toString(),
    },
    SequenceNumberRange: { StartingSequenceNumber: '1' },
  }));
  let sequence = 0;
  const shardOf = (partitionKey: string, explicitHashKey: string | undefined) => {
    const hash =
      explicitHashKey !== undefined
        ? BigInt(explicitHashKey)
        : BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
    return ranges[Math.min(shards - 1, Number(hash / size))]!.ShardId;
  };
  const answer = (target: string, input: Record<string, unknown>): unknown => {
    switch (target) {
      case 'ListShards':
        return { Shards: ranges };
      case 'PutRecords': {
        const entries = input.Records as { PartitionKey: string; ExplicitHashKey?: string }[];
        return {
          FailedRecordCount: 0,
          Records: entries.map((e) => ({
            ShardId: shardOf(e.PartitionKey, e.ExplicitHashKey),
            SequenceNumber: String(++sequence).padStart(20, '0'),
          })),
        };
      }
      default:
        throw new Error(`the in-process Kinesis does not answer ${target}`);
    }
  };
  const decoder = new TextDecoder();
  const handler = {
    handle(request: Request) {
      const target = (request.headers['x-amz-target'] ?? '').split('.').pop()!;
      const body = request.body;
      const text = typeof body === 'string' ? body : decoder.decode(body as Uint8Array);
      const out = answer(target, JSON.parse(text) as Record<string, unknown>);
      return Promise.resolve({
        response: {
          statusCode: 200,
          reason: 'OK',
          headers: { 'content-type': 'application/x-amz-json-1.1' },
          body: Buffer.from(JSON.stringify(out)),
        },
      });
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
  return new KinesisClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
    requestHandler: handler as unknown as KinesisClient['config']['requestHandler'],
  });
}

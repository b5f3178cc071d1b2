import { Agent } from 'node:http';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * A client for a fake at `endpoint`, also one running in another process (the benchmarks' stub):
 * fake credentials, HTTP/1.1 keep-alive, and no SDK retries unless asked (tests count attempts).
 */
export function fakeKinesisClient(
  endpoint: string,
  options: { region?: string; maxAttempts?: number; maxSockets?: number } = {},
): KinesisClient {
  return new KinesisClient({
    region: options.region ?? 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
    maxAttempts: options.maxAttempts ?? 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 50 }),
    }),
  });
}

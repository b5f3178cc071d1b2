import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';

/** Static credentials for emulators, which accept any. Never real secrets. */
export const EMULATOR_CREDENTIALS: {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
} = {
  accessKeyId: 'AKIAEMULATOR0000000',
  secretAccessKey: 'emulator-secret-not-a-real-key',
};

/** How to reach a Kinesis endpoint. */
export interface KinesisClientOptions {
  endpoint?: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * Use HTTP/2 (the SDK's NodeHttp2Handler). Default false: HTTP/1.1 with keep-alive, which is
   * what a plain `http://` emulator port needs (kinesis-local answers h2c PutRecords with a
   * protocol error) and what measured fastest for unary calls.
   */
  http2?: boolean;
  /**
   * Accept a self-signed TLS certificate. Only for a local emulator, which must be said
   * explicitly; never the default.
   */
  allowSelfSignedCertificate?: boolean;
  /** Most concurrent sockets for HTTP/1.1. Default 50. */
  maxSockets?: number;
}

/** A Kinesis client with the request handler chosen on purpose, not by default. */
export function createKinesisClient(options: KinesisClientOptions): KinesisClient {
  const rejectUnauthorized = options.allowSelfSignedCertificate !== true;
  const requestHandler = options.http2
    ? new NodeHttp2Handler({
        disableConcurrentStreams: false,
        ...(rejectUnauthorized ? {} : { nodeHttp2ConnectOptions: { rejectUnauthorized } }),
      } as ConstructorParameters<typeof NodeHttp2Handler>[0])
    : new NodeHttpHandler({
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 50 }),
        httpsAgent: new HttpsAgent({
          keepAlive: true,
          maxSockets: options.maxSockets ?? 50,
          rejectUnauthorized,
        }),
      });
  return new KinesisClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    // The SDK writes bookkeeping onto the credentials object: give it its own copy.
    ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
    requestHandler,
  });
}

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '@shardline/local';
import type { BackendInfo } from './backend-info';

/**
 * Clients for a backend, from its description alone: the global setup (probe, clean-up) has no
 * test context to `inject` from, and tests reach these through ./backend.
 */

/**
 * A Kinesis client. `http2: false` (default) talks HTTP/1.1 keep-alive to the plain endpoint;
 * `http2: true` talks HTTP/2 to the TLS endpoint. A self-signed certificate is accepted only for
 * a local emulator.
 */
export function kinesisClientFor(
  info: BackendInfo,
  options: { http2?: boolean } = {},
): KinesisClient {
  const endpoint = options.http2 ? info.kinesisTlsEndpoint : info.kinesisEndpoint;
  return createKinesisClient({
    region: info.region,
    ...(endpoint ? { endpoint } : {}),
    ...(info.credentials ? { credentials: info.credentials } : {}),
    http2: options.http2 === true,
    allowSelfSignedCertificate: info.emulator,
  });
}

/** A DynamoDB client. */
export function dynamoDBClientFor(
  info: BackendInfo,
  options: { maxAttempts?: number } = {},
): DynamoDBClient {
  return new DynamoDBClient({
    region: info.region,
    ...(info.dynamodbEndpoint ? { endpoint: info.dynamodbEndpoint } : {}),
    // The SDK writes bookkeeping onto the credentials object: give it its own copy.
    ...(info.credentials ? { credentials: { ...info.credentials } } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  });
}

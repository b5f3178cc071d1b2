import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { startLocalBackend } from '@shardline/local';
import type * as LocalstackModule from '@testcontainers/localstack';
import type { StartedLocalStackContainer } from '@testcontainers/localstack';
import { dynamoDBClientFor, kinesisClientFor } from './backend-clients';
import type { BackendInfo } from './backend-info';
import { newRunId } from './run-resources';

/** A started backend and how to stop it. */
export interface StartedBackend {
  info: BackendInfo;
  stop(): Promise<void>;
}

/**
 * Starts (or finds) the backend `SHARDLINE_TEST_BACKEND` names:
 * - `embedded` (default): kinesis-local + dynalite on free 127.0.0.1 ports, no Docker.
 * - `localstack`: LocalStack through testcontainers (needs a Docker engine).
 * - `endpoint`: whatever runs at KINESIS_ENDPOINT / DYNAMODB_ENDPOINT (docker-compose LocalStack),
 *   or real AWS when they are unset (region and credentials from the standard AWS environment).
 */
export async function startBackend(env: NodeJS.ProcessEnv = process.env): Promise<StartedBackend> {
  const kind = env.SHARDLINE_TEST_BACKEND ?? 'embedded';
  const runId = newRunId();
  switch (kind) {
    case 'embedded': {
      const local = await startLocalBackend();
      return {
        info: {
          kind: 'embedded',
          runId,
          region: local.region,
          credentials: local.credentials,
          kinesisEndpoint: local.kinesisEndpoint,
          kinesisTlsEndpoint: local.kinesisTlsEndpoint,
          dynamodbEndpoint: local.dynamodbEndpoint,
          emulator: true,
        },
        stop: () => local.stop(),
      };
    }
    case 'localstack':
      return startLocalStack(runId);
    case 'endpoint': {
      const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
      const kinesisEndpoint = env.KINESIS_ENDPOINT;
      const info: BackendInfo = {
        kind: 'endpoint',
        runId,
        region,
        ...(kinesisEndpoint ? { kinesisEndpoint } : {}),
        ...(env.KINESIS_TLS_ENDPOINT || kinesisEndpoint
          ? { kinesisTlsEndpoint: env.KINESIS_TLS_ENDPOINT ?? kinesisEndpoint }
          : {}),
        ...(env.DYNAMODB_ENDPOINT ? { dynamodbEndpoint: env.DYNAMODB_ENDPOINT } : {}),
        ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
          ? {
              credentials: {
                accessKeyId: env.AWS_ACCESS_KEY_ID,
                secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
              },
            }
          : kinesisEndpoint
            ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
            : {}),
        // A local endpoint (LocalStack, kinesis-local) may use a self-signed certificate.
        emulator: isLoopback(kinesisEndpoint),
      };
      await probeBackend(info);
      return { info, stop: async () => {} };
    }
    default:
      throw new Error(
        `SHARDLINE_TEST_BACKEND=${kind} is not one of embedded, localstack, endpoint`,
      );
  }
}

async function startLocalStack(runId: string): Promise<StartedBackend> {
  let testcontainers: typeof LocalstackModule;
  try {
    testcontainers = await import('@testcontainers/localstack');
  } catch (error) {
    throw new Error(
      `SHARDLINE_TEST_BACKEND=localstack needs @testcontainers/localstack: ${(error as Error).message}`,
    );
  }
  let container: StartedLocalStackContainer;
  try {
    container = await new testcontainers.LocalstackContainer(
      process.env.LOCALSTACK_IMAGE ?? 'localstack/localstack:4.4',
    )
      .withEnvironment({
        SERVICES: 'kinesis,dynamodb',
        KINESIS_LATENCY: '0',
        KINESIS_SHARD_LIMIT: '100000',
      })
      .start();
  } catch (error) {
    throw new Error(
      `SHARDLINE_TEST_BACKEND=localstack could not start LocalStack through testcontainers (is a Docker engine running?): ${(error as Error).message}`,
    );
  }
  const endpoint = container.getConnectionUri();
  const info: BackendInfo = {
    kind: 'localstack',
    runId,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    kinesisEndpoint: endpoint,
    kinesisTlsEndpoint: endpoint.replace(/^http:/, 'https:'),
    dynamodbEndpoint: endpoint,
    emulator: true,
  };
  await probeBackend(info);
  return { info, stop: async () => void (await container.stop()) };
}

/** One cheap call to each service, with a short deadline; a clear error when either is down. */
export async function probeBackend(info: BackendInfo, timeoutMs = 10_000): Promise<void> {
  const kinesis = kinesisClientFor(info);
  const dynamodb = dynamoDBClientFor(info, { maxAttempts: 1 });
  try {
    await kinesis
      .send(new ListStreamsCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(timeoutMs) })
      .catch((error: Error) => {
        throw new Error(
          `Kinesis backend (${info.kind}) at ${info.kinesisEndpoint ?? 'the AWS default endpoint'} is unreachable: ${error.message || error.name}`,
        );
      });
    await dynamodb
      .send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(timeoutMs) })
      .catch((error: Error) => {
        throw new Error(
          `DynamoDB backend (${info.kind}) at ${info.dynamodbEndpoint ?? 'the AWS default endpoint'} is unreachable: ${error.message || error.name}`,
        );
      });
  } finally {
    kinesis.destroy();
    dynamodb.destroy();
  }
}

function isLoopback(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { EMULATOR_CREDENTIALS, createKinesisClient } from '@shardline/local';
import { isHttpUrl, type AwsFlags } from './args';
import { UsageError } from './errors';

/** Where and how to reach Kinesis and DynamoDB, resolved from flags and the AWS environment. */
export interface AwsConfig {
  region: string;
  /** Undefined: the SDK's default endpoint for the region (real AWS). */
  kinesisEndpoint: string | undefined;
  /**
   * HTTPS endpoint for enhanced fan-out (HTTP/2): `KINESIS_TLS_ENDPOINT` (what `shardline local`
   * prints), else the Kinesis endpoint when it is https, else the AWS default.
   */
  kinesisTlsEndpoint: string | undefined;
  dynamodbEndpoint: string | undefined;
  /** Undefined: the SDK's default provider chain (env, profile, SSO, instance role...). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
  /** Where the credentials came from, safe to print. */
  credentialSource: 'flags' | 'environment' | 'emulator-default' | 'sdk-default-chain';
  /** A loopback endpoint: an emulator, whose self-signed certificate may be accepted. */
  emulator: boolean;
}

/**
 * Resolves the connection. Flags win over the environment; service-specific settings win over
 * shared ones: `--kinesis-endpoint` > `--endpoint` > `AWS_ENDPOINT_URL_KINESIS` > `KINESIS_ENDPOINT` >
 * `AWS_ENDPOINT_URL` (and the same for DynamoDB). Region: `--region` > `AWS_REGION` >
 * `AWS_DEFAULT_REGION`, or `us-east-1` when every endpoint is local. A loopback endpoint without
 * any credentials configured gets the emulator's dummy ones, so LocalStack and kinesis-local work
 * with no set-up; anything else is left to the SDK's provider chain (`--profile` sets `AWS_PROFILE`).
 */
export function resolveAwsConfig(flags: AwsFlags, env: NodeJS.ProcessEnv): AwsConfig {
  const pick = (...values: (string | undefined)[]) =>
    values.find((v) => v !== undefined && v.trim() !== '');
  const kinesisEndpoint = pick(
    flags.kinesisEndpoint,
    flags.endpoint,
    env.AWS_ENDPOINT_URL_KINESIS,
    env.KINESIS_ENDPOINT,
    env.AWS_ENDPOINT_URL,
  );
  const dynamodbEndpoint = pick(
    flags.dynamodbEndpoint,
    flags.endpoint,
    env.AWS_ENDPOINT_URL_DYNAMODB,
    env.DYNAMODB_ENDPOINT,
    env.AWS_ENDPOINT_URL,
  );
  for (const [name, value] of [
    ['Kinesis', kinesisEndpoint],
    ['DynamoDB', dynamodbEndpoint],
  ] as const) {
    if (value !== undefined && !isHttpUrl(value))
      throw new UsageError(`the ${name} endpoint ${JSON.stringify(value)} is not an http(s) URL`);
  }
  const kinesisTlsEndpoint =
    pick(env.KINESIS_TLS_ENDPOINT) ??
    (kinesisEndpoint?.startsWith('https:') ? kinesisEndpoint : undefined);
  if (kinesisTlsEndpoint !== undefined && !kinesisTlsEndpoint.startsWith('https:'))
    throw new UsageError(
      `KINESIS_TLS_ENDPOINT ${JSON.stringify(kinesisTlsEndpoint)} is not an https URL`,
    );
  const emulator = [kinesisEndpoint, dynamodbEndpoint].some(
    (e) => e !== undefined && isLoopback(e),
  );
  const allLocal = [kinesisEndpoint, dynamodbEndpoint].every(
    (e) => e !== undefined && isLoopback(e),
  );
  const region =
    pick(flags.region, env.AWS_REGION, env.AWS_DEFAULT_REGION) ??
    (allLocal ? 'us-east-1' : undefined);
  if (region === undefined) throw new UsageError('no region: pass --region or set AWS_REGION');

  let credentials: AwsConfig['credentials'];
  let credentialSource: AwsConfig['credentialSource'];
  if (flags.accessKeyId !== undefined && flags.secretAccessKey !== undefined) {
    credentials = {
      accessKeyId: flags.accessKeyId,
      secretAccessKey: flags.secretAccessKey,
      ...(flags.sessionToken ? { sessionToken: flags.sessionToken } : {}),
    };
    credentialSource = 'flags';
  } else if (flags.profile === undefined && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
    credentialSource = 'environment';
  } else if (flags.profile === undefined && env.AWS_PROFILE === undefined && allLocal) {
    credentials = { ...EMULATOR_CREDENTIALS };
    credentialSource = 'emulator-default';
  } else {
    credentials = undefined;
    credentialSource = 'sdk-default-chain';
  }
  return {
    region,
    kinesisEndpoint,
    kinesisTlsEndpoint,
    dynamodbEndpoint,
    credentials,
    credentialSource,
    emulator,
  };
}

/** One line naming the target, for logs and errors. Never includes secrets. */
export function describeTarget(config: AwsConfig): string {
  return `Kinesis ${config.kinesisEndpoint ?? 'AWS default endpoint'}, DynamoDB ${config.dynamodbEndpoint ?? 'AWS default endpoint'}, region ${config.region}, credentials from ${config.credentialSource}`;
}

/**
 * A Kinesis client speaking HTTP/1.1 keep-alive: what a plain emulator port needs and what is
 * fastest for unary calls. (Enhanced fan-out builds its own HTTP/2 client from the TLS endpoint.)
 */
export function kinesisClientFor(config: AwsConfig): KinesisClient {
  return createKinesisClient({
    region: config.region,
    ...(config.kinesisEndpoint ? { endpoint: config.kinesisEndpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
  });
}

/** A DynamoDB client for the lease table. */
export function dynamoDBClientFor(config: AwsConfig): DynamoDBClient {
  return new DynamoDBClient({
    region: config.region,
    ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}),
    ...(config.credentials ? { credentials: { ...config.credentials } } : {}),
  });
}

function isLoopback(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return (
    host === 'localhost' ||
    host === '::1' ||
    host === '[::1]' ||
    host.startsWith('127.') ||
    host === 'localstack' ||
    host.endsWith('.localhost.localstack.cloud') ||
    host === 'localhost.localstack.cloud'
  );
}

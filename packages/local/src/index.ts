import { CreateStreamCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { EMULATOR_CREDENTIALS, createKinesisClient } from './clients';
import { startDynamoDBLocal, type DynamoDBLocal } from './dynamodb-local';
import { startKinesisLocal, type KinesisLocalProcess } from './kinesis-local';
import { waitUntil } from './wait';

export { EMULATOR_CREDENTIALS, createKinesisClient } from './clients';
export type { KinesisClientOptions } from './clients';
export { freePort } from './free-port';
export { FAST_DURATIONS } from './kinesis-local';
export { findEmulatorProcesses, isProcessAlive, type EmulatorProcess } from './emulator-processes';
export {
  checkNoEmulatorsLeft,
  describeLeftovers,
  type EmulatorGuardOptions,
  type EmulatorGuardResult,
} from './emulator-guard';

/** What to start. */
export interface LocalBackendOptions {
  /** Start kinesis-local (Kinesis, with enhanced fan-out on its TLS port). Default true. */
  kinesis?: boolean;
  /** Start dynalite (DynamoDB, in this process). Default true. */
  dynamodb?: boolean;
  /**
   * Plain HTTP port of kinesis-local. Default 0: the OS picks a free one when kinesis-local binds
   * it, so two backends never race for a port. A port given here that is taken fails the start
   * with kinesis-local's `EADDRINUSE`, and no process is left behind.
   */
  kinesisPort?: number;
  /** TLS (HTTP/2) port of kinesis-local. Default 0: chosen by the OS at bind time, as above. */
  kinesisTlsPort?: number;
  /** DynamoDB port. Default 0: chosen by the OS at bind time. */
  dynamodbPort?: number;
  /** Streams to create at start; resolved once each is ACTIVE. Default none. */
  streams?: { name: string; shards: number }[];
  /** Region the emulators report. Default `us-east-1`. */
  region?: string;
  /**
   * Extra kinesis-local environment, e.g. `{ SPLIT_SHARD_DURATION: '500ms' }`. By default every
   * state change (create, split, merge, register consumer) takes 0 ms so tests run fast.
   */
  kinesisEnv?: Record<string, string>;
  /** How long kinesis-local may take to answer. Default 60,000 ms. */
  startTimeoutMs?: number;
}

/** A running embedded backend. */
export interface LocalBackend {
  readonly region: string;
  /** Dummy credentials the emulators accept; never real ones. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** `http://127.0.0.1:<port>`: use with HTTP/1.1 (the SDK's NodeHttpHandler). Empty if Kinesis was not started. */
  readonly kinesisEndpoint: string;
  /** `https://127.0.0.1:<port>`: HTTP/2 with a self-signed certificate; needed for SubscribeToShard. */
  readonly kinesisTlsEndpoint: string;
  /** `http://127.0.0.1:<port>`. Empty if DynamoDB was not started. */
  readonly dynamodbEndpoint: string;
  /** Process id of kinesis-local (its watchdog process); undefined if Kinesis was not started. */
  readonly kinesisPid: number | undefined;
  /** Environment variables a user can paste into a shell to point tools at this backend. */
  env(): Record<string, string>;
  /** Stops both emulators and frees their ports. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts kinesis-local (a child process that dies with this one) and dynalite (in this process)
 * on free 127.0.0.1 ports, and creates the streams asked for. No Docker needed.
 */
export async function startLocalBackend(options: LocalBackendOptions = {}): Promise<LocalBackend> {
  const region = options.region ?? 'us-east-1';
  let kinesis: KinesisLocalProcess | undefined;
  let dynamodb: DynamoDBLocal | undefined;
  const stop = async () => {
    await Promise.all([kinesis?.stop(), dynamodb?.stop()]);
  };
  // allSettled, not all: when one emulator fails to start, the other may already be running and
  // must be stopped too, not left to the end of the process.
  const [kinesisStarted, dynamodbStarted] = await Promise.allSettled([
    options.kinesis === false
      ? undefined
      : startKinesisLocal({
          plainPort: options.kinesisPort ?? 0,
          tlsPort: options.kinesisTlsPort ?? 0,
          region,
          ...(options.kinesisEnv ? { env: options.kinesisEnv } : {}),
          ...(options.startTimeoutMs ? { startTimeoutMs: options.startTimeoutMs } : {}),
        }),
    options.dynamodb === false ? undefined : startDynamoDBLocal(options.dynamodbPort ?? 0),
  ]);
  if (kinesisStarted.status === 'fulfilled') kinesis = kinesisStarted.value;
  if (dynamodbStarted.status === 'fulfilled') dynamodb = dynamodbStarted.value;
  const failure = [kinesisStarted, dynamodbStarted].find(
    (r): r is PromiseRejectedResult => r.status === 'rejected',
  );
  if (failure) {
    await stop();
    throw failure.reason;
  }

  const kinesisEndpoint = kinesis ? `http://127.0.0.1:${kinesis.plainPort}` : '';
  const kinesisTlsEndpoint = kinesis ? `https://127.0.0.1:${kinesis.tlsPort}` : '';
  const dynamodbEndpoint = dynamodb ? `http://127.0.0.1:${dynamodb.port}` : '';

  if (kinesis && options.streams?.length) {
    const client = createKinesisClient({
      endpoint: kinesisEndpoint,
      region,
      credentials: EMULATOR_CREDENTIALS,
    });
    try {
      for (const stream of options.streams) {
        await client.send(
          new CreateStreamCommand({ StreamName: stream.name, ShardCount: stream.shards }),
        );
        await waitUntil(
          async () => {
            const out = await client.send(
              new DescribeStreamSummaryCommand({ StreamName: stream.name }),
            );
            return out.StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
          },
          { timeoutMs: 30_000, what: `stream ${stream.name}` },
        );
      }
    } catch (error) {
      await stop();
      throw error;
    } finally {
      client.destroy();
    }
  }

  return {
    region,
    credentials: { ...EMULATOR_CREDENTIALS },
    kinesisEndpoint,
    kinesisTlsEndpoint,
    dynamodbEndpoint,
    kinesisPid: kinesis?.pid,
    env: () => ({
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      ...(kinesisEndpoint
        ? { KINESIS_ENDPOINT: kinesisEndpoint, KINESIS_TLS_ENDPOINT: kinesisTlsEndpoint }
        : {}),
      ...(dynamodbEndpoint ? { DYNAMODB_ENDPOINT: dynamodbEndpoint } : {}),
    }),
    stop,
  };
}

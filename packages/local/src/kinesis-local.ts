import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { EMULATOR_CREDENTIALS, createKinesisClient } from './clients';
import { waitUntil } from './wait';

const require = createRequire(import.meta.url);

/**
 * Runs kinesis-local inside a tiny watchdog: the child exits when its stdin closes, which the OS
 * does when the parent dies for any reason (kill -9 included), so no emulator outlives its owner.
 * kinesis-local reads its TLS certificate relative to its cwd, hence cwd = its package folder.
 */
const WATCHDOG = `
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
require(process.argv[1]);
`;

/** A running kinesis-local. */
export interface KinesisLocalProcess {
  readonly plainPort: number;
  readonly tlsPort: number;
  stop(): Promise<void>;
}

export interface KinesisLocalOptions {
  plainPort: number;
  tlsPort: number;
  region: string;
  /** Extra environment for kinesis-local (durations, log level). */
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

/** Durations kinesis-local waits before a stream or consumer changes state; short for fast tests. */
export const FAST_DURATIONS: Record<string, string> = {
  CREATE_STREAM_DURATION: '0ms',
  DELETE_STREAM_DURATION: '0ms',
  REGISTER_STREAM_CONSUMER_DURATION: '0ms',
  DEREGISTER_STREAM_CONSUMER_DURATION: '0ms',
  MERGE_SHARDS_DURATION: '0ms',
  SPLIT_SHARD_DURATION: '0ms',
  UPDATE_SHARD_COUNT_DURATION: '0ms',
  UPDATE_STREAM_MODE_DURATION: '0ms',
  START_STREAM_ENCRYPTION_DURATION: '0ms',
  STOP_STREAM_ENCRYPTION_DURATION: '0ms',
};

/** Starts kinesis-local and resolves once it answers ListStreams on its plain port. */
export async function startKinesisLocal(
  options: KinesisLocalOptions,
): Promise<KinesisLocalProcess> {
  const main = require.resolve('kinesis-local/main.js');
  const child: ChildProcess = spawn(process.execPath, ['-e', WATCHDOG, main], {
    cwd: dirname(main),
    env: {
      PATH: process.env.PATH ?? '',
      KINESIS_MOCK_PLAIN_PORT: String(options.plainPort),
      KINESIS_MOCK_TLS_PORT: String(options.tlsPort),
      AWS_REGION: options.region,
      LOG_LEVEL: 'WARN',
      ROOT_LOG_LEVEL: 'ERROR',
      SHOULD_PERSIST_DATA: 'false',
      ...FAST_DURATIONS,
      // kinesis-mock's default account limit is 50 open shards; a test run that gives every test
      // its own stream passes that quickly. Real accounts start at 200-500 and can be raised.
      SHARD_LIMIT: '100000',
      ON_DEMAND_STREAM_COUNT_LIMIT: '1000',
      ...options.env,
    },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let exited: Error | undefined;
  child.once('exit', (code, signal) => {
    exited = new Error(
      `kinesis-local exited early (code ${code}, signal ${signal}): ${stderr.trim() || 'no output'}`,
    );
  });
  child.once('error', (error) => {
    exited = new Error(`kinesis-local could not start: ${error.message}`);
  });
  const onParentExit = () => child.kill('SIGKILL');
  process.once('exit', onParentExit);

  const stop = async () => {
    process.removeListener('exit', onParentExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  };

  const client = createKinesisClient({
    endpoint: `http://127.0.0.1:${options.plainPort}`,
    region: options.region,
    credentials: EMULATOR_CREDENTIALS,
  });
  try {
    await waitUntil(
      async () => {
        await client.send(new ListStreamsCommand({}), { abortSignal: AbortSignal.timeout(2000) });
        return true;
      },
      { timeoutMs: options.startTimeoutMs ?? 60_000, what: 'kinesis-local', failed: () => exited },
    );
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { plainPort: options.plainPort, tlsPort: options.tlsPort, stop };
}

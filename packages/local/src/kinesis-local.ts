import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { EMULATOR_CREDENTIALS, createKinesisClient } from './clients';
import { waitUntil } from './wait';
import { EMULATOR_MARKER, SENTINEL_PORTS, WATCHDOG } from './watchdog';

const require = createRequire(import.meta.url);

/** A running kinesis-local. */
export interface KinesisLocalProcess {
  readonly pid: number;
  readonly plainPort: number;
  readonly tlsPort: number;
  stop(): Promise<void>;
}

export interface KinesisLocalOptions {
  /** Plain HTTP port; 0 lets the OS choose at bind time (no race). */
  plainPort: number;
  /** TLS (HTTP/2) port; 0 lets the OS choose at bind time. */
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

/** How long a stop waits for the gentle way out (stdin end, SIGTERM) before SIGKILL. */
const GENTLE_STOP_MS = 2000;
/** How long a stop waits for the exit after SIGKILL before it reports the process as stuck. */
const KILL_DEADLINE_MS = 10_000;

/**
 * Starts kinesis-local under the watchdog (see `watchdog.ts`) and resolves once it has bound both
 * ports and answers ListStreams on the plain one. Whatever goes wrong on the way (a port taken, an
 * early exit, the time-out), the process is ended before the error is thrown.
 */
export async function startKinesisLocal(
  options: KinesisLocalOptions,
): Promise<KinesisLocalProcess> {
  const main = require.resolve('kinesis-local/main.js');
  const child: ChildProcess = spawn(process.execPath, ['-e', WATCHDOG, main], {
    cwd: dirname(main),
    env: {
      PATH: process.env.PATH ?? '',
      ...SENTINEL_PORTS,
      SHARDLINE_PLAIN_PORT: String(options.plainPort),
      SHARDLINE_TLS_PORT: String(options.tlsPort),
      [EMULATOR_MARKER]: 'kinesis-local',
      SHARDLINE_EMULATOR_OWNER: String(process.pid),
      // The test run's id (set by scripts/test-run.mjs and .ci/run) lets the run's guard find
      // every emulator it started, whichever process started it.
      ...(process.env.SHARDLINE_RUN_ID ? { SHARDLINE_RUN_ID: process.env.SHARDLINE_RUN_ID } : {}),
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
    stdio: ['pipe', 'ignore', 'pipe', 'pipe'],
  });
  // The pipes must not keep the owner's event loop alive, nor fail it when the child goes.
  for (const stream of [child.stdin, child.stderr, child.stdio[3]]) stream?.on('error', () => {});
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const ports: { plain?: number; tls?: number } = {};
  createInterface({ input: child.stdio[3] as Readable }).on('line', (line) => {
    try {
      const report = JSON.parse(line) as { listening: 'plain' | 'tls'; port: number };
      ports[report.listening] = report.port;
    } catch {
      // Not ours; fd 3 carries nothing else.
    }
  });
  let exited: Error | undefined;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = new Error(
        `kinesis-local exited early (code ${code}, signal ${signal}): ${stderr.trim() || 'no output'}`,
      );
      resolve();
    });
  });
  child.once('error', (error) => {
    exited = new Error(`kinesis-local could not start: ${error.message}`);
  });
  // Normal exit of the owner (process.exit, end of the event loop): SIGKILL is synchronous here.
  const onOwnerExit = () => child.kill('SIGKILL');
  process.once('exit', onOwnerExit);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.removeListener('exit', onOwnerExit);
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      // Gently first (the watchdog exits at once on either), then for sure: a kinesis-local
      // that stopped serving, or is itself stopped (SIGSTOP), still ends.
      child.stdin?.end();
      child.kill('SIGTERM');
      if (await settlesWithin(gone, GENTLE_STOP_MS)) return;
      child.kill('SIGKILL');
      if (await settlesWithin(gone, KILL_DEADLINE_MS)) return;
      throw new Error(
        `kinesis-local (pid ${child.pid}) did not exit ${KILL_DEADLINE_MS} ms after SIGKILL`,
      );
    })());

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  const remaining = () => Math.max(0, deadline - Date.now());
  try {
    await waitUntil(async () => ports.plain !== undefined && ports.tls !== undefined, {
      timeoutMs: remaining(),
      intervalMs: 20,
      what: 'kinesis-local (binding its ports)',
      failed: () => exited,
    });
    const client = createKinesisClient({
      endpoint: `http://127.0.0.1:${ports.plain}`,
      region: options.region,
      credentials: EMULATOR_CREDENTIALS,
    });
    try {
      await waitUntil(
        async () => {
          await client.send(new ListStreamsCommand({}), { abortSignal: AbortSignal.timeout(2000) });
          return true;
        },
        { timeoutMs: remaining(), what: 'kinesis-local', failed: () => exited },
      );
    } finally {
      client.destroy();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid!, plainPort: ports.plain!, tlsPort: ports.tls!, stop };
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

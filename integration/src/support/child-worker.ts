import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { backend } from '../backend';

const FIXTURE = fileURLToPath(new URL('../../fixtures/consumer-worker.ts', import.meta.url));

/** A consumer worker in a child process; its stdout lines are parsed as they come. */
export interface ChildWorker {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
}

export function startChildWorker(env: {
  STREAM: string;
  APP: string;
  WORKER: string;
  FAILOVER?: string;
  HANDLE_SIGNALS?: string;
  CHECKPOINT_INTERVAL?: string;
}): ChildWorker {
  const info = backend();
  const child = fork(FIXTURE, [], {
    execArgv: ['--conditions=source', '--import', 'tsx'],
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      ...env,
      KINESIS_ENDPOINT: info.kinesisEndpoint,
      DYNAMODB_ENDPOINT: info.dynamodbEndpoint,
      AWS_REGION: info.region,
      AWS_ACCESS_KEY_ID: info.credentials?.accessKeyId ?? 'x',
      AWS_SECRET_ACCESS_KEY: info.credentials?.secretAccessKey ?? 'x',
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not ours
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, lines, exited };
}

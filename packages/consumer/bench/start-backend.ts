// Starts backend-process.ts as a child process for a benchmark and waits for its one JSON line.
import { fork } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** What backend-process.ts prints once its streams are filled. */
export interface BenchBackend {
  kinesisEndpoint: string;
  dynamodbEndpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The shards of stream 'bench'. */
  shardIds: string[];
  /** Kinesis records (aggregates) in stream 'bench'. */
  kinesisRecords: number;
}

/** A running backend process: its endpoints, a DynamoDB client for it, and a way to end it. */
export interface RunningBackend extends BenchBackend {
  dynamoClient(): DynamoDBClient;
  /** Asks the backend to stop and waits for its process to exit. */
  stop(): Promise<void>;
}

/** Forks backend-process.ts with `env` over this process's environment (BENCH_PER_SHARD, ...). */
export async function startBackend(env: Record<string, string>): Promise<RunningBackend> {
  const child = fork(new URL('./backend-process.ts', import.meta.url).pathname, [], {
    // The parent's loader and conditions (tsx, source or built), not its profiling or GC flags.
    execArgv: process.execArgv.filter((a) => !a.startsWith('--cpu-prof') && a !== '--expose-gc'),
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const backend = await new Promise<BenchBackend>((resolve) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        child.stdout!.off('data', onData);
        resolve(JSON.parse(out) as BenchBackend);
      }
    };
    child.stdout!.on('data', onData);
  });
  return {
    ...backend,
    dynamoClient: () =>
      new DynamoDBClient({
        endpoint: backend.dynamodbEndpoint,
        region: backend.region,
        credentials: { ...backend.credentials },
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send('stop');
      }),
  };
}

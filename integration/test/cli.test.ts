import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { deaggregate } from '@shardline/aggregation';
import { createKinesisClient } from '@shardline/local';
import { beforeAll, describe, expect, it } from 'vitest';
import { backend, createStream, readStream, uniqueName, waitFor } from '../src/backend';

// The real binary, as users run it: built by `pnpm build` (which `pnpm test` runs first).
const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.cjs', import.meta.url));

/** The child's environment: only the backend's settings, the way a user would export them. */
function backendEnv(): NodeJS.ProcessEnv {
  const info = backend();
  return {
    PATH: process.env.PATH,
    AWS_REGION: info.region,
    ...(info.credentials
      ? {
          AWS_ACCESS_KEY_ID: info.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: info.credentials.secretAccessKey,
        }
      : {}),
    ...(info.kinesisEndpoint ? { KINESIS_ENDPOINT: info.kinesisEndpoint } : {}),
    ...(info.kinesisTlsEndpoint ? { KINESIS_TLS_ENDPOINT: info.kinesisTlsEndpoint } : {}),
    ...(info.dynamodbEndpoint ? { DYNAMODB_ENDPOINT: info.dynamodbEndpoint } : {}),
  };
}

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: options.env ?? backendEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  else child.stdin!.end();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

async function run(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}) {
  const running = start(args, options);
  const { code } = await running.exit;
  return { code, stdout: running.stdout(), stderr: running.stderr() };
}

/** Every user record in the stream, de-aggregated, as text. */
async function streamPayloads(streamName: string): Promise<string[]> {
  const out: string[] = [];
  for (const raws of (await readStream(streamName)).values()) {
    for (const raw of raws)
      for (const user of deaggregate(raw)) out.push(Buffer.from(user.data).toString());
  }
  return out;
}

/** Index of a generated payload (`shardline <run> <index> <ms> ...`). */
function indexOf(payload: string): number | undefined {
  const [prefix, , index] = payload.split(' ');
  return prefix === 'shardline' ? Number(index) : undefined;
}

beforeAll(() => {
  if (!existsSync(BIN)) {
    throw new Error(
      `${BIN} is missing: build first with \`npx -y pnpm@9.15.9 build\` (the CLI tests run the built binary)`,
    );
  }
});

describe('shardline CLI (the built binary against the backend)', () => {
  it('produce (generated + NDJSON from stdin) then consume: every record comes back', async () => {
    const streamName = uniqueName('cli-roundtrip');
    await createStream(streamName, 2);

    const generated = await run([
      'produce',
      '--stream',
      streamName,
      '--count',
      '3000',
      '--keys',
      '50',
      '--compress',
      'gzip',
      '--json',
    ]);
    expect(generated.stderr).toBe('');
    expect(generated.code).toBe(0);
    const summary = JSON.parse(generated.stdout) as {
      sent: number;
      failed: number;
      seconds: number;
    };
    expect(summary).toMatchObject({ sent: 3000, failed: 0 });
    expect(summary.seconds).toBeGreaterThan(0);

    const ndjson =
      '{"partitionKey":"user-1","data":"hello"}\n{"partitionKey":"user-2","data":{"n":2}}\n';
    const piped = await run(['produce', '--stream', streamName, '--input', '-', '--json'], {
      stdin: ndjson,
    });
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ sent: 2, failed: 0 });

    const consumed = await run([
      'consume',
      '--stream',
      streamName,
      '--app',
      uniqueName('cli-app'),
      '--from',
      'trim-horizon',
      '--print',
      '--json',
      '--max-records',
      '3002',
    ]);
    expect(consumed.code).toBe(0);
    const lines = consumed.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const records = lines.filter((l) => l.type === 'record') as {
      data: string;
      partitionKey: string;
      shardId: string;
    }[];
    const indices = new Set(records.map((r) => indexOf(r.data)).filter((i) => i !== undefined));
    expect(indices.size).toBe(3000);
    expect(Math.min(...indices)).toBe(0);
    expect(Math.max(...indices)).toBe(2999);
    expect(records).toContainEqual(
      expect.objectContaining({ partitionKey: 'user-1', data: 'hello' }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({ partitionKey: 'user-2', data: '{"n":2}' }),
    );
    const last = lines.at(-1)!;
    expect(last).toMatchObject({ type: 'summary', stream: streamName, interrupted: false });
    expect(last.received as number).toBeGreaterThanOrEqual(3002);
  });

  it('consume --fanout reads through enhanced fan-out (HTTP/2 to the TLS endpoint)', async () => {
    const streamName = uniqueName('cli-fanout');
    await createStream(streamName, 2);
    const produced = await run(['produce', '--stream', streamName, '--count', '500', '--json']);
    expect(JSON.parse(produced.stdout)).toMatchObject({ sent: 500, failed: 0 });
    const consumed = await run([
      'consume',
      '--stream',
      streamName,
      '--app',
      uniqueName('cli-fanout-app'),
      '--fanout',
      'cli-efo',
      '--from',
      'trim-horizon',
      '--print',
      '--json',
      '--max-records',
      '500',
      '--duration',
      '90s',
    ]);
    expect(consumed.code, consumed.stderr).toBe(0);
    const records = consumed.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; data?: string })
      .filter((l) => l.type === 'record');
    expect(new Set(records.map((r) => indexOf(r.data!))).size).toBe(500);
  });

  it('demo with 2 workers: every record arrives, summary as JSON, exit 0', async () => {
    const result = await run([
      'demo',
      '--records',
      '4000',
      '--workers',
      '2',
      '--shards',
      '2',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      ok: true,
      workers: 2,
      sent: 4000,
      received: 4000,
      missing: 0,
      failed: 0,
      checksumOk: true,
      interrupted: false,
    });
    expect(summary.duplicates).toEqual(expect.any(Number));
    expect(summary.seconds).toEqual(expect.any(Number));
    expect(summary.leaseAcquisitions as number).toBeGreaterThanOrEqual(2);
  });

  it('bad flags and unreachable endpoints: one clear line on stderr, non-zero exit', async () => {
    const missingValue = await run(['produce', '--stream']);
    expect(missingValue.code).toBe(2);
    expect(missingValue.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(missingValue.stderr).toContain('--stream');

    const unknown = await run(['consume', '--stream', 's', '--app', 'app', '--frm', 'latest']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^shardline: consume: Unknown option '--frm'/);

    const unreachable = await run(['produce', '--stream', 's', '--count', '1'], {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        KINESIS_ENDPOINT: 'http://127.0.0.1:9',
        AWS_ACCESS_KEY_ID: 'AKIADONOTPRINT',
        AWS_SECRET_ACCESS_KEY: 'do-not-print',
      },
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(unreachable.stderr).toContain('cannot reach stream s');
    expect(unreachable.stderr).not.toContain('do-not-print');

    const missingStream = await run([
      'produce',
      '--stream',
      uniqueName('no-such-stream'),
      '--count',
      '1',
    ]);
    expect(missingStream.code).toBe(1);
    expect(missingStream.stderr).toContain('[STREAM_NOT_FOUND]');
  });

  it('SIGINT during produce: flushes, says so, and every record it reports as sent is in the stream', async () => {
    const streamName = uniqueName('cli-sigint');
    await createStream(streamName, 2);
    const running = start([
      'produce',
      '--stream',
      streamName,
      '--duration',
      '120s',
      '--rate',
      '3000',
      '--progress-interval',
      '200ms',
      '--json',
    ]);
    await waitFor(() => /progress: [1-9][\d,]* records/.test(running.stderr()), {
      timeoutMs: 30_000,
      message: 'progress with records sent',
    });
    running.child.kill('SIGINT');
    const { code } = await running.exit;
    expect(running.stderr()).toContain('SIGINT received, stopping gracefully');
    expect(code).toBe(130);
    const summary = JSON.parse(running.stdout()) as {
      sent: number;
      failed: number;
      interrupted: boolean;
    };
    expect(summary.interrupted).toBe(true);
    expect(summary.failed).toBe(0);
    expect(summary.sent).toBeGreaterThan(0);
    // With no failure, the records sent are exactly indices 0..sent-1: each must be in the stream.
    const indices = new Set((await streamPayloads(streamName)).map(indexOf));
    const lost = Array.from({ length: summary.sent }, (_, i) => i).filter((i) => !indices.has(i));
    expect(lost).toEqual([]);
  });

  it('leases: lists a running consumer’s leases; rewind is refused while it runs, and --force fences it, which reads the stream again from the start', async () => {
    const streamName = uniqueName('cli-leases');
    const app = uniqueName('cli-leases-app');
    await createStream(streamName, 2);
    const produced = await run(['produce', '--stream', streamName, '--count', '200', '--json']);
    expect(JSON.parse(produced.stdout)).toMatchObject({ sent: 200, failed: 0 });
    const consumer = start([
      'consume',
      '--stream',
      streamName,
      '--app',
      app,
      '--from',
      'trim-horizon',
      '--print',
      '--json',
    ]);
    const printed = () =>
      consumer
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{"type":"record"'))
        .map((l) => indexOf((JSON.parse(l) as { data: string }).data));
    try {
      interface Listed {
        leases: { shardId: string; owner: string | null; checkpoint: string; lag: unknown }[];
      }
      // Every record read and checkpointed: both leases owned and caught up.
      const listed = await waitFor(
        async () => {
          const out = await run(['leases', '--app', app, '--stream', streamName, '--json']);
          // Until the consumer has created its lease table: LEASE_TABLE_NOT_FOUND.
          if (out.code !== 0) throw new Error(out.stderr);
          const parsed = JSON.parse(out.stdout) as Listed;
          return printed().length >= 200 &&
            parsed.leases.length === 2 &&
            parsed.leases.every(
              (l) =>
                l.owner !== null &&
                (l.lag as { pendingRecords?: boolean }).pendingRecords === false,
            )
            ? parsed
            : undefined;
        },
        { timeoutMs: 60_000, message: 'both leases owned and caught up' },
      );
      expect(listed.leases.map((l) => l.checkpoint)).toEqual([
        expect.stringMatching(/^\d+$/),
        expect.stringMatching(/^\d+$/),
      ]);
      const human = await run(['leases', '--app', app, '--stream', streamName]);
      expect(human.stdout).toMatch(
        /shardId-000000000000\s+\S+\s+\d+\s+\d+\/\d+\s+-\s+-\s+caught up/,
      );

      // The consumer renews every 3.3 s (failover 10 s): the watch sees it and refuses.
      const refused = await run(['leases', 'rewind', '--app', app, '--to', 'trim-horizon']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/\[LEASES_IN_USE\]\n$/);
      expect(printed()).toHaveLength(200);

      const forced = await run([
        'leases',
        'rewind',
        '--app',
        app,
        '--to',
        'trim-horizon',
        '--force',
        '--json',
      ]);
      expect(forced.code, forced.stderr).toBe(0);
      const result = JSON.parse(forced.stdout) as {
        changes: { status: string; fenced: boolean; to: { checkpoint: string } }[];
      };
      expect(result.changes).toHaveLength(2);
      expect(result.changes.every((c) => c.status === 'rewound' && c.fenced)).toBe(true);
      // Fenced, the worker drops both shards, takes the freed leases again and reads from the start.
      await waitFor(() => printed().length >= 400, {
        timeoutMs: 60_000,
        message: 'records read again',
      });
      const again = printed().slice(200);
      expect(new Set(again).size).toBe(200);
    } finally {
      consumer.child.kill('SIGINT');
      await consumer.exit;
    }
    const stopped = JSON.parse((await run(['leases', '--app', app, '--json'])).stdout) as {
      leases: { owner: string | null }[];
    };
    expect(stopped.leases.map((l) => l.owner)).toEqual([null, null]);
  });

  it('local: prints endpoints and env, serves them, and Ctrl-C stops the emulators', async () => {
    const name = uniqueName('cli-local');
    const running = start(['local', '--stream', `${name}:1`, '--json'], {
      env: { PATH: process.env.PATH },
    });
    const line = await waitFor(() => running.stdout().split('\n')[0] || undefined, {
      timeoutMs: 60_000,
      message: 'local backend endpoints',
    });
    const info = JSON.parse(line) as {
      kinesisEndpoint: string;
      dynamodbEndpoint: string;
      region: string;
      env: Record<string, string>;
    };
    expect(info.env).toMatchObject({
      KINESIS_ENDPOINT: info.kinesisEndpoint,
      DYNAMODB_ENDPOINT: info.dynamodbEndpoint,
      AWS_REGION: info.region,
    });
    const client = createKinesisClient({
      endpoint: info.kinesisEndpoint,
      region: info.region,
      credentials: {
        accessKeyId: info.env.AWS_ACCESS_KEY_ID!,
        secretAccessKey: info.env.AWS_SECRET_ACCESS_KEY!,
      },
    });
    try {
      expect((await client.send(new ListStreamsCommand({}))).StreamNames).toContain(name);
      running.child.kill('SIGINT');
      expect((await running.exit).code).toBe(0);
      await expect(
        client.send(new ListStreamsCommand({}), { abortSignal: AbortSignal.timeout(5000) }),
      ).rejects.toThrow();
    } finally {
      client.destroy();
      running.child.kill('SIGKILL');
    }
  });
});

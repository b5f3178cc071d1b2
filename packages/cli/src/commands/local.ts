import { startLocalBackend } from '@shardline/local';
import type { LocalArgs } from '../args';
import type { CliIo } from '../io';

/**
 * `shardline local`: starts the embedded backend (kinesis-local + dynalite, no Docker), prints its
 * endpoints and environment variables to paste, and runs until Ctrl-C, which stops both emulators.
 * The credentials it prints are the emulator's dummy ones, never real ones.
 */
export async function runLocal(args: LocalArgs, io: CliIo): Promise<number> {
  if (!args.json) io.stderr.write('starting the embedded Kinesis and DynamoDB backend...\n');
  const backend = await startLocalBackend({ streams: args.streams });
  try {
    const env = {
      ...backend.env(),
      // Read natively by recent AWS SDKs and the AWS CLI, so other tools follow without flags.
      AWS_ENDPOINT_URL_KINESIS: backend.kinesisEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: backend.dynamodbEndpoint,
    };
    if (args.json) {
      io.stdout.write(
        JSON.stringify({
          kinesisEndpoint: backend.kinesisEndpoint,
          kinesisTlsEndpoint: backend.kinesisTlsEndpoint,
          dynamodbEndpoint: backend.dynamodbEndpoint,
          region: backend.region,
          streams: args.streams,
          env,
        }) + '\n',
      );
    } else {
      io.stdout.write(formatLocal(backend, args.streams, env));
    }
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) return resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    if (!args.json) io.stderr.write('stopping the embedded backend...\n');
  } finally {
    await backend.stop();
  }
  if (!args.json) io.stderr.write('stopped\n');
  return 0;
}

function formatLocal(
  backend: {
    kinesisEndpoint: string;
    kinesisTlsEndpoint: string;
    dynamodbEndpoint: string;
    region: string;
  },
  streams: { name: string; shards: number }[],
  env: Record<string, string>,
): string {
  const lines = [
    'Shardline local backend is running (Ctrl-C stops it).',
    `  Kinesis      ${backend.kinesisEndpoint}   (HTTP/1.1)`,
    `  Kinesis TLS  ${backend.kinesisTlsEndpoint}  (HTTP/2, self-signed certificate: for enhanced fan-out)`,
    `  DynamoDB     ${backend.dynamodbEndpoint}`,
    `  region       ${backend.region}`,
    ...(streams.length
      ? [
          `  streams      ${streams.map((s) => `${s.name} (${s.shards} shard${s.shards === 1 ? '' : 's'})`).join(', ')}`,
        ]
      : []),
    '',
    '# Paste into another shell (dummy emulator credentials, not real ones):',
    ...Object.entries(env).map(([k, v]) => `export ${k}=${v}`),
    '',
  ];
  return lines.join('\n');
}

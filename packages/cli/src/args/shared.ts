import { UsageError } from '../errors';
import { option, toggle, type Flag, type FlagTable, type FlagValues } from './flags';
import type { AwsFlags } from './types';
import { checkAppName, checkStreamName, isHttpUrl } from './values';

const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** `--json`: what it prints differs by command, so each command describes it. */
export const json = (help: string): Flag<boolean> => toggle({ help });

/** `--log-level`: pino's levels; logs go to stderr. */
export const logLevel = (help: string): Flag<string> =>
  option({
    placeholder: 'L',
    default: 'silent',
    help,
    parse: (level) => {
      if (!LOG_LEVELS.includes(level))
        throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      return level;
    },
  });

/** `-h, --help`: every command's; the main help says so, the command's help does not list it. */
export const HELP_FLAG = { help: toggle({ short: 'h' }) };

const STREAM = { short: 's', placeholder: 'S', parse: checkStreamName } as const;

/** `-s, --stream S`: the stream a command works on, named as Kinesis allows. */
export const requiredStream = () => option({ ...STREAM, required: true });

/** `-s, --stream S` where the stream is optional. */
export const optionalStream = (help: string) => option({ ...STREAM, help });

/** `-a, --app A`, required: the application, which names the lease table. */
export const app = (help: string) =>
  option({
    short: 'a',
    placeholder: 'A',
    required: true,
    help,
    parse: (name, at) => checkAppName(name, at.command),
  });

const nonEmpty = (raw: string, at: { flag: string }) => {
  if (raw.trim() === '') throw new UsageError(`${at.flag} must not be empty`);
  return raw;
};

const url = (raw: string, at: { flag: string }) => {
  if (!isHttpUrl(nonEmpty(raw, at)))
    throw new UsageError(
      `${at.flag} must be an http:// or https:// URL, got ${JSON.stringify(raw)}`,
    );
  return raw;
};

/**
 * Connection flags every networked command takes, by the `AwsFlags` field each fills; unset
 * ones fall back to the AWS environment. Listed in help by {@link connectionHelp}.
 */
const AWS: Record<keyof AwsFlags, [flag: string, parse: typeof nonEmpty]> = {
  region: ['region', nonEmpty],
  endpoint: ['endpoint', url],
  kinesisEndpoint: ['kinesis-endpoint', url],
  dynamodbEndpoint: ['dynamodb-endpoint', url],
  profile: ['profile', nonEmpty],
  accessKeyId: ['access-key-id', nonEmpty],
  secretAccessKey: ['secret-access-key', nonEmpty],
  sessionToken: ['session-token', nonEmpty],
};

const AWS_ENTRIES = Object.entries(AWS) as [keyof AwsFlags, [string, typeof nonEmpty]][];

/** The connection flags, for a command's table; help names them in one footer, without values. */
export const AWS_FLAGS: Record<string, Flag<string | undefined>> = Object.fromEntries(
  AWS_ENTRIES.map(([, [flag, parse]]) => [flag, option({ placeholder: 'VALUE', parse })]),
);

/** The `AwsFlags` a command line gave. */
export function awsFlags(values: FlagValues<FlagTable>): AwsFlags {
  const flags: AwsFlags = {};
  for (const [key, [flag]] of AWS_ENTRIES) {
    const value = values[flag] as string | undefined;
    if (value !== undefined) flags[key] = value;
  }
  if ((flags.accessKeyId === undefined) !== (flags.secretAccessKey === undefined)) {
    throw new UsageError('--access-key-id and --secret-access-key go together');
  }
  return flags;
}

/** The help footer of a networked command: where connection settings come from. */
export function connectionHelp(): string[] {
  const names = AWS_ENTRIES.map(([, [flag]]) => `--${flag}`);
  const lines = [`Connection: see 'shardline --help'; flags`];
  for (const [i, name] of names.entries()) {
    const word = `${name}${i < names.length - 1 ? ',' : ''}`;
    if (lines.at(-1)!.length + 1 + word.length > 90) lines.push(`  ${word}`);
    else lines[lines.length - 1] += ` ${word}`;
  }
  return lines;
}

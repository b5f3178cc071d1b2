import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors';

/** Connection flags every networked command takes; unset ones fall back to the AWS environment. */
export interface AwsFlags {
  region?: string;
  /** One endpoint for both services (LocalStack). */
  endpoint?: string;
  kinesisEndpoint?: string;
  dynamodbEndpoint?: string;
  profile?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
}

/** Where produced records come from. */
export type RecordInput =
  | {
      kind: 'generated';
      count: number | undefined;
      durationMs: number | undefined;
      size: number;
      keys: number;
    }
  | { kind: 'ndjson'; path: string }
  | { kind: 'lines'; path: string; keyTemplate: string };

export interface ProduceArgs {
  command: 'produce';
  stream: string;
  input: RecordInput;
  /** Records per second, or undefined for as fast as the producer takes them. */
  rate: number | undefined;
  aggregate: boolean;
  compress: 'gzip' | 'snappy' | undefined;
  json: boolean;
  quiet: boolean;
  /** How often plain (non-TTY) progress lines are printed, ms. */
  progressIntervalMs: number;
  logLevel: string;
  aws: AwsFlags;
}

export interface ConsumeArgs {
  command: 'consume';
  stream: string;
  app: string;
  fanout: string | undefined;
  from: 'TRIM_HORIZON' | 'LATEST' | { timestamp: Date };
  print: boolean;
  json: boolean;
  /** Stop once this many records were processed (and checkpointed). */
  maxRecords: number | undefined;
  durationMs: number | undefined;
  /** How often per-shard lag is printed, ms. */
  lagIntervalMs: number;
  logLevel: string;
  aws: AwsFlags;
}

export interface LocalArgs {
  command: 'local';
  streams: { name: string; shards: number }[];
  json: boolean;
  logLevel: string;
}

export interface DemoArgs {
  command: 'demo';
  records: number;
  shards: number;
  workers: number;
  fanout: boolean;
  compress: 'gzip' | 'snappy';
  size: number;
  timeoutMs: number;
  json: boolean;
  logLevel: string;
}

export interface LeasesArgs {
  command: 'leases';
  /** `shardline leases` lists; `shardline leases rewind` moves checkpoints. */
  action: 'list' | 'rewind';
  app: string;
  leaseTable: string | undefined;
  /** With a stream: lag per lease, timestamp rewinds, rewinds of finished shards. */
  stream: string | undefined;
  /** `rewind --to`: where the selected shards go. */
  to: 'TRIM_HORIZON' | 'LATEST' | { timestamp: Date } | undefined;
  /** `rewind --shard`: the shards `--to` applies to (default every lease). */
  shards: string[];
  /** `rewind --sequence SHARD=SEQ[/SUB]`: explicit checkpoints. */
  sequences: Record<string, { sequenceNumber: string; subSequenceNumber: number }>;
  force: boolean;
  dryRun: boolean;
  /** The application's failoverTimeMillis, for judging owned leases. */
  failoverTimeMs: number;
  json: boolean;
  logLevel: string;
  aws: AwsFlags;
}

export interface HelpArgs {
  command: 'help';
  topic: string | undefined;
}

export interface VersionArgs {
  command: 'version';
}

/** A parsed, validated command line. */
export type CliArgs =
  | ProduceArgs
  | ConsumeArgs
  | LeasesArgs
  | LocalArgs
  | DemoArgs
  | HelpArgs
  | VersionArgs;

/** Commands the CLI knows, in help order. */
export const COMMANDS = ['produce', 'consume', 'leases', 'local', 'demo'] as const;

type Options = NonNullable<ParseArgsConfig['options']>;

const AWS_OPTIONS: Options = {
  region: { type: 'string' },
  endpoint: { type: 'string' },
  'kinesis-endpoint': { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
  profile: { type: 'string' },
  'access-key-id': { type: 'string' },
  'secret-access-key': { type: 'string' },
  'session-token': { type: 'string' },
};

const COMMON_OPTIONS: Options = {
  json: { type: 'boolean', default: false },
  'log-level': { type: 'string', default: 'silent' },
  help: { type: 'boolean', short: 'h', default: false },
};

const OPTIONS: Record<(typeof COMMANDS)[number], Options> = {
  produce: {
    ...COMMON_OPTIONS,
    ...AWS_OPTIONS,
    stream: { type: 'string', short: 's' },
    count: { type: 'string', short: 'n' },
    duration: { type: 'string', short: 'd' },
    rate: { type: 'string', short: 'r' },
    size: { type: 'string' },
    keys: { type: 'string' },
    aggregate: { type: 'boolean' },
    'no-aggregate': { type: 'boolean' },
    compress: { type: 'string' },
    input: { type: 'string', short: 'i' },
    format: { type: 'string' },
    'key-template': { type: 'string' },
    quiet: { type: 'boolean', short: 'q', default: false },
    'progress-interval': { type: 'string' },
  },
  consume: {
    ...COMMON_OPTIONS,
    ...AWS_OPTIONS,
    stream: { type: 'string', short: 's' },
    app: { type: 'string', short: 'a' },
    fanout: { type: 'string' },
    from: { type: 'string' },
    print: { type: 'boolean', short: 'p', default: false },
    'max-records': { type: 'string' },
    duration: { type: 'string', short: 'd' },
    'lag-interval': { type: 'string' },
  },
  leases: {
    ...COMMON_OPTIONS,
    ...AWS_OPTIONS,
    app: { type: 'string', short: 'a' },
    'lease-table': { type: 'string' },
    stream: { type: 'string', short: 's' },
    to: { type: 'string' },
    shard: { type: 'string', multiple: true },
    sequence: { type: 'string', multiple: true },
    force: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
    'failover-time': { type: 'string' },
  },
  local: {
    ...COMMON_OPTIONS,
    stream: { type: 'string', short: 's', multiple: true },
  },
  demo: {
    ...COMMON_OPTIONS,
    records: { type: 'string', short: 'n' },
    shards: { type: 'string' },
    workers: { type: 'string', short: 'w' },
    fanout: { type: 'boolean', default: false },
    compress: { type: 'string' },
    size: { type: 'string' },
    timeout: { type: 'string' },
  },
};

const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * Parses and checks a command line (without `node` and the script: `process.argv.slice(2)`).
 * Every problem is a `UsageError` whose message fits on one line.
 */
export function parseCli(argv: readonly string[]): CliArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    return { command: 'help', topic: first === 'help' ? rest[0] : undefined };
  }
  if (first === '--version' || first === '-v' || first === 'version') return { command: 'version' };
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(
      `unknown command ${JSON.stringify(first)}; expected one of ${COMMANDS.join(', ')}`,
    );
  }
  const command = first as (typeof COMMANDS)[number];
  // `leases` has actions: `shardline leases [list]` and `shardline leases rewind`.
  const action = command === 'leases' && (rest[0] === 'list' || rest[0] === 'rewind');
  const values = parseFlags(command, action ? rest.slice(1) : rest);
  if (values.help === true) return { command: 'help', topic: command };
  const logLevel = str(values['log-level']) ?? 'silent';
  if (!LOG_LEVELS.includes(logLevel))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const json = values.json === true;
  switch (command) {
    case 'produce':
      return parseProduce(values, json, logLevel);
    case 'consume':
      return parseConsume(values, json, logLevel);
    case 'leases':
      return parseLeases(rest[0] === 'rewind' ? 'rewind' : 'list', values, json, logLevel);
    case 'local':
      return {
        command: 'local',
        streams: ((values.stream as string[] | undefined) ?? []).map(parseStreamSpec),
        json,
        logLevel,
      };
    case 'demo':
      return parseDemo(values, json, logLevel);
  }
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parseFlags(command: (typeof COMMANDS)[number], args: string[]): Values {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: OPTIONS[command],
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length > 0)
      throw new UsageError(`${command}: unexpected argument ${JSON.stringify(positionals[0])}`);
    return values as Values;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // node:util's messages are multi-line and mention "strict: false"; keep the first sentence.
    const message = (error as Error).message
      .split('\n')[0]!
      .replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(`${command}: ${message}`);
  }
}

function parseProduce(values: Values, json: boolean, logLevel: string): ProduceArgs {
  const stream = required(values.stream, '--stream', 'produce');
  checkStreamName(stream);
  if (values.aggregate === true && values['no-aggregate'] === true)
    throw new UsageError('produce: --aggregate and --no-aggregate contradict each other');
  const inputPath = str(values.input);
  const format = str(values.format) ?? 'ndjson';
  if (format !== 'ndjson' && format !== 'lines')
    throw new UsageError(
      `produce: --format must be ndjson or lines, got ${JSON.stringify(format)}`,
    );
  let input: RecordInput;
  if (inputPath !== undefined) {
    for (const flag of ['count', 'duration', 'size', 'keys'] as const) {
      if (values[flag] !== undefined)
        throw new UsageError(
          `produce: --${flag} generates records; it cannot be combined with --input`,
        );
    }
    const keyTemplate = str(values['key-template']);
    if (format === 'lines') {
      input = { kind: 'lines', path: inputPath, keyTemplate: keyTemplate ?? '{n}' };
    } else {
      if (keyTemplate !== undefined)
        throw new UsageError(
          'produce: --key-template applies to --format lines (NDJSON records carry their partitionKey)',
        );
      input = { kind: 'ndjson', path: inputPath };
    }
  } else {
    if (values.format !== undefined || values['key-template'] !== undefined)
      throw new UsageError('produce: --format and --key-template need --input');
    const durationMs =
      values.duration === undefined
        ? undefined
        : parseDuration(str(values.duration)!, '--duration');
    const count =
      values.count === undefined
        ? durationMs === undefined
          ? 1000
          : undefined
        : positiveInt(str(values.count)!, '--count');
    input = {
      kind: 'generated',
      count,
      durationMs,
      size: values.size === undefined ? 100 : parseBytes(str(values.size)!, '--size'),
      keys: values.keys === undefined ? 1000 : positiveInt(str(values.keys)!, '--keys'),
    };
    if (input.size > 1024 * 1024)
      throw new UsageError('produce: --size must be at most 1 MiB (the Kinesis record limit)');
  }
  return {
    command: 'produce',
    stream,
    input,
    rate: values.rate === undefined ? undefined : parseRate(str(values.rate)!),
    aggregate: values['no-aggregate'] !== true,
    compress: values.compress === undefined ? undefined : codec(str(values.compress)!, 'produce'),
    json,
    quiet: values.quiet === true,
    progressIntervalMs:
      values['progress-interval'] === undefined
        ? 5000
        : parseDuration(str(values['progress-interval'])!, '--progress-interval'),
    logLevel,
    aws: awsFlags(values),
  };
}

function parseConsume(values: Values, json: boolean, logLevel: string): ConsumeArgs {
  const stream = required(values.stream, '--stream', 'consume');
  checkStreamName(stream);
  const app = required(values.app, '--app', 'consume');
  checkAppName(app, 'consume');
  const fanout = str(values.fanout);
  if (fanout !== undefined && !/^[a-zA-Z0-9_.-]{1,128}$/.test(fanout))
    throw new UsageError('consume: --fanout must be 1-128 characters of [a-zA-Z0-9_.-]');
  return {
    command: 'consume',
    stream,
    app,
    fanout,
    from: values.from === undefined ? 'LATEST' : parseFrom(str(values.from)!),
    print: values.print === true,
    json,
    maxRecords:
      values['max-records'] === undefined
        ? undefined
        : positiveInt(str(values['max-records'])!, '--max-records'),
    durationMs:
      values.duration === undefined
        ? undefined
        : parseDuration(str(values.duration)!, '--duration'),
    lagIntervalMs:
      values['lag-interval'] === undefined
        ? 5000
        : parseDuration(str(values['lag-interval'])!, '--lag-interval'),
    logLevel,
    aws: awsFlags(values),
  };
}

function parseLeases(
  action: LeasesArgs['action'],
  values: Values,
  json: boolean,
  logLevel: string,
): LeasesArgs {
  const app = required(values.app, '--app', 'leases');
  checkAppName(app, 'leases');
  const stream = str(values.stream);
  if (stream !== undefined) checkStreamName(stream);
  const shards = (values.shard as string[] | undefined) ?? [];
  const sequences = Object.fromEntries(
    ((values.sequence as string[] | undefined) ?? []).map(parseSequenceSpec),
  );
  const to = values.to === undefined ? undefined : parseFrom(str(values.to)!, '--to');
  if (action === 'list') {
    for (const flag of ['to', 'shard', 'sequence', 'failover-time'])
      if (values[flag] !== undefined)
        throw new UsageError(`leases: --${flag} is a flag of 'shardline leases rewind'`);
    for (const flag of ['force', 'dry-run'])
      if (values[flag] === true)
        throw new UsageError(`leases: --${flag} is a flag of 'shardline leases rewind'`);
  } else {
    if (to === undefined && Object.keys(sequences).length === 0)
      throw new UsageError('leases rewind: give --to or --sequence SHARD=SEQ');
    if (to === undefined && shards.length > 0)
      throw new UsageError('leases rewind: --shard selects the shards --to applies to');
    if (typeof to === 'object' && stream === undefined)
      throw new UsageError('leases rewind: --to TIMESTAMP reads the stream: give --stream');
  }
  return {
    command: 'leases',
    action,
    app,
    leaseTable: str(values['lease-table']),
    stream,
    to,
    shards,
    sequences,
    force: values.force === true,
    dryRun: values['dry-run'] === true,
    failoverTimeMs:
      values['failover-time'] === undefined
        ? 10_000
        : parseDuration(str(values['failover-time'])!, '--failover-time'),
    json,
    logLevel,
    aws: awsFlags(values),
  };
}

/** `SHARD=SEQ` or `SHARD=SEQ/SUB` (SUB ≥ -1; -1 is before the record). */
export function parseSequenceSpec(
  value: string,
): [string, { sequenceNumber: string; subSequenceNumber: number }] {
  const match = /^([^=\s]+)=(\d{1,128})(?:\/(-1|\d+))?$/.exec(value.trim());
  if (!match)
    throw new UsageError(
      `--sequence must be SHARD=SEQUENCE or SHARD=SEQUENCE/SUB, got ${JSON.stringify(value)}`,
    );
  return [match[1]!, { sequenceNumber: match[2]!, subSequenceNumber: Number(match[3] ?? 0) }];
}

function parseDemo(values: Values, json: boolean, logLevel: string): DemoArgs {
  const records =
    values.records === undefined ? 20_000 : positiveInt(str(values.records)!, '--records');
  const shards = values.shards === undefined ? 4 : positiveInt(str(values.shards)!, '--shards');
  const workers = values.workers === undefined ? 3 : positiveInt(str(values.workers)!, '--workers');
  if (shards > 64)
    throw new UsageError('demo: --shards must be at most 64 (the embedded backend is one process)');
  if (workers > 16) throw new UsageError('demo: --workers must be at most 16');
  const size = values.size === undefined ? 100 : parseBytes(str(values.size)!, '--size');
  if (size < 32 || size > 64 * 1024)
    throw new UsageError('demo: --size must be between 32 B and 64 KiB');
  return {
    command: 'demo',
    records,
    shards,
    workers,
    fanout: values.fanout === true,
    compress: values.compress === undefined ? 'gzip' : codec(str(values.compress)!, 'demo'),
    size,
    timeoutMs:
      values.timeout === undefined ? 120_000 : parseDuration(str(values.timeout)!, '--timeout'),
    json,
    logLevel,
  };
}

function awsFlags(values: Values): AwsFlags {
  const flags: AwsFlags = {};
  const set = (key: keyof AwsFlags, flag: string) => {
    const value = str(values[flag]);
    if (value === undefined) return;
    if (value.trim() === '') throw new UsageError(`--${flag} must not be empty`);
    flags[key] = value;
  };
  set('region', 'region');
  set('endpoint', 'endpoint');
  set('kinesisEndpoint', 'kinesis-endpoint');
  set('dynamodbEndpoint', 'dynamodb-endpoint');
  set('profile', 'profile');
  set('accessKeyId', 'access-key-id');
  set('secretAccessKey', 'secret-access-key');
  set('sessionToken', 'session-token');
  for (const [key, flag] of [
    ['endpoint', 'endpoint'],
    ['kinesisEndpoint', 'kinesis-endpoint'],
    ['dynamodbEndpoint', 'dynamodb-endpoint'],
  ] as const) {
    const value = flags[key];
    if (value !== undefined && !isHttpUrl(value))
      throw new UsageError(
        `--${flag} must be an http:// or https:// URL, got ${JSON.stringify(value)}`,
      );
  }
  if ((flags.accessKeyId === undefined) !== (flags.secretAccessKey === undefined)) {
    throw new UsageError('--access-key-id and --secret-access-key go together');
  }
  return flags;
}

/** True for an absolute http(s) URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function required(value: Values[string], flag: string, command: string): string {
  const s = str(value);
  if (s === undefined || s === '') throw new UsageError(`${command}: ${flag} is required`);
  return s;
}

function str(value: Values[string]): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function checkAppName(app: string, command: string): void {
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(app))
    throw new UsageError(
      `${command}: --app must be 3-255 characters of [a-zA-Z0-9_.-] (it names the lease table)`,
    );
}

function checkStreamName(name: string): void {
  if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(name))
    throw new UsageError(
      `--stream ${JSON.stringify(name)} is not a valid Kinesis stream name (1-128 characters of [a-zA-Z0-9_.-])`,
    );
}

function codec(value: string, command: string): 'gzip' | 'snappy' {
  if (value !== 'gzip' && value !== 'snappy')
    throw new UsageError(
      `${command}: --compress must be gzip or snappy, got ${JSON.stringify(value)}`,
    );
  return value;
}

/** A positive integer; `_` and `,` separators allowed (`100_000`, `20,000`). */
export function positiveInt(value: string, flag: string): number {
  const n = Number(value.replace(/[_,]/g, ''));
  if (!/^[\d_,]+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `2m`, `1h`; a bare number is seconds. Returns milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match)
    throw new UsageError(
      `${flag} must be a duration like 500ms, 30s, 2m or 1h, got ${JSON.stringify(value)}`,
    );
  const ms = Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? 's']!);
  if (ms <= 0) throw new UsageError(`${flag} must be longer than 0, got ${JSON.stringify(value)}`);
  return ms;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 * 1024,
  mb: 1024 * 1024,
  mib: 1024 * 1024,
};

/** `100`, `512b`, `4k`/`4kb`/`4KiB`, `1m`: binary units. Returns bytes. */
export function parseBytes(value: string, flag: string): number {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? BYTE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) < 1)
    throw new UsageError(
      `${flag} must be a size like 100, 4k or 1m (bytes), got ${JSON.stringify(value)}`,
    );
  return Number(match[1]) * unit;
}

/** `500`, `500/s`, `30000/m`: records per second. */
export function parseRate(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(?:\/(s|m))?$/.exec(value.trim());
  const n = match ? Number(match[1]) * (match[2] === 'm' ? 1 / 60 : 1) : Number.NaN;
  if (!match || !(n > 0))
    throw new UsageError(
      `--rate must be records per second like 500 or 500/s, got ${JSON.stringify(value)}`,
    );
  return n;
}

/** `trim-horizon`, `latest`, or a timestamp (ISO 8601, or seconds since the epoch). */
export function parseFrom(value: string, flag = '--from'): ConsumeArgs['from'] {
  const v = value.trim().toLowerCase();
  if (v === 'trim-horizon' || v === 'trim_horizon') return 'TRIM_HORIZON';
  if (v === 'latest') return 'LATEST';
  const timestamp = /^\d+(\.\d+)?$/.test(v) ? new Date(Number(v) * 1000) : new Date(value);
  if (Number.isNaN(timestamp.getTime()) || !/\d{4}|^\d+/.test(value)) {
    throw new UsageError(
      `${flag} must be trim-horizon, latest, an ISO 8601 timestamp or epoch seconds, got ${JSON.stringify(value)}`,
    );
  }
  return { timestamp };
}

/** `name` or `name:shards` (default 1 shard). */
export function parseStreamSpec(value: string): { name: string; shards: number } {
  const [name = '', shards] = value.split(':');
  checkStreamName(name);
  return {
    name,
    shards: shards === undefined ? 1 : positiveInt(shards, `--stream ${name}: shard count`),
  };
}

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

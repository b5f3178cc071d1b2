/**
 * The `shardline` command's pieces, for embedding or testing: `runCli(argv, io)` runs a command
 * line to its exit code; the parsers and resolvers are pure.
 */
export { runCli, EXIT, oneLine } from './run';
export {
  parseCli,
  parseDuration,
  parseBytes,
  parseRate,
  parseFrom,
  parseStreamSpec,
  parseSequenceSpec,
  positiveInt,
  COMMANDS,
} from './args';
export type {
  CliArgs,
  ProduceArgs,
  ConsumeArgs,
  LeasesArgs,
  LocalArgs,
  DemoArgs,
  AwsFlags,
  RecordInput,
} from './args';
export { resolveAwsConfig, describeTarget } from './aws-config';
export type { AwsConfig } from './aws-config';
export { UsageError, InputError, BackendError } from './errors';
export type { CliIo } from './io';

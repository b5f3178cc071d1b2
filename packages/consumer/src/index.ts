export { Consumer } from './consumer';
export type { StopOptions, ConsumerHealth, IteratedBatch, ConsumerStream } from './consumer';
export type {
  ConsumerOptions,
  InitialPosition,
  ProcessorErrorAction,
  DeadLetterOptions,
  ReadAheadOptions,
  StreamSpec,
} from './options';
export { DEFAULT_CHECKPOINT_INTERVAL_MILLIS } from './options';
export { DEFAULT_MAX_CLOCK_SKEW_MILLIS } from './leases/lease-taker';
export { SHARED_SLOT_FACTOR } from './leases/scan-schedule';
export type { RetryBudgetOptions } from './processing/retry-budget';
export type { KinesisDeadLetterOptions } from './dead-letter/kinesis-destination';
export {
  DEAD_LETTER_FORMAT_VERSION,
  encodeDeadLetterRecord,
  decodeDeadLetterRecord,
} from './dead-letter/format';
export type { DeadLetterRecord } from './dead-letter/format';
export type {
  ShardProcessor,
  RecordBatch,
  ConsumerRecord,
  Checkpointer,
  ShutdownReason,
  RecordContext,
  RecordTraceContext,
  ShardStream,
} from './processor';
export type { ConsumerMetricEvent } from './metrics';
export type { ShardHealth } from './shard-worker';
export type { ShardState } from './shard-lifecycle';
export type { Lease } from './leases/lease';
export type { ExtendedSequence } from './checkpoint/sequence';
export {
  serializeStreamIdentifier,
  parseStreamIdentifier,
  multiStreamLeaseKey,
  parseMultiStreamLeaseKey,
} from './streams/stream-identifier';
export type { StreamIdentifier } from './streams/stream-identifier';
export {
  ShardlineError,
  ConfigError,
  CorruptAggregateError,
  CompressionError,
  LeaseLostError,
  LeaseTableError,
  KclCompatibilityError,
  CheckpointError,
  RetrievalError,
  PoisonRecordError,
} from './errors';
export type {
  Retrieval,
  RetrievalContext,
  ShardReader,
  RetrievedBatch,
  RawKinesisRecord,
  StartPosition,
  ChildShardInfo,
} from './retrieval/types';
export * from './retrieval/fanout/index';
export { CONSUMER_REDACT_PATHS } from './logger';
export {
  listLeases,
  rewindCheckpoints,
  LeaseAdminError,
  LeasesInUseError,
} from './admin/lease-admin';
export type {
  LeaseAdminOptions,
  LeaseStatus,
  RewindOptions,
  RewindChange,
  RewindResult,
  SequencePosition,
} from './admin/lease-admin';
export type { ShardLag } from './admin/shard-probe';
export { formatPosition } from './admin/rewind-plan';
export type { CheckpointPosition, RewindTarget, PlannedChange } from './admin/rewind-plan';
export type { LeaseLiveness } from './admin/liveness';

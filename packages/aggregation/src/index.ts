export {
  ShardlineError,
  InvalidRecordError,
  RecordTooLargeError,
  CorruptAggregateError,
  CompressionError,
  ConfigError,
} from '@shardline/common';
export type { CorruptAggregateKind, CompressionErrorKind } from '@shardline/common';
export {
  MAX_HASH_KEY,
  partitionKeyHash,
  partitionKeyDigest,
  hashKeyOf,
  HashKeyCache,
} from './hash-key';
export { checkStreamTarget, configInteger } from '@shardline/common';
export {
  MAX_PARTITION_KEY_LENGTH,
  validatePartitionKey,
  validateExplicitHashKey,
  toBytes,
} from './validate';
export {
  Aggregator,
  aggregate,
  AGGREGATE_PARTITION_KEY,
  DEFAULT_MAX_RECORD_BYTES,
  DEFAULT_MAX_AGGREGATED_RECORDS,
} from './aggregator';
export type { UserRecord, KinesisRecordOut, AggregatorOptions } from './aggregator';
export { deaggregate, isAggregated } from './deaggregate';
export type { KinesisRecordIn, DeaggregatedRecord, DeaggregateOptions } from './deaggregate';
export {
  compress,
  decompress,
  isCompressed,
  ENVELOPE_MAGIC,
  ENVELOPE_VERSION,
  ENVELOPE_HEADER_BYTES,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
} from './compression';
export type { CompressionCodec, DecompressOptions } from './compression';
export { snappyImplementation } from './snappy';
export type { SnappyImplementation } from './snappy';
export { KPL_MAGIC, AGGREGATE_OVERHEAD } from './wire';
export { REDACT_PATHS } from './redact';

/**
 * `@shardline/consumer/lambda`: KPL de-aggregation, decompression and partial batch failure
 * reporting for AWS Lambda functions triggered by Kinesis. Loads only `@shardline/aggregation`
 * (no AWS SDK, no lease machinery), to keep cold starts short.
 */
export { kinesisHandler, kinesisRecordHandler } from './lambda/handler';
export type { KinesisLambdaHandler } from './lambda/handler';
export type { BatchControl, BatchHandler, RecordHandler } from './lambda/shard-runner';
export type { KinesisHandlerOptions, KinesisRecordHandlerOptions } from './lambda/options';
export type { LambdaLogger } from './lambda/logger';
export { RecordFailure, InvalidEventError, UnknownRecordError } from './lambda/errors';
export { PoisonRecordError } from './errors';
export {
  ShardlineError,
  CorruptAggregateError,
  CompressionError,
  ConfigError,
} from '@shardline/aggregation';
export { shardIdOf } from './lambda/event';
export type {
  KinesisStreamEvent,
  KinesisEventRecord,
  KinesisEventPayload,
  KinesisStreamBatchResponse,
  BatchItemFailure,
  KinesisUserRecord,
  PoisonRecord,
  LambdaContext,
} from './lambda/types';

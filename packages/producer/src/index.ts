export { Producer } from './producer';
export type { ProducerRecord, PutOptions, CloseOptions } from './producer';
export type { ProducerOptions } from './options';
export type { PutResult, PutOutcome, Attempt } from './outcome';
export type { MetricEvent, ProducerStats } from './metrics';
export {
  ShardlineError,
  ConfigError,
  InvalidRecordError,
  RecordTooLargeError,
  RecordFailedError,
  RecordExpiredError,
  KinesisRejectedError,
  RecordThrottledError,
  ProducerClosedError,
  PutAbortedError,
} from './errors';
export { REDACT_PATHS } from './logger';
export type { TraceContext } from './trace-context';
export { traceTags } from './trace-context';

// Everything the two modules export: the errors and option checks @shardline/aggregation re-exports.
export * from './errors';
export * from './config-checks';
export { backoffCeiling, fullJitterDelay, equalJitterDelay, abortableSleep } from './backoff';
export { THROTTLE_CODES, FATAL_CODES, errorCode, isFatalCode, classifyError } from './aws-errors';
export type { ErrorClass } from './aws-errors';
export { silentLogger } from './silent-logger';

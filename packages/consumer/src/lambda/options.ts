import { ConfigError } from '@shardline/aggregation';
import type { PoisonRecordError } from '../errors';
import { silentLogger, type LambdaLogger } from './logger';
import type { LambdaContext, PoisonRecord } from './types';

/** Options of `kinesisHandler` and `kinesisRecordHandler`. */
export interface KinesisHandlerOptions<C extends object = LambdaContext> {
  /**
   * Called, in shard order, for each Kinesis record that cannot be decoded (a corrupt KPL
   * aggregate, a compression envelope with an unknown codec or a corrupt payload) and for each
   * user record of a valid aggregate whose own envelope cannot be opened; then it is skipped.
   * Send it to a dead-letter queue here. If the hook throws, the Kinesis record counts as failed:
   * it is reported in `batchItemFailures` and the rest of its shard is not processed.
   * Default: none; the record is skipped and logged at error level (sequence number and error
   * code, never its data).
   */
  onPoisonRecord?: (
    error: PoisonRecordError,
    record: PoisonRecord,
    context: C,
  ) => void | Promise<void>;
  /** pino logger (or any object with debug/info/warn/error). Default: silent. Payloads are never logged. */
  logger?: LambdaLogger;
  /**
   * Largest uncompressed size of one compression envelope, in bytes; a larger one is a poison
   * record. Default 64 MiB (`DEFAULT_MAX_DECOMPRESSED_BYTES` of `@shardline/aggregation`).
   */
  maxDecompressedBytes?: number;
}

/**
 * Options of `kinesisRecordHandler`: those of both forms, plus parallelism and the remaining-time
 * guard, which only the per-record form can apply (the batch form hands the whole batch over in
 * one call, so the adapter never decides when a record starts).
 */
export interface KinesisRecordHandlerOptions<C extends object = LambdaContext>
  extends KinesisHandlerOptions<C> {
  /**
   * Most user records of one shard's batch handled at once. Records with the same partition key
   * still run strictly one after another, in sequence order (sub-sequence order inside an
   * aggregate); records of other keys may overtake a busy key. On a failure no further record is
   * started, the running ones are awaited, and the first record in batch order that did not
   * complete is reported, so Lambda retries from there (records after it that did complete are
   * delivered again: make the handler idempotent). Default 1: one record at a time, in order.
   */
  maxConcurrency?: number;
  /**
   * Remaining-time guard, in milliseconds: no record is started once
   * `context.getRemainingTimeInMillis()` is below this; the records already running are awaited,
   * and the shard is reported failed from its first record not started, so Lambda retries from
   * there instead of timing out (and retrying) the whole batch. 0 turns the guard off; so does a
   * context without `getRemainingTimeInMillis`. Default: a tenth of the time remaining when the
   * invocation starts (about a tenth of the function's timeout), at most 5000 ms. Set it above the
   * slowest record's handling time: a record started just above the threshold must still finish.
   */
  minRemainingTimeMillis?: number;
}

/** Options after validation, with defaults applied. */
export interface ResolvedOptions<C extends object> {
  onPoisonRecord: KinesisHandlerOptions<C>['onPoisonRecord'];
  logger: LambdaLogger;
  maxDecompressedBytes: number | undefined;
  /** 1 unless set; the batch form does not read it. */
  maxConcurrency: number;
  /** Undefined: the default, computed per invocation from the remaining time. */
  minRemainingTimeMillis: number | undefined;
}

/** Upper bound of the default remaining-time guard, in milliseconds. */
export const DEFAULT_MAX_GUARD_MILLIS = 5_000;
/** Share of the invocation's starting remaining time the default guard keeps in reserve. */
export const DEFAULT_GUARD_FRACTION = 0.1;

/** Checks the handler and options once, when the Lambda handler is created (at cold start). */
export function resolveOptions<C extends object>(
  handler: unknown,
  options: KinesisRecordHandlerOptions<C> | undefined,
): ResolvedOptions<C> {
  if (typeof handler !== 'function')
    throw new ConfigError('the handler must be a function', 'INVALID_HANDLER');
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new ConfigError('options must be an object');
  }
  const { onPoisonRecord, logger, maxDecompressedBytes } = options ?? {};
  if (onPoisonRecord !== undefined && typeof onPoisonRecord !== 'function') {
    throw new ConfigError('onPoisonRecord must be a function');
  }
  if (logger !== undefined) {
    for (const method of ['debug', 'info', 'warn', 'error'] as const) {
      if (typeof (logger as unknown as Record<string, unknown>)?.[method] !== 'function') {
        throw new ConfigError(`logger must have a ${method}() method (pass a pino logger)`);
      }
    }
  }
  if (
    maxDecompressedBytes !== undefined &&
    !(Number.isSafeInteger(maxDecompressedBytes) && maxDecompressedBytes > 0)
  ) {
    throw new ConfigError(
      `maxDecompressedBytes must be a positive integer, got ${String(maxDecompressedBytes)}`,
    );
  }
  const { maxConcurrency, minRemainingTimeMillis } = options ?? {};
  if (
    maxConcurrency !== undefined &&
    !(Number.isSafeInteger(maxConcurrency) && maxConcurrency > 0)
  ) {
    throw new ConfigError(
      `maxConcurrency must be a positive integer, got ${String(maxConcurrency)}`,
    );
  }
  if (
    minRemainingTimeMillis !== undefined &&
    !(Number.isFinite(minRemainingTimeMillis) && minRemainingTimeMillis >= 0)
  ) {
    throw new ConfigError(
      `minRemainingTimeMillis must be a number >= 0, got ${String(minRemainingTimeMillis)}`,
    );
  }
  return {
    onPoisonRecord,
    logger: logger ?? silentLogger,
    maxDecompressedBytes,
    maxConcurrency: maxConcurrency ?? 1,
    minRemainingTimeMillis,
  };
}

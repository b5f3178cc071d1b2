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

/** Options after validation, with defaults applied. */
export interface ResolvedOptions<C extends object> {
  onPoisonRecord: KinesisHandlerOptions<C>['onPoisonRecord'];
  logger: LambdaLogger;
  maxDecompressedBytes: number | undefined;
}

/** Checks the handler and options once, when the Lambda handler is created (at cold start). */
export function resolveOptions<C extends object>(
  handler: unknown,
  options: KinesisHandlerOptions<C> | undefined,
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
  return { onPoisonRecord, logger: logger ?? silentLogger, maxDecompressedBytes };
}

import { groupByShard } from './event';
import {
  DEFAULT_GUARD_FRACTION,
  DEFAULT_MAX_GUARD_MILLIS,
  resolveOptions,
  type KinesisHandlerOptions,
  type KinesisRecordHandlerOptions,
  type ResolvedOptions,
} from './options';
import {
  runShardBatch,
  runShardPerRecord,
  type BatchHandler,
  type RecordHandler,
  type TimeGuard,
} from './shard-runner';
import type {
  BatchItemFailure,
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
  LambdaContext,
} from './types';
import type { ShardRecords } from './event';

/** The function Lambda calls: an async handler returning a partial batch response. */
export type KinesisLambdaHandler<C extends object = LambdaContext> = (
  event: KinesisStreamEvent,
  context: C,
) => Promise<KinesisStreamBatchResponse>;

/**
 * Wraps a batch handler for a Kinesis event source: records are de-aggregated and decompressed,
 * grouped by shard, and the handler is called once per shard with that shard's user records in
 * order (shards one after another). Requires `FunctionResponseTypes: ["ReportBatchItemFailures"]`
 * on the event source mapping.
 *
 * @example
 * export const handler = kinesisHandler(async (records, context, batch) => {
 *   for (const r of records) {
 *     try { await save(r); } catch (e) { throw new RecordFailure(r, e); }
 *   }
 * });
 */
export function kinesisHandler<C extends object = LambdaContext>(
  handler: BatchHandler<C>,
  options?: KinesisHandlerOptions<C>,
): KinesisLambdaHandler<C> {
  const o = resolveOptions(handler, options);
  return (event, context) => run(event, o, (shard) => runShardBatch(shard, handler, context, o));
}

/**
 * Wraps a per-record handler: each user record is handed over in shard order; the first one that
 * throws is reported (by its Kinesis record's sequence number) and the rest of its shard is not
 * processed in this invocation. Other shards of the event go on. With `maxConcurrency` above 1,
 * up to that many records of a shard run at once, one key at a time in sequence order; records
 * stop being started when the invocation's remaining time falls under `minRemainingTimeMillis`.
 *
 * @example
 * export const handler = kinesisRecordHandler(async (record) => save(record), {
 *   maxConcurrency: 16, // I/O-bound handler: 16 keys at once, each key in order
 *   minRemainingTimeMillis: 10_000, // stop starting records 10 s before the timeout
 * });
 */
export function kinesisRecordHandler<C extends object = LambdaContext>(
  handler: RecordHandler<C>,
  options?: KinesisRecordHandlerOptions<C>,
): KinesisLambdaHandler<C> {
  const o = resolveOptions(handler, options);
  return (event, context) => {
    const guard = timeGuard(context, o.minRemainingTimeMillis);
    return run(event, o, (shard) => runShardPerRecord(shard, handler, context, o, guard));
  };
}

/**
 * The invocation's remaining-time guard, or undefined when there is none (turned off, or a
 * context that cannot tell the time). The default threshold is taken from the remaining time at
 * the start, as the context does not expose the configured timeout: a fixed few seconds would
 * stop a function with Lambda's default 3 s timeout before its first record.
 */
function timeGuard(context: object, configured: number | undefined): TimeGuard | undefined {
  const get = (context as { getRemainingTimeInMillis?: unknown }).getRemainingTimeInMillis;
  if (typeof get !== 'function') return undefined;
  const remaining = (): number => Number(get.call(context));
  const threshold =
    configured ??
    Math.min(DEFAULT_MAX_GUARD_MILLIS, Math.floor(remaining() * DEFAULT_GUARD_FRACTION));
  if (!(threshold > 0)) return undefined;
  return { remaining, threshold };
}

async function run<C extends object>(
  event: KinesisStreamEvent,
  o: ResolvedOptions<C>,
  runShard: (shard: ShardRecords) => Promise<string | undefined>,
): Promise<KinesisStreamBatchResponse> {
  const shards = groupByShard(event);
  const batchItemFailures: BatchItemFailure[] = [];
  // One shard at a time, so a handler never runs concurrently with itself.
  for (const shard of shards) {
    const failed = await runShard(shard);
    if (failed !== undefined) batchItemFailures.push({ itemIdentifier: failed });
  }
  o.logger.debug(
    { shards: shards.length, records: event.Records.length, failures: batchItemFailures.length },
    'kinesis batch done',
  );
  return { batchItemFailures };
}

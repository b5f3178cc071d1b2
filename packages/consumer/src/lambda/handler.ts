import { groupByShard } from './event';
import { resolveOptions, type KinesisHandlerOptions, type ResolvedOptions } from './options';
import {
  runShardBatch,
  runShardPerRecord,
  type BatchHandler,
  type RecordHandler,
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
 * processed in this invocation. Other shards of the event go on.
 */
export function kinesisRecordHandler<C extends object = LambdaContext>(
  handler: RecordHandler<C>,
  options?: KinesisHandlerOptions<C>,
): KinesisLambdaHandler<C> {
  const o = resolveOptions(handler, options);
  return (event, context) =>
    run(event, o, (shard) => runShardPerRecord(shard, handler, context, o));
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

import type { PoisonRecordError } from '../errors';
import type { OutOfRangeAggregate } from '../record-decoder';
import type { ShardContext } from './context';

/** At most one out-of-range warning per shard in this interval; the counters say the rest. */
const OUT_OF_RANGE_WARNING_INTERVAL_MS = 60_000;

/** Counts an out-of-range aggregate; warns the first time a shard sees one, then rarely. */
export function outOfRangeAggregate(ctx: ShardContext, a: OutOfRangeAggregate): void {
  const { d, health } = ctx;
  health.outOfRangeAggregates++;
  health.outOfRangeRecords += a.records;
  d.metric({ type: 'outOfRangeAggregate', shardId: ctx.shardId, ...a });
  const now = ctx.clock.now();
  if (
    ctx.outOfRangeWarnedAt !== undefined &&
    now - ctx.outOfRangeWarnedAt < OUT_OF_RANGE_WARNING_INTERVAL_MS
  )
    return;
  ctx.outOfRangeWarnedAt = now;
  // Counts and positions only: the records' keys and data stay out of the log.
  d.logger.warn(
    {
      shardId: ctx.shardId,
      sequenceNumber: a.sequenceNumber,
      records: a.records,
      outside: a.outside,
      outOfRangeAggregates: health.outOfRangeAggregates,
      outOfRangeRecords: health.outOfRangeRecords,
    },
    `${a.dropped ? 'dropped' : 'delivering'} an aggregate holding user records that hash outside this shard ` +
      '(written by aws-kinesis-agg or a similar aggregator, or re-sent by a producer after resharding); ' +
      (a.dropped
        ? 'dropOutOfRangeAggregates is true (the KCL behaviour); set it to false (the default) to deliver them. '
        : 'set dropOutOfRangeAggregates: true to drop such aggregates, as the KCL does. ') +
      'Counted in health() and the outOfRangeAggregate metric; logged at most once a minute per shard',
  );
}

/** A record that cannot be decoded: the hook (or an error log) hears of it, and it is skipped. */
export async function poisonRecord(
  ctx: ShardContext,
  error: PoisonRecordError,
  record: { shardId: string; partitionKey: string; sequenceNumber: string; data: Uint8Array },
): Promise<void> {
  const { d } = ctx;
  d.metric({
    type: 'poisonRecord',
    shardId: ctx.shardId,
    code: (error.cause as { code?: string })?.code ?? error.code,
  });
  if (d.onPoisonRecord) {
    try {
      await d.onPoisonRecord(error, record);
    } catch (hookError) {
      d.logger.error(
        { shardId: ctx.shardId, sequenceNumber: record.sequenceNumber, err: hookError },
        'onPoisonRecord threw; the poison record was skipped',
      );
    }
  } else {
    d.logger.error(
      {
        shardId: ctx.shardId,
        sequenceNumber: record.sequenceNumber,
        code: error.code,
        reason: error.message,
      },
      'poison record skipped',
    );
  }
}

import { backoffCeiling } from '@shardline/common';
import { toDeadLetterRecord } from '../dead-letter/format';
import type { ProcessorErrorAction } from '../options';
import { bisect } from '../processing/bisect';
import { CompletedPrefix, runKeyOrdered } from '../processing/key-ordered-runner';
import {
  FailureHistory,
  RetryBudget,
  resolveRetryBudget,
  settle,
  type SettleDeps,
} from '../processing/retry-budget';
import type { ConsumerRecord, RecordBatch } from '../processor';
import { abortableSleep, errorName } from '../retrieval/backoff';
import type { ShardContext } from './context';
import type { StallWatchdog } from './stall-watchdog';

/**
 * Backoff between two attempts of a failing `processRecords`, without a dead-letter destination:
 * the shared formula, 200 ms doubling per attempt, at most 30 s.
 */
export function retryDelay(attempt: number): number {
  return backoffCeiling(attempt + 1, 200, 30_000);
}

/**
 * Hands a decoded batch to the processor: `processRecords` (retried, with `deadLetter` under the
 * budget and bisected) or `processRecord` per record (key-ordered, up to `maxConcurrencyPerShard`
 * at once). True once every record is settled (processed, skipped by `onProcessorError`, or
 * acknowledged by the dead-letter destination); false when the lease went or the shard is
 * stopping first. In per-record mode the checkpointer's delivered position follows the completed
 * prefix as records finish, so a stop in mid-batch checkpoints exactly what completed.
 */
export function deliver(
  ctx: ShardContext,
  batch: RecordBatch,
  watchdog: StallWatchdog,
): Promise<boolean> {
  const { processor } = ctx.d;
  const perRecord =
    typeof processor.processRecord === 'function' &&
    ((ctx.d.maxConcurrencyPerShard ?? 1) > 1 || typeof processor.processRecords !== 'function');
  return perRecord ? deliverRecords(ctx, batch, watchdog) : deliverBatch(ctx, batch, watchdog);
}

function budgetOf(ctx: ShardContext): RetryBudget {
  if (!ctx.d.deadLetter) return RetryBudget.unlimited(retryDelay);
  return new RetryBudget(ctx.d.retryBudget ?? resolveRetryBudget(undefined));
}

/** The retry loop's hooks, shared by both modes. */
function settleDeps(
  ctx: ShardContext,
  call: (records: readonly ConsumerRecord[], attempt: number) => Promise<void>,
  batchOf: (records: readonly ConsumerRecord[]) => RecordBatch,
): SettleDeps<ConsumerRecord> {
  const { d } = ctx;
  const budget = budgetOf(ctx);
  return {
    budget,
    now: () => ctx.clock.now(),
    call: async (records, attempt) => {
      await call(records, attempt);
      if (!ctx.health.deadLetterFailing) ctx.health.lastError = undefined;
    },
    failed: async (error, records, history) => {
      if (ctx.leaseLost) return 'stop';
      const attempt = history.attempts;
      ctx.health.lastError = `processor: ${(error as Error)?.message ?? String(error)}`;
      d.metric({ type: 'processorError', shardId: ctx.shardId, attempt });
      d.logger.error(
        {
          shardId: ctx.shardId,
          attempt,
          records: records.length,
          sequenceNumber: records[0]?.sequenceNumber,
          subSequenceNumber: records[0]?.subSequenceNumber,
          err: error,
        },
        'processor threw',
      );
      let action: ProcessorErrorAction = 'retry';
      if (d.onProcessorError) action = await d.onProcessorError(error, batchOf(records), attempt);
      return action;
    },
    spent: (records, history) => deadLetter(ctx, records, history, budget),
    wait: async (ms) => {
      await abortableSleep(ms, ctx.stop.signal).catch(() => {});
      return !ctx.stop.signal.aborted;
    },
  };
}

async function deliverBatch(
  ctx: ShardContext,
  batch: RecordBatch,
  watchdog: StallWatchdog,
): Promise<boolean> {
  const { d } = ctx;
  const batchOf = (records: readonly ConsumerRecord[]): RecordBatch =>
    records === batch.records ? batch : { ...batch, records: [...records] };
  const call = async (records: readonly ConsumerRecord[]): Promise<void> => {
    // Only the call is timed for the watchdog, never a retry's backoff.
    watchdog.callStarted(records.length);
    try {
      await d.processor.processRecords!(batchOf(records), ctx.checkpointer);
    } finally {
      watchdog.callReturned();
    }
  };
  const deps = settleDeps(ctx, call, batchOf);
  const single = async (records: readonly ConsumerRecord[], history: FailureHistory) =>
    (await settle(records, deps, history)) !== 'stopped';
  if (!d.deadLetter || d.bisectBatchOnError === false)
    return single(batch.records, new FailureHistory());
  return bisect(batch.records, new FailureHistory(), {
    now: deps.now,
    call,
    failed: deps.failed,
    single,
    halted: () => ctx.stop.signal.aborted,
    onSplit: (records) =>
      d.metric({ type: 'batchBisected', shardId: ctx.shardId, records: records.length }),
  });
}

async function deliverRecords(
  ctx: ShardContext,
  batch: RecordBatch,
  watchdog: StallWatchdog,
): Promise<boolean> {
  const { d } = ctx;
  const records = batch.records;
  const prefix = new CompletedPrefix(records);
  const deps = settleDeps(
    ctx,
    async ([record], attempt) => {
      await d.processor.processRecord!(record!, {
        shardId: ctx.shardId,
        ...ctx.streamFields,
        signal: ctx.stop.signal,
        attempt,
      });
    },
    (r) => ({ ...batch, records: [...r] }),
  );
  let next = 0;
  let settled = 0;
  // For the slow-processor report a "call" runs from one record's completion to the next: the
  // shard is slow when no record of it finished for stallTimeoutMillis, not when a large batch
  // of quick records takes long in all.
  watchdog.callStarted(records.length);
  try {
    await runKeyOrdered<number>({
      maxConcurrency: d.maxConcurrencyPerShard ?? 1,
      pull: () => (next < records.length ? next++ : undefined),
      keyOf: (i) => records[i]!.partitionKey,
      execute: async (i) => {
        const outcome = await settle([records[i]!], deps);
        watchdog.callReturned();
        if (++settled < records.length) watchdog.callStarted(records.length - settled);
        if (outcome === 'stopped') return;
        const position = prefix.complete(i);
        if (position) ctx.checkpointer.delivered(position);
      },
      // A failing dead-letter destination stops the shard: nothing new starts until it recovers.
      halted: () => ctx.stop.signal.aborted || ctx.health.deadLetterFailing,
      onRejected: (i, error) =>
        d.logger.error(
          { shardId: ctx.shardId, sequenceNumber: records[i]!.sequenceNumber, err: error },
          'processing a record failed unexpectedly; it is not checkpointed',
        ),
    });
  } finally {
    watchdog.callReturned();
  }
  return prefix.all;
}

/**
 * The budget of `records` is spent: send them to the dead-letter destination, and resolve true
 * only once it acknowledged them. A failing destination stops the shard here (health, metric,
 * log) and is tried again with the budget's backoff until it works or the shard stops (false:
 * the records stay unfinished, below the checkpoint).
 */
async function deadLetter(
  ctx: ShardContext,
  records: readonly ConsumerRecord[],
  history: FailureHistory,
  budget: RetryBudget,
): Promise<boolean> {
  const { d, health } = ctx;
  const destination = d.deadLetter!;
  d.metric({
    type: 'retryBudgetSpent',
    shardId: ctx.shardId,
    records: records.length,
    attempts: history.attempts,
  });
  const where = {
    shardId: ctx.shardId,
    records: records.length,
    sequenceNumber: records[0]?.sequenceNumber,
    subSequenceNumber: records[0]?.subSequenceNumber,
    attempts: history.attempts,
    destination: destination.kind,
  };
  const source = {
    streamName: d.deadLetterSource?.streamName ?? '',
    applicationName: d.deadLetterSource?.applicationName ?? '',
    ...(d.deadLetterSource?.streamArn ? { streamArn: d.deadLetterSource.streamArn } : {}),
    shardId: ctx.shardId,
  };
  const letters = records.map((r) => toDeadLetterRecord(r, source, history));
  for (let attempt = 1; ; attempt++) {
    try {
      await destination.send(letters);
      break;
    } catch (error) {
      const code = errorName(error);
      health.deadLetterFailing = true;
      health.lastError = `dead-letter destination: ${code}: ${(error as Error)?.message ?? String(error)}`;
      d.metric({
        type: 'deadLetterFailed',
        shardId: ctx.shardId,
        records: records.length,
        destination: destination.kind,
        code,
        attempt,
      });
      d.logger.error(
        { ...where, attempt, code, err: error },
        'the dead-letter destination failed; the shard stops here (nothing is skipped) and tries it again',
      );
      // The budget's backoff, so a destination that is down is not hammered (nor waited on
      // longer than the records' own retries were).
      await abortableSleep(budget.backoffFor(attempt), ctx.stop.signal).catch(() => {});
      if (ctx.stop.signal.aborted) return false;
    }
  }
  if (health.deadLetterFailing) {
    health.deadLetterFailing = false;
    health.lastError = undefined;
  }
  health.deadLettered += records.length;
  d.metric({
    type: 'deadLettered',
    shardId: ctx.shardId,
    records: records.length,
    destination: destination.kind,
  });
  d.logger.warn(where, 'retry budget spent; records dead-lettered');
  return true;
}

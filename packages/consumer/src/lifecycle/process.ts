import { CheckpointCadence } from '../checkpoint/cadence';
import type { ExtendedSequence } from '../checkpoint/sequence';
import type { RecordBatch } from '../processor';
import { decodeRecords } from '../record-decoder';
import { abortableSleep, errorName } from '../retrieval/backoff';
import type { RetrievedBatch, StartPosition } from '../retrieval/types';
import { StallError, type ShardContext } from './context';
import { deliver } from './deliver';
import { restartPosition, type ReadStart } from './initialize';
import { outOfRangeAggregate, poisonRecord } from './record-events';
import type { StallWatchdog } from './stall-watchdog';

/** How the process task ended. */
export type ProcessOutcome =
  /** The shard was read to its end (the KCL's `ShutdownReason.SHARD_END`). */
  | { kind: 'shard-ended'; children: string[] }
  /** A graceful shutdown or a lost lease stopped it; `ctx.leaseLost` says which. */
  | { kind: 'stopped' };

// Where it lived before the delivery modes moved to deliver.ts; tests and callers import it here.
export { retryDelay } from './deliver';

/**
 * The process task (the KCL's `ProcessTask`, looped): read, decode, hand to the processor,
 * checkpoint, in order, until the shard ends or the shard is stopped. The reader is pulled once
 * the processor returned; a polling reader may have read that batch ahead meanwhile (see
 * `ReadAheadReader`), and a restart drops what it read ahead and resumes after the last record
 * delivered.
 */
export async function processShard(
  ctx: ShardContext,
  start: ReadStart,
  watchdog: StallWatchdog,
): Promise<ProcessOutcome> {
  const { d } = ctx;
  ctx.reader = d.retrieval.createReader(ctx.shardId, start.position);
  let after: ExtendedSequence | undefined = start.after;
  const hashRange =
    d.lease.startingHashKey && d.lease.endingHashKey
      ? { start: BigInt(d.lease.startingHashKey), end: BigInt(d.lease.endingHashKey) }
      : undefined;

  const cadence = new CheckpointCadence(
    d.checkpointIntervalMillis ?? 0,
    d.checkpointMaxRecords ?? Number.MAX_SAFE_INTEGER,
    () => ctx.clock.now(),
  );
  while (!ctx.stop.signal.aborted) {
    const batch = await read(ctx);
    if (batch === 'stopped') break;
    if (batch === 'retry') continue;
    ctx.health.lastReadAt = ctx.clock.now();
    ctx.health.millisBehindLatest = batch.millisBehindLatest;

    const decoded = decodeRecords(batch.records, {
      shardId: ctx.shardId,
      ...(after ? { after } : {}),
      ...(hashRange ? { hashRange } : {}),
      dropOutOfRange: d.dropOutOfRangeAggregates,
    });
    if (batch.records.length > 0) after = undefined;
    for (const a of decoded.outOfRange) outOfRangeAggregate(ctx, a);
    for (const p of decoded.poisoned) await poisonRecord(ctx, p.error, p.record);
    if (decoded.records.length > 0) {
      const userBatch: RecordBatch = {
        shardId: ctx.shardId,
        ...ctx.streamFields,
        records: decoded.records,
      };
      if (batch.millisBehindLatest !== undefined)
        userBatch.millisBehindLatest = batch.millisBehindLatest;
      if (!(await deliver(ctx, userBatch, watchdog))) break; // lease lost, or stopped while retrying
      const last = decoded.records[decoded.records.length - 1]!;
      ctx.checkpointer.delivered(last);
      ctx.health.recordsProcessed += decoded.records.length;
      d.metric({
        type: 'batch',
        shardId: ctx.shardId,
        records: decoded.records.length,
        ...(batch.millisBehindLatest !== undefined
          ? { millisBehindLatest: batch.millisBehindLatest }
          : {}),
      });
      cadence.delivered(decoded.records.length);
    }
    // During a hand-off the batch's checkpoint is the final one: the hand-over writes it, in
    // the same conditional write that moves the lease (handoff/graceful-handoff.ts). Checked after
    // empty reads too, so an interval's last records do not wait for the next busy batch.
    if (d.autoCheckpoint && cadence.due && !ctx.leaseLost && ctx.shutdownReason !== 'handoff') {
      cadence.written();
      await ctx.checkpointer.checkpoint().catch((error: unknown) => ctx.onCheckpointError(error));
    }
    if (batch.shardEnded)
      return { kind: 'shard-ended', children: (batch.childShards ?? []).map((c) => c.shardId) };
  }
  return { kind: 'stopped' };
}

/**
 * One read. `'stopped'` when the shard is being stopped; `'retry'` after a stall or a read error,
 * once the reader has been restarted from the last record delivered.
 */
async function read(ctx: ShardContext): Promise<RetrievedBatch | 'stopped' | 'retry'> {
  const { d } = ctx;
  const controller = new AbortController();
  ctx.readController = controller;
  const onStop = () => controller.abort(ctx.stop.signal.reason);
  ctx.stop.signal.addEventListener('abort', onStop, { once: true });
  try {
    ctx.readingSince = ctx.clock.now();
    return await ctx.reader!.next(controller.signal);
  } catch (error) {
    if (ctx.stop.signal.aborted) return 'stopped';
    if (controller.signal.reason instanceof StallError) {
      await restartReader(ctx);
      return 'retry';
    }
    const code = errorName(error);
    ctx.health.lastError = `${code}: ${(error as Error).message}`;
    d.metric({ type: 'readError', shardId: ctx.shardId, code });
    d.logger.error(
      { shardId: ctx.shardId, code },
      'reading the shard failed; restarting its reader from the last position',
    );
    await abortableSleep(1000, ctx.stop.signal).catch(() => {});
    await restartReader(ctx);
    return 'retry';
  } finally {
    ctx.readingSince = undefined;
    ctx.stop.signal.removeEventListener('abort', onStop);
  }
}

/** A new reader from the last delivered record (or the checkpoint). */
async function restartReader(ctx: ShardContext): Promise<void> {
  await ctx.reader?.close().catch(() => {});
  const position: StartPosition | undefined = restartPosition(
    ctx.checkpointer,
    ctx.d.initialPosition,
  );
  if (!position) return;
  ctx.reader = ctx.d.retrieval.createReader(ctx.shardId, position);
}

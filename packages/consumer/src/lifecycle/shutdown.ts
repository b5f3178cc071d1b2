import type { ExtendedSequence } from '../checkpoint/sequence';
import type { ShardContext } from './context';

/**
 * The shutdown task, for a shard that stops without ending. A lost lease (the KCL's
 * `ShutdownReason.LEASE_LOST`): the processor hears `leaseLost`, and it may not checkpoint; when
 * no other owner was seen (the renewals failed past `failoverTimeMillis`), what was delivered is
 * written once more, conditional on this worker still being the owner, so that a checkpoint
 * cadence longer than a batch does not add its interval to the records the next owner delivers
 * again (a taker that got there first makes the write fail, harmlessly). A
 * graceful stop or hand-off (the KCL's `ShutdownNotificationTask`): the processor's
 * `shutdownRequested` may checkpoint; then, on a stop and with `autoCheckpoint`, what was
 * delivered is checkpointed, so the next owner starts right after it.
 *
 * On a hand-off this task writes no final checkpoint of its own: the hand-off module
 * (`handoff/graceful-handoff.ts`) writes it in the hand-over itself, one conditional write, as
 * the checkpointer's `pending` position.
 */
export async function shutdownShard(ctx: ShardContext): Promise<void> {
  const { d, checkpointer } = ctx;
  if (ctx.leaseLost) {
    ctx.lifecycle.to('lease-lost');
    d.metric({ type: 'leaseLost', shardId: ctx.shardId });
    if (ctx.finalCheckpoint) await finalCheckpoint(ctx, ctx.finalCheckpoint);
    await Promise.resolve(
      d.processor.leaseLost?.({ shardId: ctx.shardId, ...ctx.streamFields }),
    ).catch((error: unknown) =>
      d.logger.warn({ shardId: ctx.shardId, err: error }, 'leaseLost threw'),
    );
    ctx.lifecycle.to('stopped');
    return;
  }
  const reason = ctx.shutdownReason ?? 'stop';
  ctx.lifecycle.to('shutting-down');
  try {
    await d.processor.shutdownRequested?.(
      { shardId: ctx.shardId, reason, ...ctx.streamFields },
      checkpointer,
    );
    // With autoCheckpoint off, the processor's own checkpoints are the contract.
    if (d.autoCheckpoint && reason !== 'handoff' && checkpointer.behind)
      await checkpointer.checkpoint();
  } catch (error) {
    ctx.onCheckpointError(error);
  }
  ctx.lifecycle.to('stopped');
}

/** The one conditional write a lease lost without a taker in sight may still make. */
async function finalCheckpoint(ctx: ShardContext, at: ExtendedSequence): Promise<void> {
  const { d, checkpointer } = ctx;
  try {
    // The checkpointer's key is the lease's (a shard id, or a multi-stream lease key).
    await d.table.checkpoint(
      checkpointer.shardId,
      d.workerId,
      at.sequenceNumber,
      at.subSequenceNumber,
      checkpointer.handingOff,
    );
    d.metric({ type: 'checkpoint', shardId: ctx.shardId });
    d.logger.info(
      { shardId: ctx.shardId, sequenceNumber: at.sequenceNumber },
      'lease lost: final checkpoint written',
    );
  } catch (error) {
    d.logger.info(
      { shardId: ctx.shardId, err: error },
      'lease lost: the final checkpoint was refused or failed',
    );
  }
}

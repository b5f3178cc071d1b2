import type { ShardContext } from './context';

/**
 * The shutdown task, for a shard that stops without ending. A lost lease (the KCL's
 * `ShutdownReason.LEASE_LOST`): the processor hears `leaseLost`, and nothing is written. A
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

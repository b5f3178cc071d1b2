import type { ShardContext } from './context';

/**
 * The shard-end task (the KCL's `ShutdownTask` with `SHARD_END`): record the children on the
 * lease, let the processor checkpoint SHARD_END, write it if the processor did not (children
 * cannot start before it: `BlockOnParentShardTask`), and tell the consumer to look for them.
 */
export async function endShard(ctx: ShardContext, children: string[]): Promise<void> {
  const { d, checkpointer } = ctx;
  ctx.lifecycle.to('shard-ended');
  checkpointer.reachedShardEnd();
  await d.table
    .setChildren(ctx.leaseKey, children)
    .catch((error: unknown) =>
      d.logger.warn({ shardId: ctx.shardId, err: error }, 'recording child shards failed'),
    );
  try {
    await d.processor.shardEnded?.(
      { shardId: ctx.shardId, childShardIds: children, ...ctx.streamFields },
      checkpointer,
    );
    if (checkpointer.lastCheckpoint !== 'SHARD_END') {
      // As the KCL's ShutdownTask verifies after shardEnded: without SHARD_END the children wait.
      if (d.processor.shardEnded)
        d.logger.warn(
          { shardId: ctx.shardId },
          'shardEnded did not checkpoint; writing SHARD_END so child shards can start',
        );
      await checkpointer.checkpoint();
    }
    d.metric({ type: 'shardEnded', shardId: ctx.shardId });
    d.onShardEnded(ctx.leaseKey, children);
  } catch (error) {
    ctx.onCheckpointError(error);
  }
  ctx.lifecycle.to('stopped');
}

import type { ShardCheckpointer } from '../checkpoint/checkpointer';
import type { ExtendedSequence } from '../checkpoint/sequence';
import type { InitialPosition } from '../options';
import type { StartPosition } from '../retrieval/types';
import type { ShardContext } from './context';

/** Where reading starts and which sub-records of the first aggregate were already processed. */
export interface ReadStart {
  position: StartPosition;
  /** Skip sub-records at or before this one (a checkpoint inside an aggregate). */
  after: ExtendedSequence | undefined;
}

/**
 * The initialize task (the KCL's `InitializeTask`): find where the shard resumes and tell the
 * processor. Undefined when the shard is already at SHARD_END: nothing to read, the processor is
 * not initialized, and the driver goes straight to the shard's end.
 */
export async function initializeShard(ctx: ShardContext): Promise<ReadStart | undefined> {
  const { checkpointer, d } = ctx;
  const position = startPosition(checkpointer, d.initialPosition);
  if (!position) return undefined;
  await d.processor.initialize?.({
    shardId: ctx.shardId,
    checkpoint: checkpointer.lastCheckpoint,
    ...ctx.streamFields,
  });
  const last = checkpointer.lastCheckpoint;
  // A sequence-number checkpoint is read AT that record, whose sub-records up to the checkpoint's
  // are skipped (the KCL resumes mid-aggregate the same way).
  const after =
    position.type === 'AT_SEQUENCE_NUMBER' && typeof last !== 'string' ? last : undefined;
  return { position, after };
}

/**
 * The reader's first position: after the last record delivered, else at the checkpoint, else the
 * sentinel's position (`AT_TIMESTAMP` needs the configured timestamp; without one it reads from
 * the start). Undefined at SHARD_END.
 */
export function startPosition(
  checkpointer: Pick<ShardCheckpointer, 'lastDelivered' | 'lastCheckpoint'>,
  initialPosition: InitialPosition,
): StartPosition | undefined {
  const last = checkpointer.lastDelivered ?? checkpointer.lastCheckpoint;
  if (typeof last !== 'string')
    return { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: last.sequenceNumber };
  switch (last) {
    case 'SHARD_END':
      return undefined;
    case 'TRIM_HORIZON':
      return { type: 'TRIM_HORIZON' };
    case 'LATEST':
      return { type: 'LATEST' };
    case 'AT_TIMESTAMP':
      return typeof initialPosition === 'object'
        ? { type: 'AT_TIMESTAMP', timestamp: initialPosition.timestamp }
        : { type: 'TRIM_HORIZON' };
    default:
      return { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: last };
  }
}

/** A restarted reader's position: right after the last record delivered, else the first position. */
export function restartPosition(
  checkpointer: Pick<ShardCheckpointer, 'lastDelivered' | 'lastCheckpoint'>,
  initialPosition: InitialPosition,
): StartPosition | undefined {
  const last = checkpointer.lastDelivered;
  return last
    ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last.sequenceNumber }
    : startPosition(checkpointer, initialPosition);
}

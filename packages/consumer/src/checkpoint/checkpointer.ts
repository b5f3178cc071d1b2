import { CheckpointError, LeaseLostError } from '../errors';
import { LeaseConflict, type LeaseTable } from '../leases/lease-table';
import type { Checkpointer } from '../processor';
import { compareSequence, isSequenceNumber, type ExtendedSequence } from './sequence';

/**
 * A shard's checkpointer. Writes are conditional on this worker holding the lease (or, during a
 * hand-off, being the one that must checkpoint), so a worker that lost its lease cannot move a
 * checkpoint: it gets `LeaseLostError` instead.
 */
export class ShardCheckpointer implements Checkpointer {
  /** Last record handed to the processor. */
  lastDelivered: ExtendedSequence | undefined;
  /** True once the shard's last batch was delivered: checkpoint() then writes SHARD_END. */
  atShardEnd = false;
  /** True during a graceful hand-off. */
  handingOff = false;
  /** No more writes (lease lost). */
  disabled = false;
  private last: ExtendedSequence | string;

  constructor(
    readonly shardId: string,
    private readonly table: LeaseTable,
    private readonly workerId: string,
    initial: ExtendedSequence | string,
    private readonly onWrite: () => void = () => {},
  ) {
    this.last = initial;
  }

  /** Starts over from a checkpoint read from the table (after a hand-off completed). */
  reset(checkpoint: ExtendedSequence | string): void {
    this.last = checkpoint;
    this.lastDelivered = undefined;
  }

  get lastCheckpoint(): ExtendedSequence | string {
    return this.last;
  }

  async checkpoint(record?: { sequenceNumber: string; subSequenceNumber?: number }): Promise<void> {
    if (this.disabled)
      throw new LeaseLostError(this.shardId, 'checkpoint refused after the lease was lost');
    if (record === undefined && this.atShardEnd) return this.write('SHARD_END', 0);
    const target = record
      ? { sequenceNumber: record.sequenceNumber, subSequenceNumber: record.subSequenceNumber ?? 0 }
      : this.lastDelivered;
    if (!target) return; // nothing delivered yet: nothing to checkpoint
    if (!isSequenceNumber(target.sequenceNumber))
      throw new CheckpointError(
        'CHECKPOINT_INVALID',
        `${JSON.stringify(target.sequenceNumber)} is not a sequence number`,
      );
    if (this.lastDelivered && compareSequence(target, this.lastDelivered) > 0) {
      throw new CheckpointError(
        'CHECKPOINT_AHEAD',
        `cannot checkpoint ${target.sequenceNumber}/${target.subSequenceNumber}: not yet delivered on ${this.shardId}`,
      );
    }
    if (typeof this.last !== 'string' && compareSequence(target, this.last) <= 0) return; // already there
    await this.write(target.sequenceNumber, target.subSequenceNumber);
    this.last = target;
  }

  /** True when the last delivered record is beyond the last checkpoint. */
  get behind(): boolean {
    if (!this.lastDelivered) return false;
    return typeof this.last === 'string' || compareSequence(this.lastDelivered, this.last) > 0;
  }

  private async write(checkpoint: string, sub: number): Promise<void> {
    // The mode this write is made in. `handingOff` may turn true while it is in flight (a
    // graceful shutdown for a hand-off); a refusal must be judged by the condition the write
    // carried, or a plain checkpoint refused because of that very hand-off reads as a lost lease.
    const asHandoff = this.handingOff;
    try {
      await this.table.checkpoint(this.shardId, this.workerId, checkpoint, sub, asHandoff);
    } catch (error) {
      if (!(error instanceof LeaseConflict)) throw error;
      // Another worker may have asked for the shard since our last renewal: then we are the
      // hand-off's checkpointOwner, and this checkpoint is exactly what the new owner must start
      // after. Only if we are neither owner nor checkpointOwner is the lease lost.
      const lease = asHandoff ? undefined : await this.table.get(this.shardId);
      if (lease?.checkpointOwner !== this.workerId) {
        this.disabled = true;
        throw new LeaseLostError(this.shardId, 'the checkpoint write lost its conditional check');
      }
      this.handingOff = true;
      try {
        await this.table.checkpoint(this.shardId, this.workerId, checkpoint, sub, true);
      } catch (retryError) {
        if (!(retryError instanceof LeaseConflict)) throw retryError;
        this.disabled = true;
        throw new LeaseLostError(this.shardId, 'the hand-off completed before the checkpoint');
      }
    }
    if (checkpoint === 'SHARD_END') this.last = 'SHARD_END';
    this.onWrite();
  }
}

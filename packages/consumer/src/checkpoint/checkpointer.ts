import { CheckpointError, LeaseLostError } from '../errors';
import { LeaseConflict, type LeaseTable } from '../leases/lease-table';
import type { Checkpointer } from '../processor';
import { compareSequence, isSequenceNumber, type ExtendedSequence } from './sequence';

/**
 * A shard's checkpointer. Writes are conditional on this worker holding the lease (or, during a
 * hand-off, being the one that must checkpoint), so a worker that lost its lease cannot move a
 * checkpoint: it gets `LeaseLostError` instead.
 *
 * Its state changes only through its methods, each named after what happened to the shard:
 * `delivered`, `reachedShardEnd`, `beginHandoff`, `handedOver`, `disable`, `reset`.
 */
export class ShardCheckpointer implements Checkpointer {
  private delivery: ExtendedSequence | undefined;
  private shardEnd = false;
  private handoff = false;
  private off = false;
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

  /** Last record handed to the processor. */
  get lastDelivered(): ExtendedSequence | undefined {
    return this.delivery;
  }

  /** True once the shard's last batch was delivered: `checkpoint()` then writes SHARD_END. */
  get atShardEnd(): boolean {
    return this.shardEnd;
  }

  /** True during a graceful hand-off: writes are conditional on being its `checkpointOwner`. */
  get handingOff(): boolean {
    return this.handoff;
  }

  /** True once no write may be made any more (the lease was lost or handed over). */
  get disabled(): boolean {
    return this.off;
  }

  get lastCheckpoint(): ExtendedSequence | string {
    return this.last;
  }

  /** True when the last delivered record is beyond the last checkpoint. */
  get behind(): boolean {
    if (!this.delivery) return false;
    return typeof this.last === 'string' || compareSequence(this.delivery, this.last) > 0;
  }

  /**
   * What a final checkpoint would write: the last delivered record when it is beyond the last
   * checkpoint, else nothing (the table already holds it).
   */
  get pending(): ExtendedSequence | undefined {
    return this.behind ? this.delivery : undefined;
  }

  /** The processor finished a batch ending at `position`: the default target of `checkpoint()`. */
  delivered(position: ExtendedSequence): void {
    this.delivery = {
      sequenceNumber: position.sequenceNumber,
      subSequenceNumber: position.subSequenceNumber,
    };
  }

  /** The shard's last batch was delivered: from now on `checkpoint()` writes SHARD_END. */
  reachedShardEnd(): void {
    this.shardEnd = true;
  }

  /**
   * Another worker asked for the shard: from now on writes are conditional on this worker being
   * the hand-off's `checkpointOwner` (KCL 3), since it is no longer `leaseOwner`.
   */
  beginHandoff(): void {
    this.handoff = true;
  }

  /**
   * The hand-over write landed, carrying `checkpoint` if given: the lease is the new owner's and
   * this worker writes nothing more for the shard.
   */
  handedOver(checkpoint?: ExtendedSequence): void {
    if (checkpoint) this.last = checkpoint;
    this.off = true;
  }

  /** No more writes (the lease was lost). */
  disable(): void {
    this.off = true;
  }

  /** Starts over from a checkpoint read from the table (after a hand-off completed). */
  reset(checkpoint: ExtendedSequence | string): void {
    this.last = checkpoint;
    this.delivery = undefined;
  }

  async checkpoint(record?: { sequenceNumber: string; subSequenceNumber?: number }): Promise<void> {
    if (this.off)
      throw new LeaseLostError(this.shardId, 'checkpoint refused after the lease was lost');
    if (record === undefined && this.shardEnd) return this.write('SHARD_END', 0);
    const target = record
      ? { sequenceNumber: record.sequenceNumber, subSequenceNumber: record.subSequenceNumber ?? 0 }
      : this.delivery;
    if (!target) return; // nothing delivered yet: nothing to checkpoint
    if (!isSequenceNumber(target.sequenceNumber))
      throw new CheckpointError(
        'CHECKPOINT_INVALID',
        `${JSON.stringify(target.sequenceNumber)} is not a sequence number`,
      );
    if (this.delivery && compareSequence(target, this.delivery) > 0) {
      throw new CheckpointError(
        'CHECKPOINT_AHEAD',
        `cannot checkpoint ${target.sequenceNumber}/${target.subSequenceNumber}: not yet delivered on ${this.shardId}`,
      );
    }
    if (typeof this.last !== 'string' && compareSequence(target, this.last) <= 0) return; // already there
    await this.write(target.sequenceNumber, target.subSequenceNumber);
    this.last = target;
  }

  private async write(checkpoint: string, sub: number): Promise<void> {
    // The mode this write is made in. `beginHandoff()` may be called while it is in flight (a
    // graceful shutdown for a hand-off); a refusal must be judged by the condition the write
    // carried, or a plain checkpoint refused because of that very hand-off reads as a lost lease.
    const asHandoff = this.handoff;
    try {
      await this.table.checkpoint(this.shardId, this.workerId, checkpoint, sub, asHandoff);
    } catch (error) {
      if (!(error instanceof LeaseConflict)) throw error;
      // Another worker may have asked for the shard since our last renewal: then we are the
      // hand-off's checkpointOwner, and this checkpoint is exactly what the new owner must start
      // after. Only if we are neither owner nor checkpointOwner is the lease lost.
      const lease = asHandoff ? undefined : await this.table.get(this.shardId);
      if (lease?.checkpointOwner !== this.workerId) {
        this.off = true;
        throw new LeaseLostError(this.shardId, 'the checkpoint write lost its conditional check');
      }
      this.handoff = true;
      try {
        await this.table.checkpoint(this.shardId, this.workerId, checkpoint, sub, true);
      } catch (retryError) {
        if (!(retryError instanceof LeaseConflict)) throw retryError;
        this.off = true;
        throw new LeaseLostError(this.shardId, 'the hand-off completed before the checkpoint');
      }
    }
    if (checkpoint === 'SHARD_END') this.last = 'SHARD_END';
    this.onWrite();
  }
}

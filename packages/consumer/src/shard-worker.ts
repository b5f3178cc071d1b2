import { ShardCheckpointer } from './checkpoint/checkpointer';
import { isSentinel, type ExtendedSequence } from './checkpoint/sequence';
import type { Lease } from './leases/lease';
import { systemClock } from './lifecycle/clock';
import { ShardContext, type ShardHealth, type ShardWorkerDeps } from './lifecycle/context';
import { runShard } from './lifecycle/driver';
import { ShardLifecycle } from './lifecycle/shard-lifecycle';
import { StallWatchdog } from './lifecycle/stall-watchdog';
import type { ShutdownReason } from './processor';

export type { ShardHealth, ShardWorkerDeps } from './lifecycle/context';

/**
 * One shard's processing on this worker: read, decode, hand to the processor, checkpoint, in
 * order, until the shard ends, the lease goes, or the worker stops or hands the shard over. The
 * tasks are in `lifecycle/` (initialize, process, shard-end, shutdown, stall watchdog, and the
 * driver that runs them); this class wires them to the consumer.
 */
export class ShardWorker {
  /** The shard id (what the reader reads). */
  readonly shardId: string;
  /** The lease's key: the shard id, or (consumers of `streams`) its multi-stream key. */
  readonly leaseKey: string;
  readonly lifecycle: ShardLifecycle;
  readonly checkpointer: ShardCheckpointer;
  readonly done: Promise<void>;
  private readonly ctx: ShardContext;
  private readonly watchdog: StallWatchdog;
  private startDone!: () => void;

  constructor(
    private readonly d: ShardWorkerDeps,
    waitForHandoff: boolean,
  ) {
    this.leaseKey = d.lease.leaseKey;
    this.shardId = d.stream ? (d.lease.shardId ?? d.lease.leaseKey) : d.lease.leaseKey;
    // The checkpointer writes the lease, so it is keyed (and its `shardId` named) by the lease key.
    this.checkpointer = new ShardCheckpointer(
      this.leaseKey,
      d.table,
      d.workerId,
      checkpointOf(d.lease),
      () => d.metric({ type: 'checkpoint', shardId: this.shardId }),
    );
    this.lifecycle = new ShardLifecycle(
      waitForHandoff ? 'waiting-for-handoff' : 'initializing',
      (from, to) => d.logger.debug({ shardId: this.shardId, from, to }, 'shard state'),
    );
    this.ctx = new ShardContext(d, this.checkpointer, this.lifecycle, d.clock ?? systemClock);
    this.watchdog = new StallWatchdog(this.ctx);
    const started = new Promise<void>((resolve) => (this.startDone = resolve));
    if (!waitForHandoff) this.startDone();
    this.done = runShard(this.ctx, started, this.watchdog).catch((error: unknown) => {
      d.logger.error({ shardId: this.shardId, err: error }, 'shard worker failed');
    });
  }

  /** The previous owner finished its hand-off: start reading from the checkpoint it left. */
  handoffComplete(lease: Lease): void {
    this.d.lease = lease;
    this.checkpointer.reset(checkpointOf(lease));
    if (this.lifecycle.to('initializing')) this.startDone();
  }

  /**
   * The lease is gone: stop at once, tell the processor. `mayStillHold` (no other owner seen):
   * one final conditional checkpoint of what was delivered; else nothing is written any more.
   */
  loseLease(mayStillHold = false): void {
    this.ctx.loseLease(mayStillHold);
    this.startDone();
  }

  /** Finish the batch in flight, let the processor checkpoint, checkpoint what was delivered, stop. */
  shutdown(reason: ShutdownReason): Promise<void> {
    this.ctx.requestShutdown(reason);
    this.startDone();
    return this.done;
  }

  /**
   * What a hand-over must write as the final checkpoint once the shard stopped for the hand-off:
   * with `autoCheckpoint`, what was delivered beyond the last checkpoint; else nothing (the
   * processor's own checkpoints are the contract).
   */
  handoverCheckpoint(): ExtendedSequence | undefined {
    return this.d.autoCheckpoint && !this.ctx.leaseLost ? this.checkpointer.pending : undefined;
  }

  status(): ShardHealth {
    return {
      ...this.ctx.health,
      state: this.lifecycle.state,
      slowProcessor: this.watchdog.slowNow(),
    };
  }
}

function checkpointOf(lease: Lease): ExtendedSequence | string {
  return isSentinel(lease.checkpoint)
    ? lease.checkpoint
    : { sequenceNumber: lease.checkpoint, subSequenceNumber: lease.checkpointSubSequenceNumber };
}

import type { Logger } from 'pino';
import type { ExtendedSequence } from '../checkpoint/sequence';
import type { Lease } from '../leases/lease';
import { LeaseConflict, type LeaseTable } from '../leases/lease-table';
import type { ConsumerMetricEvent } from '../metrics';

/**
 * Graceful lease hand-off, both sides, KCL 3's protocol (`DynamoDBLeaseRefresher`
 * `initiateGracefulLeaseHandoff` / `assignLease`, `LeaseGracefulShutdownHandler`):
 *
 * - the **requester** writes itself as `leaseOwner` and the owner as `checkpointOwner`, leaving
 *   `leaseCounter` alone (`request`); it then writes nothing and watches the lease (`poll`) until
 *   the owner has handed over, or takes over from the last checkpoint when the owner stopped
 *   renewing for `failoverTimeMillis` or did not hand over within
 *   `gracefulLeaseHandoffTimeoutMillis`;
 * - the **owner** learns of the request at a renewal (`isRequested`), keeps renewing, finishes its
 *   batch in flight, lets the processor checkpoint, and hands over (`handOver`) in ONE conditional
 *   write that carries the final checkpoint too: checkpoint + sub-sequence, `leaseCounter` + 1,
 *   `ownerSwitchesSinceCheckpoint`, `checkpointOwner` removed, conditional on still being the
 *   `checkpointOwner`. The KCL writes that checkpoint and the transfer in two writes
 *   (`ShutdownNotificationTask`: checkpoint in `shutdownRequested`, then `attemptLeaseTransfer`);
 *   one write leaves no window in which the checkpoint landed but the lease did not move, and
 *   nothing for the requester to read in between.
 */
export interface GracefulHandoffDeps {
  table: LeaseTable;
  workerId: string;
  failoverTimeMillis: number;
  gracefulLeaseHandoffTimeoutMillis: number;
  logger: Logger;
  metric: (event: ConsumerMetricEvent) => void;
  /** Time for the requester's timeouts; `Date.now` by default. */
  now?: () => number;
}

/** A hand-off this worker asked for and is waiting on. */
export interface HandoffWait {
  /** When the request was written. */
  readonly since: number;
  /** When the owner's renewals last moved the counter. */
  counterMovedAt: number;
  /** The lease as last seen. */
  lease: Lease;
}

/** What one look at a requested lease found (and did). */
export type HandoffPoll =
  /** Still pending: the owner is alive and within the timeout. */
  | { kind: 'waiting' }
  /** The owner handed over: read from `lease.checkpoint`. */
  | { kind: 'completed'; lease: Lease }
  /** The owner did not hand over in time (or died): this worker took over from its last checkpoint. */
  | { kind: 'took-over'; lease: Lease; ownerGone: boolean }
  /** Another worker asked for it before this one read anything: handed on unread. */
  | { kind: 'handed-on' }
  /** The lease went elsewhere (taken, or deleted). */
  | { kind: 'lost'; owner: string | undefined };

/** The owner's shard as the hand-over needs it (a `ShardWorker`). */
export interface HandingOverShard {
  /** Finishes the batch in flight and runs `shutdownRequested`; resolves once the shard stopped. */
  shutdown(reason: 'handoff'): Promise<void>;
  /** The final checkpoint the hand-over must write, if any. */
  handoverCheckpoint(): ExtendedSequence | undefined;
  readonly checkpointer: { handedOver(checkpoint?: ExtendedSequence): void };
}

export class GracefulHandoff {
  private readonly now: () => number;

  constructor(private readonly d: GracefulHandoffDeps) {
    this.now = d.now ?? Date.now;
  }

  // ---- the requester's side -------------------------------------------------------------------

  /** Asks `lease`'s owner to hand it over; `LeaseConflict` if the lease moved since it was read. */
  async request(lease: Lease): Promise<HandoffWait> {
    const d = this.d;
    const requested = await d.table.requestHandoff(lease, d.workerId);
    d.metric({
      type: 'leaseStealRequested',
      shardId: requested.leaseKey,
      from: lease.leaseOwner ?? '',
    });
    d.logger.info(
      { shardId: requested.leaseKey, from: lease.leaseOwner },
      'lease hand-off requested',
    );
    return this.waitFor(requested);
  }

  /** The wait for a request already written (`lease` as the request left it). */
  waitFor(lease: Lease): HandoffWait {
    const now = this.now();
    return { since: now, counterMovedAt: now, lease };
  }

  /**
   * One look at a requested lease. The requester does not write it while the owner may still
   * hand over (the owner renews it, and a counter change would cost it the lease); it reads it. A
   * KCL 2.x owner knows nothing of `checkpointOwner` and never hands over, so, like the KCL's
   * `DynamoDBLeaseTaker`, a lease whose counter stopped is taken over, and so is one whose owner
   * renews but does not hand over within the timeout (a KCL 3 owner transfers by itself then).
   * `stillWanted` is asked before any write (the wait may have been abandoned meanwhile).
   */
  async poll(wait: HandoffWait, stillWanted: () => boolean = () => true): Promise<HandoffPoll> {
    const d = this.d;
    const shardId = wait.lease.leaseKey;
    try {
      const lease = await d.table.get(shardId);
      if (lease && lease.leaseOwner !== d.workerId && lease.checkpointOwner === d.workerId) {
        if (!stillWanted()) return { kind: 'waiting' };
        await this.handOnUnread(lease);
        return { kind: 'handed-on' };
      }
      if (!lease || lease.leaseOwner !== d.workerId)
        return { kind: 'lost', owner: lease?.leaseOwner };
      const now = this.now();
      if (lease.checkpointOwner === undefined) {
        wait.lease = lease;
        return { kind: 'completed', lease };
      }
      if (lease.leaseCounter !== wait.lease.leaseCounter) wait.counterMovedAt = now;
      wait.lease = lease;
      const timedOut = now - wait.since > d.gracefulLeaseHandoffTimeoutMillis;
      const ownerGone = now - wait.counterMovedAt > d.failoverTimeMillis;
      if ((!timedOut && !ownerGone) || !stillWanted()) return { kind: 'waiting' };
      // Conditional on the counter, like a take: an owner still renewing loses the lease at its
      // next renewal and cannot checkpoint or hand over any more.
      const cleared = await d.table.clearStaleHandoff(lease, d.workerId);
      d.logger.warn(
        { shardId, previousOwner: lease.checkpointOwner, ownerGone },
        'previous owner did not complete the hand-off; taking over from its last checkpoint',
      );
      return { kind: 'took-over', lease: cleared, ownerGone };
    } catch (error) {
      // The owner renewed between the read and the clear: look again next time.
      if (!(error instanceof LeaseConflict))
        d.logger.warn({ shardId, err: error }, 'checking a pending hand-off failed');
      return { kind: 'waiting' };
    }
  }

  /**
   * The previous owner handed the lease over and, before this worker saw that, another worker
   * asked for it (this worker is now its `checkpointOwner`). Nothing was read here, so it is
   * handed on as it is, with the previous owner's checkpoint, as KCL 3's `ShutdownTask` transfers
   * a shutdown-requested lease whose consumer never started.
   */
  private async handOnUnread(lease: Lease): Promise<void> {
    const d = this.d;
    try {
      await d.table.completeHandoff(lease.leaseKey, d.workerId);
      d.metric({ type: 'leaseHandedOff', shardId: lease.leaseKey });
      d.logger.info(
        { shardId: lease.leaseKey, to: lease.leaseOwner },
        'lease handed on before it was read',
      );
    } catch (error) {
      d.logger.warn({ shardId: lease.leaseKey, err: error }, 'handing on an unread lease failed');
    }
  }

  // ---- the owner's side -----------------------------------------------------------------------

  /**
   * True when `lease`, as a renewal returned it, carries another worker's request for it: this
   * worker is its `checkpointOwner` and no longer its `leaseOwner` (`DynamoDBLeaseRenewer`).
   */
  isRequested(lease: Lease): boolean {
    return lease.checkpointOwner === this.d.workerId && lease.leaseOwner !== this.d.workerId;
  }

  /**
   * The owner's answer to a request: stop the shard gracefully, then hand over in one
   * conditional write carrying the final checkpoint (if the shard has one to write). Without a
   * shard (nothing is processed here), the lease is handed over as it is. True when the hand-over
   * landed; false when it was refused (the requester took over meanwhile) or failed, in which
   * case the requester goes on from the last checkpoint after its timeout.
   */
  async handOver(shardId: string, shard?: HandingOverShard): Promise<boolean> {
    const d = this.d;
    let checkpoint: ExtendedSequence | undefined;
    if (shard) {
      await shard.shutdown('handoff');
      checkpoint = shard.handoverCheckpoint();
    }
    try {
      await d.table.completeHandoff(
        shardId,
        d.workerId,
        checkpoint
          ? { checkpoint: checkpoint.sequenceNumber, sub: checkpoint.subSequenceNumber }
          : undefined,
      );
      shard?.checkpointer.handedOver(checkpoint);
      if (checkpoint) d.metric({ type: 'checkpoint', shardId });
      d.logger.info({ shardId, checkpointed: checkpoint !== undefined }, 'lease handed off');
      return true;
    } catch (error) {
      d.logger.warn(
        { shardId, err: error },
        'completing the hand-off failed; the new owner takes over after its hand-off timeout',
      );
      return false;
    }
  }
}

import type { Logger } from 'pino';
import type { ConsumerMetricEvent } from '../metrics';
import { isFinished, type Lease } from './lease';
import { LeaseConflict, type LeaseTable } from './lease-table';
import { decideLeases, type ObservedLease } from './lease-taker';

export interface LeaseCoordinatorDeps {
  table: LeaseTable;
  workerId: string;
  failoverTimeMillis: number;
  /** How long to wait for a previous owner's hand-off before taking over from its last checkpoint. */
  gracefulLeaseHandoffTimeoutMillis: number;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  logger: Logger;
  metric: (event: ConsumerMetricEvent) => void;
  /** Only leases whose parents are done may be taken. */
  ready: (lease: Lease, all: ReadonlyMap<string, Lease>) => boolean;
  /** A lease is ours: start processing (or wait for the previous owner's hand-off). */
  onAcquired: (lease: Lease, waitForHandoff: boolean) => void;
  /** The previous owner finished its hand-off. */
  onHandoffComplete: (lease: Lease) => void;
  /** Another worker asked for the lease: finish the batch, checkpoint, complete the hand-off. */
  onHandoffRequested: (shardId: string) => void;
  /** The lease is gone: stop at once. */
  onLost: (shardId: string) => void;
  /** True when the shard's processing ended (SHARD_END): no need to renew. */
  isDone: (shardId: string) => boolean;
}

interface Held {
  lease: Lease;
  renewedAt: number;
  /** Set while we wait for the previous owner's hand-off. */
  handoffSince: number | undefined;
  /** While waiting: when the previous owner's renewals last moved the counter. */
  counterMovedAt: number;
  /** Set once another worker asked for this lease: we renew it until we have handed it over. */
  handingOver: boolean;
}

/**
 * Keeps this worker's leases: renews them every failover/3, takes free or expired ones and
 * balances by graceful steals every failover/2. Every write is a conditional write, so two
 * workers can never both believe they hold a shard for longer than a renewal.
 */
export class LeaseCoordinator {
  private readonly held = new Map<string, Held>();
  private readonly observed = new Map<string, ObservedLease>();
  private renewTimer: NodeJS.Timeout | undefined;
  private takeTimer: NodeJS.Timeout | undefined;
  private running = false;
  private renewing: Promise<void> = Promise.resolve();
  private taking: Promise<void> = Promise.resolve();

  constructor(private readonly d: LeaseCoordinatorDeps) {}

  start(): void {
    this.running = true;
    const renewEvery = Math.max(100, Math.floor(this.d.failoverTimeMillis / 3));
    const takeEvery = Math.max(100, Math.floor(this.d.failoverTimeMillis / 2));
    this.renewTimer = setInterval(() => {
      this.renewing = this.renewing.then(() => this.renewAll());
    }, renewEvery);
    this.takeTimer = setInterval(() => {
      this.taking = this.taking.then(() => this.takePass());
    }, takeEvery);
    this.taking = this.takePass();
  }

  /** Stops renewing and taking; in-flight passes finish. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.takeTimer) clearInterval(this.takeTimer);
    await Promise.all([this.renewing, this.taking]);
  }

  heldLeases(): Lease[] {
    return [...this.held.values()].map((h) => h.lease);
  }

  /** Forget a lease (released, handed off, ended). */
  drop(shardId: string): void {
    this.held.delete(shardId);
  }

  /** One balancing pass, run on demand (tests, after a shard ends). */
  async takePass(): Promise<void> {
    if (!this.running) return;
    const d = this.d;
    let leases: Lease[];
    try {
      leases = await d.table.list();
    } catch (error) {
      d.logger.warn({ err: error }, 'listing leases failed');
      return;
    }
    const now = Date.now();
    const byKey = new Map(leases.map((l) => [l.leaseKey, l]));
    for (const lease of leases) {
      const seen = this.observed.get(lease.leaseKey);
      if (
        !seen ||
        seen.lease.leaseCounter !== lease.leaseCounter ||
        seen.lease.leaseOwner !== lease.leaseOwner
      ) {
        this.observed.set(lease.leaseKey, { lease, lastCounterChange: now });
      } else {
        seen.lease = lease;
      }
    }
    for (const key of this.observed.keys()) if (!byKey.has(key)) this.observed.delete(key);

    const decision = decideLeases({
      workerId: d.workerId,
      leases: [...this.observed.values()],
      now,
      failoverTimeMillis: d.failoverTimeMillis,
      maxLeasesForWorker: d.maxLeasesForWorker,
      maxLeasesToStealAtOneTime: d.maxLeasesToStealAtOneTime,
      ready: (lease) => d.ready(lease, byKey),
    });
    for (const lease of decision.take) {
      if (!this.running) return;
      try {
        const taken = await d.table.take(lease, d.workerId);
        this.held.set(taken.leaseKey, held(taken, undefined));
        d.metric({ type: 'leaseAcquired', shardId: taken.leaseKey });
        d.logger.info({ shardId: taken.leaseKey, previousOwner: lease.leaseOwner }, 'lease taken');
        d.onAcquired(taken, false);
      } catch (error) {
        if (!(error instanceof LeaseConflict))
          d.logger.warn({ shardId: lease.leaseKey, err: error }, 'taking a lease failed');
      }
    }
    for (const lease of decision.steal) {
      if (!this.running) return;
      try {
        const taken = await d.table.requestHandoff(lease, d.workerId);
        this.held.set(taken.leaseKey, held(taken, Date.now()));
        d.metric({
          type: 'leaseStealRequested',
          shardId: taken.leaseKey,
          from: lease.leaseOwner ?? '',
        });
        d.logger.info(
          { shardId: taken.leaseKey, from: lease.leaseOwner },
          'lease hand-off requested',
        );
        d.onAcquired(taken, true);
      } catch (error) {
        if (!(error instanceof LeaseConflict))
          d.logger.warn({ shardId: lease.leaseKey, err: error }, 'requesting a hand-off failed');
      }
    }
  }

  private async renewAll(): Promise<void> {
    if (!this.running) return;
    await Promise.all(
      [...this.held.values()].map((held) =>
        held.handoffSince === undefined ? this.renewOne(held) : this.awaitHandoff(held),
      ),
    );
  }

  /** True while `held` is still the entry for its shard (not dropped or replaced meanwhile). */
  private current(held: Held): boolean {
    return this.held.get(held.lease.leaseKey) === held;
  }

  /**
   * Renews a lease this worker holds, or hands over: it renews through a hand-off too, as KCL 3's
   * `DynamoDBLeaseRenewer` does, until `drop()` after the hand-off completes.
   */
  private async renewOne(held: Held): Promise<void> {
    const d = this.d;
    const shardId = held.lease.leaseKey;
    if (d.isDone(shardId) || isFinished(held.lease)) return;
    try {
      const lease = await d.table.renew(held.lease, d.workerId);
      if (!this.current(held)) return;
      held.lease = lease;
      held.renewedAt = Date.now();
      this.noticeHandoffRequest(held, lease);
    } catch (error) {
      if (!this.current(held)) return;
      if (error instanceof LeaseConflict) {
        const now = await d.table.get(shardId).catch(() => undefined);
        if (!this.current(held)) return;
        if (
          !held.handingOver &&
          now?.checkpointOwner === d.workerId &&
          now.leaseOwner !== d.workerId
        ) {
          // A request raced the renewal: renew on from the counter as it is now. (Once handing
          // over, a moved counter is a take: KCL 2.x's leaves our checkpointOwner in place.)
          held.lease = now;
          this.noticeHandoffRequest(held, now);
          return;
        }
        this.held.delete(shardId);
        d.logger.warn({ shardId, owner: now?.leaseOwner }, 'lease lost');
        d.onLost(shardId);
        return;
      }
      d.logger.warn({ shardId, err: error }, 'renewing a lease failed');
      if (Date.now() - held.renewedAt > d.failoverTimeMillis) {
        // Others may consider it expired by now: stop before two workers process it.
        this.held.delete(shardId);
        d.onLost(shardId);
      }
    }
  }

  /** The renewal showed a hand-off request (this worker is `checkpointOwner`): act on it once. */
  private noticeHandoffRequest(held: Held, lease: Lease): void {
    const d = this.d;
    if (held.handingOver || lease.checkpointOwner !== d.workerId || lease.leaseOwner === d.workerId)
      return;
    held.handingOver = true;
    d.metric({ type: 'leaseHandedOff', shardId: lease.leaseKey });
    d.logger.info(
      { shardId: lease.leaseKey, to: lease.leaseOwner },
      'hand-off requested by another worker',
    );
    d.onHandoffRequested(lease.leaseKey);
  }

  /**
   * The new owner's side of a hand-off: it does not write the lease (the previous owner renews it
   * and would lose it to a counter change), it watches it. Done when `checkpointOwner` is gone
   * and the lease is still ours. The KCL 2.x-compatible taker takes a lease whose counter has
   * stopped (`DynamoDBLeaseTaker`); so does this, and it also takes over after
   * `gracefulLeaseHandoffTimeoutMillis` from an owner that renews but never hands over (a KCL 2.x
   * worker knows nothing of `checkpointOwner`; a KCL 3 one transfers by itself at the same timeout).
   */
  private async awaitHandoff(held: Held): Promise<void> {
    const d = this.d;
    const shardId = held.lease.leaseKey;
    try {
      const lease = await d.table.get(shardId);
      if (!this.current(held)) return;
      if (lease && lease.leaseOwner !== d.workerId && lease.checkpointOwner === d.workerId) {
        await this.handBackUnread(lease);
        return;
      }
      if (!lease || lease.leaseOwner !== d.workerId) {
        this.held.delete(shardId);
        d.logger.warn(
          { shardId, owner: lease?.leaseOwner },
          'lease lost while waiting for its hand-off',
        );
        d.onLost(shardId);
        return;
      }
      const now = Date.now();
      if (lease.checkpointOwner === undefined) {
        held.lease = lease;
        held.renewedAt = now;
        held.handoffSince = undefined;
        d.onHandoffComplete(lease);
        return;
      }
      if (lease.leaseCounter !== held.lease.leaseCounter) held.counterMovedAt = now;
      held.lease = lease;
      const timedOut = now - held.handoffSince! > d.gracefulLeaseHandoffTimeoutMillis;
      const ownerGone = now - held.counterMovedAt > d.failoverTimeMillis;
      if (!timedOut && !ownerGone) return;
      const cleared = await d.table.clearStaleHandoff(lease, d.workerId);
      if (!this.current(held)) return;
      held.lease = cleared;
      held.renewedAt = Date.now();
      held.handoffSince = undefined;
      d.logger.warn(
        { shardId, previousOwner: lease.checkpointOwner, ownerGone },
        'previous owner did not complete the hand-off; taking over from its last checkpoint',
      );
      d.onHandoffComplete(cleared);
    } catch (error) {
      if (!this.current(held)) return;
      if (error instanceof LeaseConflict) return; // the owner renewed meanwhile: look again next time
      d.logger.warn({ shardId, err: error }, 'checking a pending hand-off failed');
    }
  }

  /**
   * The previous owner handed the lease over and, before this worker saw that, another worker
   * asked for it (this worker is now its `checkpointOwner`). Nothing was read here, so it is handed
   * on as it is, with the previous owner's checkpoint, as KCL 3's `ShutdownTask` transfers a
   * shutdown-requested lease whose consumer never started. The waiting worker stops without
   * reading.
   */
  private async handBackUnread(lease: Lease): Promise<void> {
    const d = this.d;
    const shardId = lease.leaseKey;
    this.held.delete(shardId);
    try {
      await d.table.completeHandoff(shardId, d.workerId);
      d.metric({ type: 'leaseHandedOff', shardId });
      d.logger.info({ shardId, to: lease.leaseOwner }, 'lease handed on before it was read');
    } catch (error) {
      d.logger.warn({ shardId, err: error }, 'handing on an unread lease failed');
    }
    d.onLost(shardId);
  }
}

function held(lease: Lease, handoffSince: number | undefined): Held {
  const now = Date.now();
  return { lease, renewedAt: now, handoffSince, counterMovedAt: now, handingOver: false };
}

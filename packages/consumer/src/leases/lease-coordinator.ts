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
        this.held.set(taken.leaseKey, {
          lease: taken,
          renewedAt: Date.now(),
          handoffSince: undefined,
        });
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
        this.held.set(taken.leaseKey, {
          lease: taken,
          renewedAt: Date.now(),
          handoffSince: Date.now(),
        });
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
    const d = this.d;
    await Promise.all(
      [...this.held.values()].map(async (held) => {
        const shardId = held.lease.leaseKey;
        if (d.isDone(shardId) || isFinished(held.lease)) return;
        try {
          const lease = await d.table.renew(held.lease, d.workerId);
          held.lease = lease;
          held.renewedAt = Date.now();
          if (held.handoffSince !== undefined) {
            if (lease.checkpointOwner === undefined) {
              held.handoffSince = undefined;
              d.onHandoffComplete(lease);
            } else if (Date.now() - held.handoffSince > d.gracefulLeaseHandoffTimeoutMillis) {
              // The previous owner did not finish in time (it died): go on from its last checkpoint.
              const cleared = await d.table.clearStaleHandoff(lease, d.workerId);
              held.lease = cleared;
              held.handoffSince = undefined;
              d.logger.warn(
                { shardId, previousOwner: lease.checkpointOwner },
                'previous owner did not complete the hand-off; taking over from its last checkpoint',
              );
              d.onHandoffComplete(cleared);
            }
          }
        } catch (error) {
          if (error instanceof LeaseConflict) {
            const current = await d.table.get(shardId).catch(() => undefined);
            this.held.delete(shardId);
            if (current && current.checkpointOwner === d.workerId) {
              d.metric({ type: 'leaseHandedOff', shardId });
              d.logger.info(
                { shardId, to: current.leaseOwner },
                'hand-off requested by another worker',
              );
              d.onHandoffRequested(shardId);
            } else {
              d.logger.warn({ shardId, owner: current?.leaseOwner }, 'lease lost');
              d.onLost(shardId);
            }
            return;
          }
          d.logger.warn({ shardId, err: error }, 'renewing a lease failed');
          if (Date.now() - held.renewedAt > d.failoverTimeMillis) {
            // Others may consider it expired by now: stop before two workers process it.
            this.held.delete(shardId);
            d.onLost(shardId);
          }
        }
      }),
    );
  }
}

import type { Logger } from 'pino';
import { GracefulHandoff, type HandoffWait } from '../handoff/graceful-handoff';
import type { ConsumerMetricEvent } from '../metrics';
import { isFinished, type Lease } from './lease';
import { LeaseConflict, type LeaseTable } from './lease-table';
import {
  decideLeases,
  DEFAULT_MAX_CLOCK_SKEW_MILLIS,
  isExpired,
  type ObservedLease,
} from './lease-taker';
import {
  fleetView,
  nextSharedScanAt,
  scanPeriodSlots,
  sharedSlotMillis,
  type FleetView,
} from './scan-schedule';
import { nextSlotEvent, probeCallsForScan, probeTarget } from './slot-probe';
import {
  stamplessOwners,
  stamplessProbe,
  stamplessProbeMillis,
  stamplessProbeTargets,
  stamplessRecheckAt,
} from './stampless-probe';
import { hintTargets, shouldWake, wokenBy } from './wake-hints';

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
  /**
   * The lease is gone: stop at once. `mayStillHold`: no other owner was seen (renewals failed
   * past `failoverTimeMillis`), so the table may still name this worker.
   */
  onLost: (shardId: string, mayStillHold?: boolean) => void;
  /** True when the shard's processing ended (SHARD_END): no need to renew. */
  isDone: (shardId: string) => boolean;
  /**
   * Both sides of graceful hand-offs (the consumer shares it with its owner's side); by default
   * one built from these deps.
   */
  handoff?: GracefulHandoff;
  /**
   * How often this worker scans once the fleet is settled (nothing free or expired, every live
   * worker at an even share, no hand-off pending), on its own schedule. Unset (the default), the
   * settled fleet shares one scan per `SHARED_SLOT_FACTOR × (failoverTimeMillis + 25)` ms
   * (`nextSharedScanAt`, `sharedSlotMillis`) and probes the slot's owner once (`slot-probe.ts`).
   * While unsettled it scans every `failoverTimeMillis / 2` either way.
   */
  leaseTakerIntervalMillis?: number;
  /**
   * How far two workers' clocks may drift apart: a renewal stamp is judged expired only once
   * `failoverTimeMillis` + this has passed by the reader's clock. Default 1000.
   */
  maxClockSkewMillis?: number;
  /** Clock for expiry (`Date.now` by default). */
  now?: () => number;
  /** Randomness for which leases to take and steal (`Math.random` by default). */
  random?: () => number;
}

/**
 * The taker's two cadences. Unsettled (something to take or steal, a hand-off pending, a worker
 * off its share, woken by a hint, or the first passes after start): every
 * `failoverTimeMillis / 2`, so a cold start, a join or a leave converges within a few failovers.
 * Settled: `settled` is `failoverTimeMillis + epsilon` (epsilon 25 ms,
 * `LeaseManagementConfig.epsilonMillis`), the base of the fleet's shared schedule: a lone worker
 * scans every third such slot (`LONE_WORKER_SLOTS`; the KCL 2.x taker's pace is every second,
 * `(failover + epsilon) * 2`, `DynamoDBLeaseCoordinator.takerIntervalMillis`); two or more share slots of
 * `SHARED_SLOT_FACTOR` times it (`sharedSlotMillis`), the fleet scanning once per slot and each
 * worker once per `workers` slots. With `settledMillis` (`leaseTakerIntervalMillis`), every worker
 * scans that often on its own instead.
 */
export function takerIntervals(
  failoverTimeMillis: number,
  settledMillis?: number,
): { fast: number; settled: number } {
  const fast = Math.max(100, Math.floor(failoverTimeMillis / 2));
  return { fast, settled: Math.max(fast, settledMillis ?? failoverTimeMillis + EPSILON_MILLIS) };
}

/** `LeaseManagementConfig.epsilonMillis`. */
const EPSILON_MILLIS = 25;

/** Passes after start that run at the fast pace whatever they find (two looks a failover apart). */
const WARM_UP_PASSES = 3;

/** What a scheduled pass does: scan, probe the predecessor, or probe the stampless owners watched. */
type PassKind = 'scan' | 'probe' | 'stampless';

interface Held {
  lease: Lease;
  renewedAt: number;
  /** Set while we wait for the previous owner's hand-off (see `GracefulHandoff.poll`). */
  waiting: HandoffWait | undefined;
  /** Set once another worker asked for this lease: we renew it until we have handed it over. */
  handingOver: boolean;
}

/**
 * Keeps this worker's leases: renews them every failover/3 (conditional writes on the leases it
 * holds, no reads, each stamped with this worker's clock), takes free or expired ones and
 * balances by graceful steals from one eventually consistent Scan per pass: every failover/2
 * while unsettled, and once settled only in this worker's slots of the fleet's shared schedule
 * (one scan per 1.25 × (failover + 25 ms) for the whole fleet, `SHARED_SLOT_FACTOR`; a lone
 * worker every 3 × (failover + 25 ms), `LONE_WORKER_SLOTS`). Every write is a
 * conditional write, so two workers can never both believe they hold a shard for longer than a
 * renewal.
 *
 * Failure detection. A lease is expired once its renewal stamp is older than failover +
 * `maxClockSkewMillis` (one look), or its counter stood still for a failover between this
 * worker's looks (the KCL's rule, for leases KCL workers renew). The first settled scan after a
 * dead worker's leases expire takes this worker's share of them and leaves a wake-up hint on a
 * lease of every other live worker, which sees it at its next renewal and scans at once. Nobody
 * scans in the dead worker's own slots: there its successor (the next live worker by id) reads
 * one of its leases instead (`slot-probe.ts`, 0.5 read unit) and scans at once if it expired.
 * So a dead worker's leases are all taken within failover + skew + one slot (the first to start
 * after they expire: a live worker's, or the dead one's, probed) + failover/3 (the next renewal)
 * + one pass after its last renewal, ≈ 27 s + a pass at the defaults; with
 * `leaseTakerIntervalMillis` L, within failover + skew + L + failover/3 + one pass.
 *
 * Owners that write no stamp (Java KCL workers, which also hold slots they do not scan or probe
 * for Shardline, and ignore hints) can only be judged by the counter rule, and a look a round
 * would leave a dead one's shards unread for up to two rounds. So with shared scans one Shardline
 * worker per such owner (the next live one by id, `stampless-probe.ts`) reads one of its leases
 * every failover/2 (0.5 read unit, two per failover per stampless owner; none in a fleet without
 * one). A counter still for failover/2 (it renews every failover/3) makes that watcher scan and
 * wake the other Shardline workers, which scan too; each then scans again once those counters
 * would have stood still for a failover, and takes its share by its own two looks. A dead KCL
 * worker's leases are all taken within failover/2 (to see its last counter) + failover/2 +
 * failover/3 (the hint) + failover + the passes after its last renewal, ≈ 23.3 s + passes at the
 * defaults. Still never wrong: each lease is judged by the counter rule, never by another's
 * silence. A false alarm (a renewal late by more than failover/6) costs a scan, a hint and a
 * recheck per Shardline worker.
 */
export class LeaseCoordinator {
  private readonly held = new Map<string, Held>();
  private readonly observed = new Map<string, ObservedLease>();
  private renewTimer: NodeJS.Timeout | undefined;
  private takeTimer: NodeJS.Timeout | undefined;
  private passes = 0;
  private settled = false;
  /** The live workers as the last scan showed them (the shared schedule's W and rank). */
  private view: FleetView | undefined;
  private live: ReadonlySet<string> = new Set<string>();
  /**
   * When a wake-up hint came back, until a pass whose scan started after it has run: a hint that
   * arrives while a pass is in flight asks for the next scan too (that pass may have read the
   * table before whatever the hint is about).
   */
  private wokenAt: number | undefined;
  private lastHintAt: number | undefined;
  /** When the scheduled pass is due (this worker's clock). */
  private takeDue = 0;
  private lastScan: { leases: Lease[]; at: number } | undefined;
  /** Live owners that write no renewal stamp, as the last scan showed them (`stampless-probe.ts`). */
  private stampless: ReadonlySet<string> = new Set<string>();
  /** The leases of the stampless owners this worker watches, one each. */
  private stamplessTargets: Lease[] = [];
  /** When this worker last looked at the watched leases (a scan or a watch probe). */
  private stamplessLookAt = 0;
  /** A scan due when a stampless owner's leases would all be expired by the counter rule. */
  private recheckAt: number | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly intervals: { fast: number; settled: number };
  private readonly skew: number;
  private running = false;
  private renewing: Promise<void> = Promise.resolve();
  private taking: Promise<void> = Promise.resolve();
  private readonly handoff: GracefulHandoff;

  constructor(private readonly d: LeaseCoordinatorDeps) {
    this.handoff = d.handoff ?? new GracefulHandoff(d);
    this.now = d.now ?? Date.now;
    this.random = d.random ?? Math.random;
    this.intervals = takerIntervals(d.failoverTimeMillis, d.leaseTakerIntervalMillis);
    this.skew = d.maxClockSkewMillis ?? DEFAULT_MAX_CLOCK_SKEW_MILLIS;
  }

  start(): void {
    this.running = true;
    const renewEvery = Math.max(100, Math.floor(this.d.failoverTimeMillis / 3));
    this.renewTimer = setInterval(() => {
      this.renewing = this.renewing.then(() => this.renewAll());
    }, renewEvery);
    this.taking = this.takePass().then(() => this.scheduleNext());
  }

  /**
   * Schedules the next pass, or whichever comes first of the predecessor probe, a stampless
   * owner's watch probe and a recheck scan (the last two only with a stampless owner live).
   */
  private scheduleNext(): void {
    let delay = this.takeInterval();
    let kind: PassKind = 'scan';
    const probe = this.probeInterval();
    if (probe !== undefined && probe < delay) [delay, kind] = [probe, 'probe'];
    const recheck = this.recheckInterval();
    if (recheck !== undefined && recheck < delay) [delay, kind] = [recheck, 'scan'];
    const watch = this.stamplessInterval();
    if (watch !== undefined && watch < delay) [delay, kind] = [watch, 'stampless'];
    this.scheduleTake(delay, kind);
  }

  private scheduleTake(delay: number, kind: PassKind = 'scan'): void {
    if (!this.running) return;
    this.takeDue = this.now() + delay;
    this.takeTimer = setTimeout(() => {
      this.takeTimer = undefined;
      this.taking = this.taking
        .then(() =>
          kind === 'probe'
            ? this.probePass()
            : kind === 'stampless'
              ? this.stamplessPass()
              : this.takePass(),
        )
        .then(() => this.scheduleNext());
    }, delay);
  }

  /** The delay before the next scheduled balancing pass. */
  takeInterval(): number {
    if (this.wokenAt !== undefined) return 0;
    if (!this.settled) return this.intervals.fast;
    if (this.d.leaseTakerIntervalMillis !== undefined || !this.view) return this.intervals.settled;
    const now = this.now();
    return nextSharedScanAt(now, this.slotMillis(), this.view) - now;
  }

  /**
   * The delay before the predecessor's next slot, if it comes before this worker's own and a
   * probe applies (settled, shared scans, two or more live workers); undefined otherwise.
   */
  private probeInterval(): number | undefined {
    const shared = this.d.leaseTakerIntervalMillis === undefined;
    if (this.wokenAt !== undefined || !this.settled || !shared || !this.view) return undefined;
    const now = this.now();
    const next = nextSlotEvent(now, this.slotMillis(), this.view);
    return next.probe ? next.at - now : undefined;
  }

  /**
   * The delay before the next watch probe of the stampless owners this worker watches: settled,
   * shared scans, and at least one such owner; undefined otherwise (so a fleet of Shardline
   * workers alone never schedules one).
   */
  private stamplessInterval(): number | undefined {
    const shared = this.d.leaseTakerIntervalMillis === undefined;
    if (this.wokenAt !== undefined || !this.settled || !shared) return undefined;
    if (this.stamplessTargets.length === 0) return undefined;
    const due = this.stamplessLookAt + stamplessProbeMillis(this.d.failoverTimeMillis);
    return Math.max(0, due - this.now());
  }

  /** The delay before the recheck scan, if one is due (`stamplessRecheckAt`). */
  private recheckInterval(): number | undefined {
    if (this.recheckAt === undefined) return undefined;
    return Math.max(0, this.recheckAt - this.now());
  }

  /**
   * The watch probe (`stampless-probe.ts`): one eventually consistent read of a lease of each
   * stampless owner this worker watches, kept as its observation of that lease. When one is gone,
   * moved, expired or its counter stood still for failover / 2, a scan at once (this worker's
   * first look at all of that owner's leases), a recheck once they would be expired, and a
   * wake-up hint to the other Shardline workers, so that each has its own two looks by then.
   */
  private async stamplessPass(): Promise<void> {
    const d = this.d;
    if (!this.running || !this.settled || !this.lastScan) return;
    this.stamplessLookAt = this.now();
    let scan = false;
    for (const target of this.stamplessTargets) {
      const read = await this.readForProbe(
        target,
        this.lastScan.at,
        'stampless owner probe failed',
      );
      if (!read) continue;
      const result = stamplessProbe(
        read.seen,
        read.probed,
        this.now(),
        d.failoverTimeMillis,
        this.skew,
      );
      if (result.observed) this.observed.set(target.leaseKey, result.observed);
      if (!result.scan) continue;
      scan = true;
      d.logger.debug(
        { shardId: target.leaseKey, owner: target.leaseOwner },
        "a stampless owner's lease stood still, moved or is gone: scanning now",
      );
    }
    if (!scan) return;
    const hintedAt = this.lastHintAt;
    await this.takePass(true);
    // The pass hinted already if it found work; otherwise the others still need their first look.
    const now = this.now();
    const due = hintedAt === undefined || now - hintedAt >= d.failoverTimeMillis;
    if (this.running && this.lastScan && this.lastHintAt === hintedAt && due) {
      const shardline = new Set([...this.live].filter((id) => !this.stampless.has(id)));
      await this.wakeOthers(this.lastScan.leases, shardline);
    }
  }

  /**
   * A probe's read of `target` (one eventually consistent GetItem), beside what this worker
   * observed of it, or the lease as the scan at `scanAt` listed it; undefined when the read
   * failed (logged as `failed`): the next slot or probe tries again.
   */
  private async readForProbe(
    target: Lease,
    scanAt: number,
    failed: string,
  ): Promise<{ seen: ObservedLease; probed: Lease | undefined } | undefined> {
    let probed: Lease | undefined;
    try {
      probed = await this.d.table.get(target.leaseKey, { consistent: false });
    } catch (error) {
      this.d.logger.debug({ shardId: target.leaseKey, err: error }, failed);
      return undefined;
    }
    const seen = this.observed.get(target.leaseKey) ?? { lease: target, lastCounterChange: scanAt };
    return { seen, probed };
  }

  /** The settled slot for the fleet as this worker last saw it (`sharedSlotMillis`). */
  private slotMillis(): number {
    return sharedSlotMillis(this.intervals.settled, this.view?.workers ?? 1);
  }

  /**
   * The predecessor liveness probe (`slot-probe.ts`): one eventually consistent read of a lease
   * the predecessor held at the last scan; a normal pass at once if it expired, moved or is gone
   * (that pass takes this worker's share and wakes the others). A failed read waits for the next
   * slot: the table is likely unreachable for a scan too.
   */
  private async probePass(): Promise<void> {
    const d = this.d;
    if (!this.running || !this.settled || !this.view || !this.lastScan) return;
    const target = probeTarget(this.lastScan.leases, this.view, d.workerId);
    if (target === undefined) return this.takePass();
    const read = await this.readForProbe(target, this.lastScan.at, 'slot probe failed');
    if (!read) return;
    if (!probeCallsForScan(read.seen, read.probed, this.now(), d.failoverTimeMillis, this.skew))
      return;
    d.logger.debug(
      { shardId: target.leaseKey, owner: target.leaseOwner },
      "the predecessor's lease expired or moved: scanning now",
    );
    await this.takePass();
  }

  /**
   * How old the last listing may be for shard sync to reuse it: up to this worker's settled
   * period (it lists no more often than that once settled), plus a fast pass. A stale listing
   * costs at most conditional creates and deletes that lose.
   */
  listingMaxAgeMillis(): number {
    const period =
      this.d.leaseTakerIntervalMillis !== undefined
        ? this.intervals.settled
        : scanPeriodSlots(this.view?.workers ?? 1) * this.slotMillis();
    return Math.max(this.d.failoverTimeMillis, period + this.intervals.fast);
  }

  /**
   * A wake-up hint came back with a renewal: scan now (or right after the pass in flight) rather
   * than at the next slot, and stay unsettled until that scan says otherwise.
   */
  private wake(): void {
    this.wokenAt = this.now();
    this.settled = false;
    if (this.takeTimer !== undefined && this.takeDue > this.now()) {
      clearTimeout(this.takeTimer);
      this.scheduleTake(0);
    }
  }

  /** The leases as the last balancing pass read them, and when (shard sync reuses them). */
  lastListing(): { leases: Lease[]; at: number } | undefined {
    return this.lastScan;
  }

  /** Stops renewing and taking; in-flight passes finish. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.takeTimer) clearTimeout(this.takeTimer);
    await Promise.all([this.renewing, this.taking]);
  }

  heldLeases(): Lease[] {
    return [...this.held.values()].map((h) => h.lease);
  }

  /** Forget a lease (released, handed off, ended). */
  drop(shardId: string): void {
    this.held.delete(shardId);
  }

  /**
   * One balancing pass, run on demand (tests, after a shard ends). `watch`: run for a stampless
   * owner's watch probe, so a recheck follows (`stamplessRecheckAt`).
   */
  async takePass(watch = false): Promise<void> {
    if (!this.running) return;
    const d = this.d;
    let leases: Lease[];
    const scanStartedAt = this.now();
    // Before the listing: a recheck whose scan fails must not come straight back (a loop).
    if (this.recheckAt !== undefined && scanStartedAt >= this.recheckAt) this.recheckAt = undefined;
    try {
      // Eventually consistent, as the KCL's taker reads (`DynamoDBLeaseRefresher.listLeases`):
      // half the read units, and a stale item only costs a conditional write that loses.
      leases = await d.table.list({ consistent: false });
    } catch (error) {
      d.logger.warn({ err: error }, 'listing leases failed');
      this.settled = false;
      // Unsettled, the next try comes at the fast pace: a pending hint must not make it a loop.
      this.wokenAt = undefined;
      return;
    }
    const now = this.now();
    const wasSettled = this.settled;
    this.passes++;
    this.lastScan = { leases, at: now };
    const byKey = new Map(leases.map((l) => [l.leaseKey, l]));
    for (const lease of leases) {
      const seen = this.observed.get(lease.leaseKey);
      if (
        !seen ||
        seen.lease.leaseCounter !== lease.leaseCounter ||
        seen.lease.leaseOwner !== lease.leaseOwner
      ) {
        const ownerSince =
          seen && seen.lease.leaseOwner === lease.leaseOwner ? seen.ownerSince : now;
        this.observed.set(lease.leaseKey, { lease, lastCounterChange: now, ownerSince });
      } else {
        seen.lease = lease;
      }
    }
    for (const key of this.observed.keys()) if (!byKey.has(key)) this.observed.delete(key);

    const observed = [...this.observed.values()];
    const ready = (lease: Lease) => d.ready(lease, byKey);
    const decision = decideLeases({
      workerId: d.workerId,
      leases: observed,
      now,
      failoverTimeMillis: d.failoverTimeMillis,
      maxClockSkewMillis: this.skew,
      maxLeasesForWorker: d.maxLeasesForWorker,
      maxLeasesToStealAtOneTime: d.maxLeasesToStealAtOneTime,
      ready,
      random: this.random,
    });
    const live = decision.liveWorkers;
    const view = fleetView(live, d.workerId);
    this.live = live;
    const workersChanged = this.view !== undefined && this.view.key !== view.key;
    this.view = view;
    const woken = this.wokenAt !== undefined && this.wokenAt < scanStartedAt;
    if (woken) this.wokenAt = undefined;
    if (d.leaseTakerIntervalMillis === undefined) {
      this.stampless = stamplessOwners(leases, live, d.workerId);
      this.stamplessTargets = stamplessProbeTargets(leases, view, this.stampless, d.workerId);
      this.stamplessLookAt = now;
      // Woken by a hint (it may be a watcher's) or watching: look again once a stampless owner
      // would be expired, so that this worker's own two looks judge it in time.
      if ((woken || watch) && this.stampless.size > 0)
        this.recheckAt = stamplessRecheckAt(
          this.observed.values(),
          this.stampless,
          d.failoverTimeMillis,
        );
    }
    this.settled =
      this.passes > WARM_UP_PASSES &&
      this.wokenAt === undefined &&
      !workersChanged &&
      decision.take.length === 0 &&
      decision.steal.length === 0 &&
      ![...this.held.values()].some((h) => h.waiting !== undefined) &&
      fleetSettled(observed, {
        expired: (o) => isExpired(o, now, d.failoverTimeMillis, this.skew),
        maxLeasesForWorker: d.maxLeasesForWorker,
        workerId: d.workerId,
        ready,
      });
    const wakeFleet = shouldWake({
      firstPass: this.passes === 1,
      wasSettled,
      settledNow: this.settled,
      others: view.workers - 1,
      lastHintAt: this.lastHintAt,
      now,
      minGapMillis: d.failoverTimeMillis,
    });
    // A few writes at a time, not one after the other: a worker short of 100 leases otherwise
    // spends 100 round trips in one pass (seconds against a loaded table) before it looks again.
    await eachLimited(decision.take, WRITES_AT_ONCE, async (lease) => {
      if (!this.running) return;
      try {
        const taken = await d.table.take(lease, d.workerId, this.now());
        this.settled = false;
        this.held.set(taken.leaseKey, held(taken, undefined, this.now()));
        d.metric({ type: 'leaseAcquired', shardId: taken.leaseKey });
        d.logger.info({ shardId: taken.leaseKey, previousOwner: lease.leaseOwner }, 'lease taken');
        d.onAcquired(taken, false);
      } catch (error) {
        if (!(error instanceof LeaseConflict))
          d.logger.warn({ shardId: lease.leaseKey, err: error }, 'taking a lease failed');
      }
    });
    await eachLimited(decision.steal, WRITES_AT_ONCE, async (lease) => {
      if (!this.running) return;
      try {
        const wait = await this.handoff.request(lease);
        this.held.set(wait.lease.leaseKey, held(wait.lease, wait, this.now()));
        d.onAcquired(wait.lease, true);
      } catch (error) {
        if (!(error instanceof LeaseConflict))
          d.logger.warn({ shardId: lease.leaseKey, err: error }, 'requesting a hand-off failed');
      }
    });
    // After this pass's own writes, so that woken workers' scans see them (a joiner's requests).
    if (wakeFleet && this.running) await this.wakeOthers(leases, live);
  }

  /**
   * This worker is leaving and has released its leases (`Consumer.stop`): wake the other live
   * workers it last saw, so that they take them now rather than at their next shared slot.
   */
  async wakeFleet(): Promise<void> {
    if (this.lastScan) await this.wakeOthers(this.lastScan.leases, this.live);
  }

  /** One hint on a lease of each other live worker (`wake-hints.ts`); lost ones do not matter. */
  private async wakeOthers(leases: Lease[], live: ReadonlySet<string>): Promise<void> {
    const d = this.d;
    this.lastHintAt = this.now();
    await eachLimited(hintTargets(leases, live, d.workerId), WRITES_AT_ONCE, async (lease) => {
      try {
        await d.table.wake(lease, lease.leaseOwner!, this.now());
      } catch (error) {
        if (!(error instanceof LeaseConflict))
          d.logger.debug({ shardId: lease.leaseKey, err: error }, 'wake-up hint failed');
      }
    });
  }

  private async renewAll(): Promise<void> {
    if (!this.running) return;
    await Promise.all(
      [...this.held.values()].map((held) =>
        held.waiting === undefined ? this.renewOne(held) : this.awaitHandoff(held, held.waiting),
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
      const lease = await d.table.renew(held.lease, d.workerId, this.now());
      if (!this.current(held)) return;
      if (wokenBy(held.lease, lease)) this.wake();
      held.lease = lease;
      held.renewedAt = this.now();
      this.noticeHandoffRequest(held, lease);
    } catch (error) {
      if (!this.current(held)) return;
      if (error instanceof LeaseConflict) {
        const now = await d.table.get(shardId).catch(() => undefined);
        if (!this.current(held)) return;
        if (!held.handingOver && now && this.handoff.isRequested(now)) {
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
      if (this.now() - held.renewedAt > d.failoverTimeMillis) {
        // Others may consider it expired by now: stop before two workers process it.
        this.held.delete(shardId);
        d.onLost(shardId, true);
      }
    }
  }

  /** The renewal showed a hand-off request (this worker is `checkpointOwner`): act on it once. */
  private noticeHandoffRequest(held: Held, lease: Lease): void {
    const d = this.d;
    if (held.handingOver || !this.handoff.isRequested(lease)) return;
    held.handingOver = true;
    d.metric({ type: 'leaseHandedOff', shardId: lease.leaseKey });
    d.logger.info(
      { shardId: lease.leaseKey, to: lease.leaseOwner },
      'hand-off requested by another worker',
    );
    d.onHandoffRequested(lease.leaseKey);
  }

  /** The requester's side, one look (`GracefulHandoff.poll`), and what the answer means here. */
  private async awaitHandoff(held: Held, wait: HandoffWait): Promise<void> {
    const d = this.d;
    const shardId = held.lease.leaseKey;
    const result = await this.handoff.poll(wait, () => this.current(held));
    if (!this.current(held)) return;
    switch (result.kind) {
      case 'waiting':
        held.lease = wait.lease;
        return;
      case 'completed':
      case 'took-over':
        held.lease = result.lease;
        held.renewedAt = this.now();
        held.waiting = undefined;
        d.onHandoffComplete(result.lease);
        return;
      case 'handed-on':
        this.held.delete(shardId);
        d.onLost(shardId);
        return;
      case 'lost':
        this.held.delete(shardId);
        d.logger.warn(
          { shardId, owner: result.owner },
          'lease lost while waiting for its hand-off',
        );
        d.onLost(shardId);
        return;
    }
  }
}

/**
 * True when nothing is left to move: no ready lease free, expired or in a hand-off, and every
 * live worker within one of an even share (`maxLeasesForWorker` allowing).
 */
function fleetSettled(
  leases: ObservedLease[],
  {
    expired,
    maxLeasesForWorker,
    workerId,
    ready,
  }: {
    expired: (o: ObservedLease) => boolean;
    maxLeasesForWorker: number;
    workerId: string;
    ready: (lease: Lease) => boolean;
  },
): boolean {
  const active = leases.filter((o) => !isFinished(o.lease) && ready(o.lease));
  const counts = new Map<string, number>([[workerId, 0]]);
  for (const o of active) {
    if (expired(o) || o.lease.checkpointOwner !== undefined) return false;
    counts.set(o.lease.leaseOwner!, (counts.get(o.lease.leaseOwner!) ?? 0) + 1);
  }
  const low = Math.min(Math.floor(active.length / counts.size), maxLeasesForWorker);
  const high = Math.min(Math.ceil(active.length / counts.size), maxLeasesForWorker);
  return [...counts.values()].every((n) => n >= low && n <= high);
}

/** Takes and hand-off requests of one pass in flight at once. */
const WRITES_AT_ONCE = 8;

/** Runs `fn` over `items`, at most `limit` at a time, in order of start. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function held(lease: Lease, waiting: HandoffWait | undefined, at: number): Held {
  return { lease, renewedAt: at, waiting, handingOver: false };
}

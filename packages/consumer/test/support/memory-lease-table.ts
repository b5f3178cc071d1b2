import type { Lease } from '../../src/leases/lease';
import { LeaseConflict, type LeaseTable } from '../../src/leases/lease-table';

/** One change of a lease's owner, as the fleet tests count moves. */
export interface Move {
  leaseKey: string;
  from: string | undefined;
  to: string;
  /** `handoff`: the previous owner handed over; `take`: free/expired; `stale`: taken over from a hand-off the owner did not complete. */
  how: 'take' | 'handoff' | 'stale';
}

/**
 * The lease table's conditional writes in memory, with the same conditions as `LeaseTable`
 * (lease-table.test.ts checks those against dynalite), for fleet tests on a fake clock: every
 * call resolves at once, so time is only what the test advances.
 */
export class MemoryLeaseTable {
  readonly tableName = 'memory';
  readonly leases = new Map<string, Lease>();
  readonly moves: Move[] = [];
  scans = 0;
  /** Eventually consistent reads of one lease (the slot probe's `get`). */
  probes = 0;
  /** Wake-up hints written (`LeaseTable.wake`). */
  wakes = 0;
  private seed = 7;

  /**
   * @param latencyMillis most time one call takes (a call takes 1..latency ms, drawn from a fixed
   * sequence), so workers are not in lock-step, as they are not against DynamoDB.
   */
  constructor(private readonly latencyMillis = 0) {}

  private delay(): Promise<void> {
    if (this.latencyMillis <= 0) return Promise.resolve();
    this.seed = (this.seed * 1103515245 + 12345) % 2147483648;
    const ms = 1 + (this.seed % this.latencyMillis);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  add(lease: Lease): void {
    this.leases.set(lease.leaseKey, { ...lease });
  }

  asTable(): LeaseTable {
    return this as unknown as LeaseTable;
  }

  /** How many leases each owner holds (no hand-off pending). */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const l of this.leases.values())
      if (l.leaseOwner && !l.checkpointOwner)
        out.set(l.leaseOwner, (out.get(l.leaseOwner) ?? 0) + 1);
    return out;
  }

  async list(): Promise<Lease[]> {
    await this.delay();
    this.scans++;
    return [...this.leases.values()].map((l) => ({ ...l }));
  }

  async get(key: string, options: { consistent?: boolean } = {}): Promise<Lease | undefined> {
    await this.delay();
    if (options.consistent === false) this.probes++;
    const l = this.leases.get(key);
    return l && { ...l };
  }

  private async write(
    key: string,
    op: string,
    ok: (l: Lease) => boolean,
    change: (l: Lease) => void,
  ): Promise<Lease> {
    await this.delay();
    const l = this.leases.get(key);
    if (!l || !ok(l)) throw new LeaseConflict(key, op);
    change(l);
    return { ...l };
  }

  renew(lease: Lease, owner: string, at = Date.now()): Promise<Lease> {
    return this.write(
      lease.leaseKey,
      'renew',
      (l) =>
        l.leaseCounter === lease.leaseCounter &&
        ((l.leaseOwner === owner && !l.checkpointOwner) || l.checkpointOwner === owner),
      (l) => {
        l.leaseCounter++;
        l.renewalStamp = { counter: l.leaseCounter, at };
      },
    );
  }

  wake(lease: Lease, owner: string, at = Date.now()): Promise<Lease> {
    return this.write(
      lease.leaseKey,
      'wake-up hint',
      (l) => l.leaseOwner === owner,
      (l) => {
        this.wakes++;
        l.wakeAt = at;
      },
    );
  }

  take(lease: Lease, owner: string, at = Date.now()): Promise<Lease> {
    return this.write(
      lease.leaseKey,
      'take',
      (l) => l.leaseCounter === lease.leaseCounter,
      (l) => {
        this.moves.push({ leaseKey: l.leaseKey, from: l.leaseOwner, to: owner, how: 'take' });
        l.leaseOwner = owner;
        l.leaseCounter++;
        l.checkpointOwner = undefined;
        l.renewalStamp = { counter: l.leaseCounter, at };
      },
    );
  }

  requestHandoff(lease: Lease, newOwner: string): Promise<Lease> {
    return this.write(
      lease.leaseKey,
      'hand-off request',
      (l) => l.leaseOwner === lease.leaseOwner && !l.checkpointOwner,
      (l) => {
        l.checkpointOwner = l.leaseOwner;
        l.leaseOwner = newOwner;
      },
    );
  }

  completeHandoff(key: string, previousOwner: string): Promise<Lease> {
    return this.write(
      key,
      'hand-off completion',
      (l) => l.checkpointOwner === previousOwner,
      (l) => {
        this.moves.push({ leaseKey: key, from: previousOwner, to: l.leaseOwner!, how: 'handoff' });
        l.checkpointOwner = undefined;
        l.leaseCounter++;
      },
    );
  }

  clearStaleHandoff(lease: Lease, owner: string, at = Date.now()): Promise<Lease> {
    return this.write(
      lease.leaseKey,
      'stale hand-off clear',
      (l) => l.leaseCounter === lease.leaseCounter && l.leaseOwner === owner,
      (l) => {
        this.moves.push({ leaseKey: l.leaseKey, from: l.checkpointOwner, to: owner, how: 'stale' });
        l.checkpointOwner = undefined;
        l.leaseCounter++;
        l.renewalStamp = { counter: l.leaseCounter, at };
      },
    );
  }

  async release(lease: Lease, owner: string): Promise<void> {
    await this.write(
      lease.leaseKey,
      'release',
      (l) => l.leaseOwner === owner && !l.checkpointOwner,
      (l) => {
        l.leaseOwner = undefined;
        l.leaseCounter++;
      },
    );
  }
}

/** A fault the fake injects, per matching request. */
export type FaultKind =
  /** Whole call answered 400 ProvisionedThroughputExceededException (or `code`). */
  | 'throttle'
  /** Whole call answered 500 InternalFailure. */
  | 'internal'
  /** The response is delayed by `latencyMs`. */
  | 'latency'
  /** The connection is destroyed after part of the response was written. */
  | 'reset'
  /** PutRecords: a `fraction` of entries fail with `code` (default ProvisionedThroughputExceededException). */
  | 'partial'
  /** GetRecords: 400 ExpiredIteratorException. */
  | 'expired-iterator'
  /** The response is held until `release()` (a stalled backend). */
  | 'stall'
  /** 200 with a body that is not JSON. */
  | 'malformed';

/** Which requests a fault applies to, and how often. */
export interface FaultRule {
  kind: FaultKind;
  /** Operation name (`PutRecords`, `GetRecords`, ...) or `*`. Default `*`. */
  operation?: string;
  /** Apply to this many matching requests, then stop. Default: unlimited. */
  times?: number;
  /** Apply with this probability (seeded RNG). Default 1. */
  probability?: number;
  latencyMs?: number;
  /** For `partial`: share of entries that fail. Default 0.3. */
  fraction?: number;
  /** Error code for `throttle` or `partial`. */
  code?: string;
}

/** Handle of an injected rule. */
export interface FaultHandle {
  /** Times the rule applied so far. */
  readonly applied: number;
  remove(): void;
}

/** mulberry32: small, seeded, good enough to make fault injection reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NON_TERMINAL = new Set<FaultKind>(['latency', 'stall', 'partial']);

interface ActiveRule extends FaultRule {
  applied: number;
  removed: boolean;
}

/** The rules in force and the decision, per request, of which apply. */
export class FaultPlan {
  private rules: ActiveRule[] = [];
  injected = 0;

  constructor(private readonly random: () => number) {}

  add(rule: FaultRule): FaultHandle {
    const active: ActiveRule = { ...rule, applied: 0, removed: false };
    this.rules.push(active);
    return {
      get applied() {
        return active.applied;
      },
      remove: () => {
        active.removed = true;
        this.rules = this.rules.filter((r) => r !== active);
      },
    };
  }

  clear(): void {
    this.rules = [];
  }

  /**
   * The rules that apply to this request (each counted as applied): any number of delaying ones
   * (latency, stall, partial) and at most one that ends the request, the first in order of adding.
   */
  match(operation: string): ActiveRule[] {
    if (this.rules.length === 0) return [];
    const out: ActiveRule[] = [];
    let ended = false;
    for (const rule of this.rules) {
      const ends = !NON_TERMINAL.has(rule.kind);
      if (ends && ended) continue;
      if (rule.removed) continue;
      if (rule.operation && rule.operation !== '*' && rule.operation !== operation) continue;
      if (rule.times !== undefined && rule.applied >= rule.times) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      rule.applied++;
      this.injected++;
      out.push(rule);
      if (ends) ended = true;
    }
    return out;
  }

  get rand(): () => number {
    return this.random;
  }
}

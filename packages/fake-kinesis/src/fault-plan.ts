import { NON_TERMINAL_FAULTS, type FaultRule } from './faults';

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

/** What every rule has, whatever server applies it (the fake, or the integration fault proxy). */
export interface MatchableRule {
  kind: string;
  /** Operation name or `*`. Default `*`. */
  operation?: string;
  times?: number;
  probability?: number;
  /** Apply only to requests whose body contains this text. */
  bodyContains?: string;
}

type Active<R> = R & { applied: number; removed: boolean };

/** The rules in force and the decision, per request, of which apply. */
export class FaultPlan<R extends MatchableRule = FaultRule> {
  private rules: Active<R>[] = [];
  /** Rules applied so far, in all and by kind. */
  injected = 0;
  readonly injectedByKind: Record<string, number> = {};

  constructor(
    readonly random: () => number,
    private readonly nonTerminal: ReadonlySet<string> = NON_TERMINAL_FAULTS,
  ) {}

  add(rule: R): FaultHandle {
    const active = { ...rule, applied: 0, removed: false } as Active<R>;
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

  get size(): number {
    return this.rules.length;
  }

  /**
   * The rules that apply to this request (each counted as applied): any number of delaying ones
   * and at most one that ends the request, the first in order of adding.
   */
  match(operation: string, body?: string): Active<R>[] {
    if (this.rules.length === 0) return [];
    const out: Active<R>[] = [];
    let ended = false;
    for (const rule of this.rules) {
      const ends = !this.nonTerminal.has(rule.kind);
      if (ends && ended) continue;
      if (rule.removed) continue;
      if (rule.operation && rule.operation !== '*' && rule.operation !== operation) continue;
      if (rule.times !== undefined && rule.applied >= rule.times) continue;
      if (rule.bodyContains !== undefined && !(body ?? '').includes(rule.bodyContains)) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      rule.applied++;
      this.injected++;
      this.injectedByKind[rule.kind] = (this.injectedByKind[rule.kind] ?? 0) + 1;
      out.push(rule);
      if (ends) ended = true;
    }
    return out;
  }
}

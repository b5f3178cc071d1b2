/** States of one shard's processing on this worker. */
export type ShardState =
  | 'waiting-for-handoff'
  | 'initializing'
  | 'processing'
  | 'shard-ended'
  | 'lease-lost'
  | 'shutting-down'
  | 'stopped';

/** Named transitions; anything else is a bug. */
const TRANSITIONS: Record<ShardState, readonly ShardState[]> = {
  'waiting-for-handoff': ['initializing', 'lease-lost', 'stopped'],
  initializing: ['processing', 'lease-lost', 'shutting-down', 'stopped'],
  processing: ['shard-ended', 'lease-lost', 'shutting-down'],
  'shard-ended': ['stopped', 'lease-lost'],
  'lease-lost': ['stopped'],
  'shutting-down': ['stopped', 'lease-lost'],
  stopped: [],
};

export function canTransition(from: ShardState, to: ShardState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** An explicit per-shard state machine: every change is checked and observable. */
export class ShardLifecycle {
  private current: ShardState;

  constructor(
    initial: ShardState,
    private readonly onChange: (from: ShardState, to: ShardState) => void = () => {},
  ) {
    this.current = initial;
  }

  get state(): ShardState {
    return this.current;
  }

  /** Moves to `to`; returns false (and stays) when the move is not allowed from here. */
  to(to: ShardState): boolean {
    if (!canTransition(this.current, to)) return false;
    const from = this.current;
    this.current = to;
    this.onChange(from, to);
    return true;
  }
}

import type { StreamRegistry } from './registry';
import type { FakeStats } from './stats';
import type { ShardLimits } from './throughput';

/** What the operations of one fake share: its streams, its counts and its write settings. */
export interface Backend {
  readonly streams: StreamRegistry;
  readonly stats: FakeStats;
  readonly limits: ShardLimits;
  /** Largest record, data + partition key. */
  readonly maxRecordBytes: number;
  /** Answer writes without keeping the data. */
  readonly discard: boolean;
  /** The fault plan's seeded RNG, so `partial` failures replay with the seed. */
  readonly random: () => number;
}

/** PutRecords: fail this share of the entries with `code` (the `partial` fault). */
export interface PartialFailure {
  fraction: number;
  code: string;
}

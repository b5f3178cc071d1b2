/**
 * One thing that happened in the consumer, for dashboards and alerts. A consumer of `streams`
 * adds the shard's `streamName` to every event (shard ids repeat across streams).
 */
export type ConsumerMetricEvent = { streamName?: string } & (
  | { type: 'batch'; shardId: string; records: number; millisBehindLatest?: number }
  | { type: 'checkpoint'; shardId: string }
  | { type: 'leaseAcquired'; shardId: string }
  | { type: 'leaseLost'; shardId: string }
  | { type: 'leaseHandedOff'; shardId: string }
  | { type: 'leaseStealRequested'; shardId: string; from: string }
  | { type: 'shardEnded'; shardId: string }
  /** The shard's reader returned nothing for `stallTimeoutMillis`: it is restarted. */
  | { type: 'stall'; shardId: string; silentForMs: number }
  /**
   * One `processRecords` call has run longer than `stallTimeoutMillis` (once per call). The reader
   * is only waiting for it, so nothing is restarted.
   */
  | { type: 'slowProcessor'; shardId: string; runningForMs: number; records: number }
  /**
   * An aggregate holding user records that hash outside the shard's range (see
   * `dropOutOfRangeAggregates`): `records` user records, `outside` of them outside the range;
   * `dropped` when the option dropped them, else they were delivered.
   */
  | {
      type: 'outOfRangeAggregate';
      shardId: string;
      sequenceNumber: string;
      records: number;
      outside: number;
      dropped: boolean;
    }
  | { type: 'processorError'; shardId: string; attempt: number }
  /**
   * Failing records spent their retry budget (`retryBudget`): `records` of them (1 with bisection
   * or per-record processing), after `attempts` failed calls; they go to the dead-letter
   * destination next.
   */
  | { type: 'retryBudgetSpent'; shardId: string; records: number; attempts: number }
  /** A failing batch of `records` records was split in two (batch bisection). */
  | { type: 'batchBisected'; shardId: string; records: number }
  /** `records` records were acknowledged by the dead-letter destination; the shard moves past them. */
  | { type: 'deadLettered'; shardId: string; records: number; destination: 'kinesis' | 'function' }
  /**
   * Sending `records` records to the dead-letter destination failed (`attempt` in a row): the
   * shard stops there (health: `deadLetterFailing`) and tries again; nothing is skipped.
   */
  | {
      type: 'deadLetterFailed';
      shardId: string;
      records: number;
      destination: 'kinesis' | 'function';
      code: string;
      attempt: number;
    }
  | { type: 'poisonRecord'; shardId: string; code: string }
  | { type: 'readError'; shardId: string; code: string }
);

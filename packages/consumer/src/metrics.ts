/** One thing that happened in the consumer, for dashboards and alerts. */
export type ConsumerMetricEvent =
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
  | { type: 'poisonRecord'; shardId: string; code: string }
  | { type: 'readError'; shardId: string; code: string };

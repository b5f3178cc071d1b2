/** One thing that happened in the consumer, for dashboards and alerts. */
export type ConsumerMetricEvent =
  | { type: 'batch'; shardId: string; records: number; millisBehindLatest?: number }
  | { type: 'checkpoint'; shardId: string }
  | { type: 'leaseAcquired'; shardId: string }
  | { type: 'leaseLost'; shardId: string }
  | { type: 'leaseHandedOff'; shardId: string }
  | { type: 'leaseStealRequested'; shardId: string; from: string }
  | { type: 'shardEnded'; shardId: string }
  | { type: 'stall'; shardId: string; silentForMs: number }
  | { type: 'processorError'; shardId: string; attempt: number }
  | { type: 'poisonRecord'; shardId: string; code: string }
  | { type: 'readError'; shardId: string; code: string };

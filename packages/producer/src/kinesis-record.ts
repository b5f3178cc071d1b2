import type { PendingRecord } from './user-record';

/** One entry of a PutRecords call: a user record alone, or an aggregate of several for one shard. */
export interface KinesisRecord {
  /** Predicted shard. */
  shardId: string;
  partitionKey: string;
  explicitHashKey: string | undefined;
  data: Uint8Array;
  /** Data + partition key bytes: what the shard limits and the request size count. */
  bytes: number;
  /** The user records inside, in sub-sequence order. */
  records: PendingRecord[];
  /** True when `records` went out as a KPL aggregate (more than one record). */
  aggregated: boolean;
  /** The ordering lane it belongs to (its shard, or its partition key), set by the sequencer. */
  lane?: string;
}

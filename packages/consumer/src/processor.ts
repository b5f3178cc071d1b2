import type { ExtendedSequence } from './checkpoint/sequence';

/** A user record as the processor gets it: de-aggregated and decompressed. */
export interface ConsumerRecord {
  data: Uint8Array;
  partitionKey: string;
  explicitHashKey?: string;
  /** Sequence number of the Kinesis record that carried it. */
  sequenceNumber: string;
  /** Position inside its aggregate (0 for a record that was not aggregated). */
  subSequenceNumber: number;
  /** True when it came out of a KPL aggregate. */
  aggregated: boolean;
  approximateArrivalTimestamp?: Date;
}

/** What `processRecords` gets. */
export interface RecordBatch {
  shardId: string;
  records: ConsumerRecord[];
  /** How far behind the tip the shard's reader is, when the service says. */
  millisBehindLatest?: number;
}

/** Writes a shard's checkpoint to the lease table. */
export interface Checkpointer {
  readonly shardId: string;
  /**
   * Checkpoints `record` (a record of this shard, with its sub-sequence number for aggregated
   * records), or by default the last record delivered to the processor. A restart resumes right
   * after it. Rejects with `LeaseLostError` when the lease went to another worker.
   */
  checkpoint(record?: { sequenceNumber: string; subSequenceNumber?: number }): Promise<void>;
  /** The last checkpoint this worker wrote or read for the shard. */
  readonly lastCheckpoint: ExtendedSequence | string;
}

/** Why a shard's processing stops without the shard ending. */
export type ShutdownReason = 'stop' | 'handoff' | 'stall-restart';

/**
 * The application's side, one object for every shard (the shard id is in each call). Only
 * `processRecords` is required.
 */
export interface ShardProcessor {
  /** Before the first batch of a shard this worker took. */
  initialize?(input: {
    shardId: string;
    checkpoint: ExtendedSequence | string;
  }): void | Promise<void>;
  /** A batch, in shard order. Resolve when it is processed; throwing retries it (see `onProcessorError`). */
  processRecords(batch: RecordBatch, checkpointer: Checkpointer): void | Promise<void>;
  /** The lease went to another worker: stop touching the shard. Checkpointing is no longer possible. */
  leaseLost?(input: { shardId: string }): void | Promise<void>;
  /**
   * The shard was read to its end (split or merge). Checkpoint with `checkpointer.checkpoint()`
   * (it writes SHARD_END here); if you forget, the consumer writes SHARD_END itself and logs a
   * warning, since children cannot start before it.
   */
  shardEnded?(
    input: { shardId: string; childShardIds: string[] },
    checkpointer: Checkpointer,
  ): void | Promise<void>;
  /** The worker is stopping, or handing the shard to another worker: last chance to checkpoint. */
  shutdownRequested?(
    input: { shardId: string; reason: ShutdownReason },
    checkpointer: Checkpointer,
  ): void | Promise<void>;
}

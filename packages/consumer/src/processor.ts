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
  /**
   * The W3C trace context the producer carried with the record (its `traceparent`/`tracestate`
   * tags inside a KPL aggregate, as the Shardline producer writes them). Absent when it carried
   * none: a record sent alone has no place for one. `tracedProcessor` from `@shardline/telemetry`
   * starts each processing span as its child or link.
   */
  traceContext?: RecordTraceContext;
}

/** A W3C trace context as its two header values carry it. */
export interface RecordTraceContext {
  traceparent: string;
  tracestate?: string;
}

/**
 * Which stream a shard belongs to, in what a consumer of `streams` hands the processor (shard ids
 * repeat across streams). Absent for a consumer of one `streamName`/`streamArn`.
 */
export interface ShardStream {
  streamName?: string;
  streamArn?: string;
}

/** What `processRecords` gets. */
export interface RecordBatch extends ShardStream {
  shardId: string;
  records: ConsumerRecord[];
  /** How far behind the tip the shard's reader is, when the service says. */
  millisBehindLatest?: number;
}

/** Writes a shard's checkpoint to the lease table. */
export interface Checkpointer {
  /** The lease it writes: the shard id, or for a consumer of `streams` its multi-stream lease key. */
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

/** What `processRecord` gets beside the record. */
export interface RecordContext extends ShardStream {
  shardId: string;
  /**
   * Aborted when the shard stops on this worker: its lease was lost, or the worker is stopping or
   * handing the shard over. Pass it to your I/O; a record that throws because of it is not
   * checkpointed (the next owner gets it again).
   */
  signal: AbortSignal;
  /** 1 for the first call of this record, 2 for its first retry, and so on. */
  attempt: number;
}

/** Why a shard's processing stops without the shard ending. */
export type ShutdownReason = 'stop' | 'handoff' | 'stall-restart';

/**
 * The application's side, one object for every shard (the shard id is in each call). One of
 * `processRecords` (a batch at a time) or `processRecord` (a record at a time; required with
 * `maxConcurrencyPerShard` above 1) is required.
 */
export interface ShardProcessor {
  /** Before the first batch of a shard this worker took. */
  initialize?(
    input: {
      shardId: string;
      checkpoint: ExtendedSequence | string;
    } & ShardStream,
  ): void | Promise<void>;
  /**
   * A batch, in shard order. Resolve when it is processed; throwing retries it (see
   * `onProcessorError`, and `retryBudget` / `deadLetter`). Used when present and
   * `maxConcurrencyPerShard` is 1.
   */
  processRecords?(batch: RecordBatch, checkpointer: Checkpointer): void | Promise<void>;
  /**
   * One record. With `maxConcurrencyPerShard` N > 1, up to N records of a shard run at once, but
   * records with the same partition key strictly one after another, in sequence order. Throwing
   * retries that record (its key waits; other keys go on). Used when `processRecords` is absent,
   * or when `maxConcurrencyPerShard` is above 1.
   */
  processRecord?(record: ConsumerRecord, context: RecordContext): void | Promise<void>;
  /** The lease went to another worker: stop touching the shard. Checkpointing is no longer possible. */
  leaseLost?(input: { shardId: string } & ShardStream): void | Promise<void>;
  /**
   * The shard was read to its end (split or merge). Checkpoint with `checkpointer.checkpoint()`
   * (it writes SHARD_END here); if you forget, the consumer writes SHARD_END itself and logs a
   * warning, since children cannot start before it.
   */
  shardEnded?(
    input: { shardId: string; childShardIds: string[] } & ShardStream,
    checkpointer: Checkpointer,
  ): void | Promise<void>;
  /** The worker is stopping, or handing the shard to another worker: last chance to checkpoint. */
  shutdownRequested?(
    input: { shardId: string; reason: ShutdownReason } & ShardStream,
    checkpointer: Checkpointer,
  ): void | Promise<void>;
}

import { ShardlineError } from '@shardline/aggregation';

export {
  ConfigError,
  CorruptAggregateError,
  CompressionError,
  ShardlineError,
} from '@shardline/aggregation';

/** The lease on a shard went to another worker (or was deleted) while this worker held it. */
export class LeaseLostError extends ShardlineError {
  constructor(
    readonly shardId: string,
    detail = '',
  ) {
    super(
      'LEASE_LOST',
      `lease on ${shardId} is no longer held by this worker${detail ? `: ${detail}` : ''}`,
    );
  }
}

/** The lease table exists with a key schema the consumer cannot use. */
export class LeaseTableError extends ShardlineError {
  constructor(message: string) {
    super('LEASE_TABLE_INVALID', message);
  }
}

/** A checkpoint that cannot be written: wrong shard, going backwards, after the lease was lost. */
export class CheckpointError extends ShardlineError {}

/** Reading a shard failed in a way retrying will not fix. */
export class RetrievalError extends ShardlineError {
  constructor(
    readonly shardId: string,
    readonly serviceCode: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('RETRIEVAL_FAILED', `reading ${shardId} failed: ${serviceCode}: ${message}`, options);
  }
}

/** A record that could not be decoded (corrupt aggregate, bad compression envelope), handed to `onPoisonRecord`. */
export class PoisonRecordError extends ShardlineError {
  constructor(
    readonly shardId: string,
    readonly sequenceNumber: string,
    cause: ShardlineError,
  ) {
    super(
      'POISON_RECORD',
      `record ${sequenceNumber} on ${shardId} cannot be decoded: ${cause.message}`,
      { cause },
    );
  }
}

/**
 * The lease table is shared with (or was left by) Java KCL workers in a way Shardline cannot
 * join safely. `code`: `KCL_NATIVE_MODE` (KCL 3 workers assign leases through their leader and
 * worker metrics), `KCL_MULTI_STREAM` (a multi-stream table, of a KCL multi-stream application
 * or a Shardline consumer of `streams`, opened by a consumer of one `streamName`/`streamArn`:
 * create the consumer with `streams` to continue from it), `SINGLE_STREAM_TABLE` (a table keyed
 * by bare shard ids opened by a consumer of `streams`, which could not tell the leases' stream),
 * or `KCL_AT_TIMESTAMP_UNKNOWN` (a lease checkpointed at `AT_TIMESTAMP`, and no timestamp given).
 * The message says what to do. See MIGRATING-FROM-KCL.md.
 */
export class KclCompatibilityError extends ShardlineError {
  constructor(
    code:
      | 'KCL_NATIVE_MODE'
      | 'KCL_MULTI_STREAM'
      | 'SINGLE_STREAM_TABLE'
      | 'KCL_AT_TIMESTAMP_UNKNOWN',
    readonly tableName: string,
    message: string,
  ) {
    super(code, message);
  }
}

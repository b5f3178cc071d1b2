import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { isSentinel } from '../checkpoint/sequence';
import type { Lease } from '../leases/lease';
import { decodeRecords } from '../record-decoder';
import { toRawRecord } from '../retrieval/from-sdk';
import type { RawKinesisRecord, StartPosition } from '../retrieval/types';
import type { CheckpointPosition, ResolvedTarget } from './rewind-plan';

/** The stream a lease table's shards belong to, by name or ARN. */
export interface StreamRef {
  streamName?: string | undefined;
  streamArn?: string | undefined;
}

/** What one look at a shard from a position found. */
export type ProbeResult =
  | {
      kind: 'record';
      sequenceNumber: string;
      arrival: Date | undefined;
      millisBehindLatest: number | undefined;
      record: RawKinesisRecord;
    }
  /** Read to the tip of an open shard: nothing at or after the position yet. */
  | { kind: 'caught-up' }
  /** A closed shard read to its end: nothing at or after the position, ever. */
  | { kind: 'shard-ended' }
  /** The stream has no such shard (trimmed past retention, or another stream). */
  | { kind: 'not-found' };

/**
 * Reads at most one record of a shard from `position`. GetRecords may return nothing from a part
 * of a shard with no data while records lie further on, so empty reads are followed (at most
 * `maxReads`) until a record, the tip (`MillisBehindLatest` 0) or the end of a closed shard. Each
 * read counts against the shard's 5 reads per second, shared with the application's workers.
 */
export async function probeShard(
  client: KinesisClient,
  stream: StreamRef,
  shardId: string,
  position: StartPosition,
  signal?: AbortSignal,
  maxReads = 20,
): Promise<ProbeResult> {
  const opts = signal ? { abortSignal: signal } : {};
  const input: GetShardIteratorCommandInput = {
    ...(stream.streamName ? { StreamName: stream.streamName } : {}),
    ...(stream.streamArn ? { StreamARN: stream.streamArn } : {}),
    ShardId: shardId,
    ShardIteratorType: position.type,
    ...('sequenceNumber' in position ? { StartingSequenceNumber: position.sequenceNumber } : {}),
    ...('timestamp' in position ? { Timestamp: position.timestamp } : {}),
  };
  let iterator: string | undefined;
  try {
    iterator = (await client.send(new GetShardIteratorCommand(input), opts)).ShardIterator;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return { kind: 'not-found' };
    throw error;
  }
  for (let read = 0; read < maxReads && iterator; read++) {
    const out = await client.send(
      new GetRecordsCommand({
        ShardIterator: iterator,
        Limit: 1,
        ...(stream.streamArn ? { StreamARN: stream.streamArn } : {}),
      }),
      opts,
    );
    const record = out.Records?.[0];
    if (record)
      return {
        kind: 'record',
        sequenceNumber: record.SequenceNumber!,
        arrival: record.ApproximateArrivalTimestamp,
        millisBehindLatest: out.MillisBehindLatest,
        record: toRawRecord(record),
      };
    iterator = out.NextShardIterator;
    if (iterator && out.MillisBehindLatest === 0) return { kind: 'caught-up' };
  }
  if (!iterator) return { kind: 'shard-ended' };
  // Still empty reads behind the tip after maxReads: say so rather than guess.
  throw new Error(`${shardId}: no record and not at the tip after ${maxReads} reads`);
}

const NO_SUCH_SHARD = 'the stream has no such shard (expired, or another stream)';

/** The lag of a lease's checkpoint behind its shard, as `listLeases` reports it. */
export type ShardLag =
  | {
      available: true;
      /** True when at least one record lies after the checkpoint. */
      pendingRecords: boolean;
      /** Age of the first record after the checkpoint (now − its arrival time); 0 when none. */
      oldestUnprocessedAgeMillis: number;
      /** What GetRecords reported reading one record after the checkpoint; 0 when none is pending. */
      millisBehindLatest: number | undefined;
    }
  | { available: false; reason: string };

/** Where the application's next owner reads after a checkpoint: the reader's start position. */
export function resumePosition(p: CheckpointPosition): StartPosition | 'SHARD_END' | undefined {
  if (!isSentinel(p.checkpoint))
    // Inside an aggregate (sub > 0), or before a record (sub -1), the record itself is read again.
    return p.checkpointSubSequenceNumber === 0
      ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: p.checkpoint }
      : { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: p.checkpoint };
  if (p.checkpoint === 'TRIM_HORIZON') return { type: 'TRIM_HORIZON' };
  if (p.checkpoint === 'LATEST') return { type: 'LATEST' };
  if (p.checkpoint === 'SHARD_END') return 'SHARD_END';
  return undefined; // AT_TIMESTAMP: the timestamp is the workers' configuration, not the lease's
}

/**
 * A lease's lag, from one look at the first record after its checkpoint. A checkpoint inside an
 * aggregate is judged as the consumer resumes: the aggregate is decoded, and only if user records
 * remain after the checkpoint is it pending (else the next record is looked at).
 */
export async function leaseLag(
  client: KinesisClient,
  stream: StreamRef,
  lease: Lease,
  now: () => number,
  signal?: AbortSignal,
): Promise<ShardLag> {
  const position = resumePosition(lease);
  if (position === undefined)
    return {
      available: false,
      reason: 'AT_TIMESTAMP checkpoint: its timestamp is in the workers’ configuration',
    };
  const none = {
    available: true,
    pendingRecords: false,
    oldestUnprocessedAgeMillis: 0,
    millisBehindLatest: 0,
  } as const;
  // A finished shard has nothing left; LATEST means a worker will start at the tip, whenever.
  if (position === 'SHARD_END' || position.type === 'LATEST') return none;
  let found = await probeShard(client, stream, lease.leaseKey, position, signal);
  if (
    found.kind === 'record' &&
    position.type === 'AT_SEQUENCE_NUMBER' &&
    found.sequenceNumber === lease.checkpoint &&
    decodeRecords([found.record], {
      shardId: lease.leaseKey,
      after: {
        sequenceNumber: lease.checkpoint,
        subSequenceNumber: lease.checkpointSubSequenceNumber,
      },
    }).records.length === 0
  ) {
    // The checkpoint is the aggregate's last user record: nothing of it is pending.
    const after = { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: lease.checkpoint } as const;
    found = await probeShard(client, stream, lease.leaseKey, after, signal);
  }
  if (found.kind === 'not-found') return { available: false, reason: NO_SUCH_SHARD };
  if (found.kind !== 'record') return none;
  return {
    available: true,
    pendingRecords: true,
    oldestUnprocessedAgeMillis: found.arrival ? Math.max(0, now() - found.arrival.getTime()) : 0,
    millisBehindLatest: found.millisBehindLatest,
  };
}

/**
 * Where a rewind to `timestamp` puts a shard: just before the first record that arrived at or after
 * it (sub-sequence -1, so that record is read again); `SHARD_END` for a closed shard with none;
 * `TRIM_HORIZON` for an empty open shard; `LATEST` for an open shard whose records all came
 * before it (no position "after the last record" exists to write; a record arriving before a
 * worker reads the shard is skipped, as with the KCL's LATEST).
 */
export async function timestampTarget(
  client: KinesisClient,
  stream: StreamRef,
  shardId: string,
  timestamp: Date,
  signal?: AbortSignal,
): Promise<ResolvedTarget> {
  const at = await probeShard(client, stream, shardId, { type: 'AT_TIMESTAMP', timestamp }, signal);
  const before = (sequenceNumber: string): CheckpointPosition => ({
    checkpoint: sequenceNumber,
    checkpointSubSequenceNumber: -1,
  });
  if (at.kind === 'record') return before(at.sequenceNumber);
  if (at.kind === 'caught-up') {
    const first = await probeShard(client, stream, shardId, { type: 'TRIM_HORIZON' }, signal);
    if (first.kind !== 'record') return timestampTargetOf(first);
    // A record that arrived between the two reads is at or after the timestamp: start there.
    if (first.arrival && first.arrival >= timestamp) return before(first.sequenceNumber);
    return { checkpoint: 'LATEST', checkpointSubSequenceNumber: 0 };
  }
  return timestampTargetOf(at);
}

/** A shard with no record at or after the timestamp: its end, its start, or left alone. */
function timestampTargetOf(found: Exclude<ProbeResult, { kind: 'record' }>): ResolvedTarget {
  if (found.kind === 'shard-ended')
    return { checkpoint: 'SHARD_END', checkpointSubSequenceNumber: 0 };
  if (found.kind === 'not-found') return { skip: NO_SUCH_SHARD };
  return { checkpoint: 'TRIM_HORIZON', checkpointSubSequenceNumber: 0 }; // an empty open shard
}

import { decodeEventRecord, type DecodedItem } from './decode';
import { RecordFailure, UnknownRecordError } from './errors';
import type { ShardRecords } from './event';
import type { ResolvedOptions } from './options';
import type { KinesisUserRecord } from './types';
import { runKeyOrdered } from '../processing/key-ordered-runner';

/** Lets a batch handler name the user records that failed, without throwing. */
export interface BatchControl {
  /** Shard of this batch. */
  readonly shardId: string;
  readonly eventSourceARN: string;
  /**
   * Marks a user record of this batch as failed. The earliest failed record of the shard wins:
   * its Kinesis record is reported, and Lambda retries from it. Throws `UnknownRecordError` for a
   * record that is not in this batch.
   */
  fail(record: KinesisUserRecord, error?: unknown): void;
}

/**
 * Handler of one shard's user records, in order. Say which record failed by throwing
 * `RecordFailure(record)` or calling `batch.fail(record)`; any other throw fails the first record.
 */
export type BatchHandler<C extends object> = (
  records: readonly KinesisUserRecord[],
  context: C,
  batch: BatchControl,
) => unknown;

/** Handler of one user record; a throw fails that record and stops its shard for this invocation. */
export type RecordHandler<C extends object> = (record: KinesisUserRecord, context: C) => unknown;

/**
 * Hands a poison item to the hook. True when the record may be skipped; false when the hook
 * threw, so the Kinesis record must be reported failed rather than lost.
 */
async function settlePoison<C extends object>(
  item: Extract<DecodedItem, { kind: 'poison' }>,
  context: C,
  o: ResolvedOptions<C>,
): Promise<boolean> {
  const where = {
    shardId: item.record.shardId,
    sequenceNumber: item.record.sequenceNumber,
    subSequenceNumber: item.record.subSequenceNumber,
  };
  const code = (item.error.cause as { code?: string } | undefined)?.code ?? item.error.code;
  if (!o.onPoisonRecord) {
    o.logger.error(
      { ...where, code, reason: item.error.message },
      'poison record skipped (no onPoisonRecord hook)',
    );
    return true;
  }
  try {
    await o.onPoisonRecord(item.error, item.record, context);
    o.logger.warn({ ...where, code }, 'poison record handed to onPoisonRecord and skipped');
    return true;
  } catch (err) {
    o.logger.error(
      { ...where, code, err },
      'onPoisonRecord threw; reporting the Kinesis record as failed',
    );
    return false;
  }
}

/** The invocation's remaining-time guard: no record starts while `remaining()` is below `threshold`. */
export interface TimeGuard {
  remaining: () => number;
  threshold: number;
}

/** One decoded item of the shard, numbered in batch order. */
interface Task {
  index: number;
  item: DecodedItem;
  /** Records of one key run one after another; poison hooks share a key of their own. */
  key: string | symbol;
}

// Poison hooks run in shard order, one at a time, as they did before parallelism.
const POISON_LANE = Symbol('poison');

/**
 * Runs the per-record handler over one shard; returns the sequence number to report, if any.
 *
 * Up to `o.maxConcurrency` items run at once, never two of one partition key. Once a record fails
 * or the time guard trips, nothing more is started; the running ones are awaited, and the Kinesis
 * record of the first item in batch order that did not complete is reported: Lambda retries from
 * the lowest reported sequence number, so reporting anything later would lose that item.
 */
export async function runShardPerRecord<C extends object>(
  shard: ShardRecords,
  handler: RecordHandler<C>,
  context: C,
  o: ResolvedOptions<C>,
  guard?: TimeGuard,
): Promise<string | undefined> {
  // Decoded one Kinesis record at a time, as slots free up: after a failure the rest of the shard
  // is never decoded.
  function* items(): Generator<DecodedItem> {
    for (const event of shard.records) yield* decodeEventRecord(event, shard.shardId, o);
  }
  const source = items();
  let pulled = 0;
  const pull = (): Task | undefined => {
    const next = source.next();
    if (next.done) return undefined;
    const item = next.value;
    const key = item.kind === 'poison' ? POISON_LANE : item.record.partitionKey;
    return { index: pulled++, item, key };
  };

  let stopped = false;
  let firstFailed: Task | undefined;

  const fail = (t: Task): void => {
    stopped = true;
    if (!firstFailed || t.index < firstFailed.index) firstFailed = t;
  };

  const execute = async (t: Task): Promise<void> => {
    if (t.item.kind === 'poison') {
      if (!(await settlePoison(t.item, context, o))) fail(t);
      return;
    }
    const r = t.item.record;
    try {
      await handler(r, context);
    } catch (err) {
      o.logger.error(
        {
          shardId: r.shardId,
          sequenceNumber: r.sequenceNumber,
          subSequenceNumber: r.subSequenceNumber,
          err,
        },
        'record handler failed; Lambda will retry the shard from this Kinesis record',
      );
      fail(t);
    }
  };

  const { notStarted } = await runKeyOrdered<Task>({
    maxConcurrency: o.maxConcurrency,
    pull,
    keyOf: (t) => t.key,
    execute,
    halted: () => stopped,
    admit: (t) => {
      if (!guard || guard.remaining() >= guard.threshold) return true;
      // Kept as not started, so the report below starts from it.
      stopped = true;
      o.logger.warn(
        {
          shardId: shard.shardId,
          sequenceNumber: t.item.record.sequenceNumber,
          remainingMillis: guard.remaining(),
          thresholdMillis: guard.threshold,
        },
        'remaining time under the guard; reporting the rest of the shard as failed',
      );
      return false;
    },
    // Only a throwing logger gets here; the record counts as failed rather than lost.
    onRejected: (t) => fail(t),
  });

  // The first item in batch order that did not complete: a failed one, a waiting one, or (after
  // the guard stopped the shard with nothing waiting) the next one not yet decoded.
  let report = firstFailed;
  const firstWaiting = notStarted[0];
  if (firstWaiting && (!report || firstWaiting.index < report.index)) report = firstWaiting;
  if (!report && stopped) report = pull();
  return report?.item.record.sequenceNumber;
}

/** Runs the batch handler over one shard; returns the sequence number to report, if any. */
export async function runShardBatch<C extends object>(
  shard: ShardRecords,
  handler: BatchHandler<C>,
  context: C,
  o: ResolvedOptions<C>,
): Promise<string | undefined> {
  const records: KinesisUserRecord[] = [];
  let stoppedAt: string | undefined;
  // Poison hooks run first, in shard order; a hook that throws cuts the batch before its Kinesis
  // record, so the handler never sees records Lambda will deliver again.
  outer: for (const event of shard.records) {
    const items = decodeEventRecord(event, shard.shardId, o);
    const good: KinesisUserRecord[] = [];
    for (const item of items) {
      if (item.kind === 'record') good.push(item.record);
      else if (!(await settlePoison(item, context, o))) {
        stoppedAt = item.record.sequenceNumber;
        break outer;
      }
    }
    for (const r of good) records.push(r);
  }
  if (records.length === 0) return stoppedAt;

  // Built on the first failure only: a batch that succeeds pays nothing for it.
  let positions: Map<string, number> | undefined;
  const indexOf = (record: KinesisUserRecord): number | undefined => {
    if (!record || typeof record !== 'object' || record.shardId !== shard.shardId) return undefined;
    if (!positions) {
      positions = new Map();
      for (let i = 0; i < records.length; i++) positions.set(positionKey(records[i]!), i);
    }
    return positions.get(positionKey(record));
  };

  let firstFailed = Infinity;
  let settled = false;
  const batch: BatchControl = {
    shardId: shard.shardId,
    eventSourceARN: shard.eventSourceARN,
    fail(record, error) {
      const index = indexOf(record);
      if (index === undefined) {
        throw new UnknownRecordError(
          `batch.fail() was given a record that is not in the batch of ${shard.shardId}`,
        );
      }
      if (settled) {
        o.logger.warn(
          { shardId: shard.shardId, sequenceNumber: record.sequenceNumber },
          'batch.fail() called after the handler finished; ignored',
        );
        return;
      }
      o.logger.error(
        {
          shardId: shard.shardId,
          sequenceNumber: record.sequenceNumber,
          subSequenceNumber: record.subSequenceNumber,
          err: error,
        },
        'record marked failed',
      );
      firstFailed = Math.min(firstFailed, index);
    },
  };

  try {
    await handler(records, context, batch);
  } catch (err) {
    const index = err instanceof RecordFailure ? indexOf(err.record) : undefined;
    if (err instanceof RecordFailure && index === undefined) {
      o.logger.error(
        { shardId: shard.shardId, err },
        'RecordFailure names a record not in this batch; failing the whole batch',
      );
    } else {
      o.logger.error(
        { shardId: shard.shardId, err },
        err instanceof RecordFailure
          ? 'record failed'
          : 'batch handler threw; failing the batch from its first record',
      );
    }
    firstFailed = Math.min(firstFailed, index ?? 0);
  } finally {
    settled = true;
  }
  const failed = records[firstFailed];
  return failed ? failed.sequenceNumber : stoppedAt;
}

function positionKey(r: KinesisUserRecord): string {
  return `${r.sequenceNumber}/${r.subSequenceNumber}`;
}

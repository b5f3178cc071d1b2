import type { PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import { KinesisRejectedError, RecordThrottledError } from './errors';
import type { KinesisRecord } from './kinesis-record';
import type { MetricEvent } from './metrics';
import type { Attempt } from './outcome';
import {
  classifyEntryError,
  classifyError,
  errorCode,
  fullJitterDelay,
  type ErrorClass,
} from './retry-policy';
import type { CallResult } from './sender';
import type { ShardRanges } from './shard-map';
import type { PendingRecord } from './user-record';

/** What to do with one Kinesis record after its PutRecords entry result. */
export type EntryDecision =
  | { kind: 'success'; record: KinesisRecord; shardId: string; sequenceNumber: string }
  /** Landed on another shard than predicted: a single record still succeeded; an aggregate must be re-sent. */
  | { kind: 'wrong-shard'; record: KinesisRecord; shardId: string; sequenceNumber: string }
  | { kind: 'failed'; record: KinesisRecord; code: string; message: string; class: ErrorClass };

/**
 * Pure: pairs each entry of a PutRecords call with its result. An aggregate that lands on a shard
 * other than the one its records hash into is unreadable by the KCL (it drops aggregates whose
 * records hash outside the shard), so it is reported for re-aggregation rather than success.
 */
export function decideEntries(
  batch: readonly KinesisRecord[],
  results: readonly PutRecordsResultEntry[],
): EntryDecision[] {
  if (results.length !== batch.length) {
    throw new Error(`PutRecords answered ${results.length} results for ${batch.length} entries`);
  }
  return batch.map((record, i) => {
    const result = results[i]!;
    if (result.ErrorCode) {
      return {
        kind: 'failed',
        record,
        code: result.ErrorCode,
        message: result.ErrorMessage ?? '',
        class: classifyEntryError(result.ErrorCode),
      };
    }
    if (!result.ShardId || !result.SequenceNumber) {
      return {
        kind: 'failed',
        record,
        code: 'MalformedResponse',
        message: 'result entry has neither an error nor a sequence number',
        class: 'retryable',
      };
    }
    if (result.ShardId !== record.shardId) {
      return {
        kind: 'wrong-shard',
        record,
        shardId: result.ShardId,
        sequenceNumber: result.SequenceNumber,
      };
    }
    return {
      kind: 'success',
      record,
      shardId: result.ShardId,
      sequenceNumber: result.SequenceNumber,
    };
  });
}

/** What the retrier needs from the rest of the pipeline. */
export interface RetrierHooks {
  /** Every user record of `record` is in, at `shardId`/`sequenceNumber`. */
  succeed(record: KinesisRecord, shardId: string, sequenceNumber: string, success: Attempt): void;
  /** A user record's final failure. */
  fail(record: PendingRecord, error: Error & { code?: string }): void;
  /** `record` needs no more sending (its ordering lane may go on). */
  finished(record: KinesisRecord): void;
  /** Sends `record` again after `delayMs`, ahead of what follows it; `reroute`: re-aggregate its records by the fresh map. */
  retry(record: KinesisRecord, delayMs: number, reroute: boolean): void;
  /** The expiry's verdict on a record whose request came back (true: it has failed as expired). */
  expireIfDue(record: PendingRecord): boolean;
  /** Refreshes the shard map unless it was fetched after `staleSince`; resolves to it (undefined if the refresh failed). */
  refreshMap(staleSince: number): Promise<ShardRanges | undefined>;
  metric(event: MetricEvent): void;
  logger: Logger;
}

export interface RetrierOptions {
  failIfThrottled: boolean;
  retries: number;
  retryMinTimeout: number;
  retryMaxTimeout: number;
}

/**
 * The one retry path: every PutRecords result comes here, whole-call failures and per-entry
 * failures alike, and each Kinesis record ends in exactly one of: delivered (outcome), failed for
 * good (outcome: a fatal service error, `failIfThrottled`, or its TTL), or sent again after a
 * jittered backoff, ahead of whatever followed it in its lane.
 */
export class Retrier {
  constructor(
    private readonly options: RetrierOptions,
    private readonly hooks: RetrierHooks,
  ) {}

  handle(batch: KinesisRecord[], result: CallResult): void {
    const { startedAt, durationMs } = result;
    if (!result.ok) {
      const error = result.error;
      const code = errorCode(error);
      const cls = classifyError(code, error);
      this.hooks.metric({ type: 'putRecordsError', code, willRetry: cls !== 'fatal' });
      this.hooks.logger.debug({ code, entries: batch.length }, 'PutRecords failed');
      if (cls === 'fatal')
        this.hooks.logger.warn(
          { code, entries: batch.length },
          'PutRecords rejected; failing its records',
        );
      const attempt: Attempt = {
        startedAt,
        durationMs,
        success: false,
        errorCode: code,
        errorMessage: messageOf(error),
      };
      for (const e of batch) this.failed(e, attempt, cls, error);
      return;
    }
    const out = result.out;
    let decisions: EntryDecision[];
    try {
      decisions = decideEntries(batch, out.Records ?? []);
    } catch (error) {
      this.hooks.logger.warn({ err: error }, 'malformed PutRecords response; retrying its records');
      const attempt: Attempt = {
        startedAt,
        durationMs,
        success: false,
        errorCode: 'MalformedResponse',
        errorMessage: messageOf(error),
      };
      for (const e of batch) this.failed(e, attempt, 'retryable');
      return;
    }
    this.hooks.metric({
      type: 'putRecordsCall',
      entries: batch.length,
      bytes: batch.reduce((n, e) => n + e.bytes, 0),
      durationMs,
      failedEntries: out.FailedRecordCount ?? 0,
    });
    const success: Attempt = { startedAt, durationMs, success: true };
    const misplaced: Extract<EntryDecision, { kind: 'wrong-shard' }>[] = [];
    let staleMap = false;
    for (const d of decisions) {
      const e = d.record;
      if (d.kind === 'success' || (d.kind === 'wrong-shard' && !e.aggregated)) {
        // A single record is read wherever it landed: only an aggregate can be misplaced.
        if (d.kind === 'wrong-shard') staleMap = true;
        this.delivered(e, d.shardId, d.sequenceNumber, success);
      } else if (d.kind === 'wrong-shard') {
        staleMap = true;
        misplaced.push(d);
      } else {
        if (d.class !== 'fatal' && !(d.class === 'throttle' && this.options.failIfThrottled))
          this.hooks.metric({ type: 'entryRetry', shardId: e.shardId, code: d.code });
        this.failed(
          e,
          { startedAt, durationMs, success: false, errorCode: d.code, errorMessage: d.message },
          d.class,
        );
      }
    }
    if (!staleMap) return;
    void this.hooks.refreshMap(startedAt).then((ranges) => {
      for (const m of misplaced) this.settleMisplaced(m, ranges?.range(m.shardId), success);
    });
  }

  private delivered(e: KinesisRecord, shardId: string, sequenceNumber: string, success: Attempt) {
    this.hooks.metric({
      type: 'kinesisRecordSent',
      shardId,
      userRecords: e.records.length,
      bytes: e.bytes,
    });
    this.hooks.succeed(e, shardId, sequenceNumber, success);
    this.hooks.finished(e);
  }

  private failed(e: KinesisRecord, attempt: Attempt, cls: ErrorClass, cause?: unknown): void {
    for (const r of e.records) if (!r.settled) r.addAttempt(attempt);
    if (cls === 'throttle') this.hooks.metric({ type: 'throttle', shardId: e.shardId });
    if (cls === 'fatal') {
      const code = attempt.errorCode!;
      for (const r of e.records)
        this.hooks.fail(
          r,
          new KinesisRejectedError(code, attempt.errorMessage ?? '', r.attempts, { cause }),
        );
      this.hooks.finished(e);
    } else if (cls === 'throttle' && this.options.failIfThrottled) {
      for (const r of e.records) this.hooks.fail(r, new RecordThrottledError(r.attempts));
      this.hooks.finished(e);
    } else this.again(e, false);
  }

  /**
   * An aggregate landed on another shard than predicted (the map was stale: resharding). If every
   * record in it hashes into the shard it landed on, a KCL reads it there: success. Otherwise the
   * KCL drops the whole aggregate, so its records go again, re-aggregated with the fresh map.
   */
  private settleMisplaced(
    m: Extract<EntryDecision, { kind: 'wrong-shard' }>,
    landed: { start: bigint; end: bigint } | undefined,
    success: Attempt,
  ): void {
    const e = m.record;
    if (landed && e.records.every((r) => landed.start <= r.hashKey && r.hashKey <= landed.end)) {
      this.delivered(e, m.shardId, m.sequenceNumber, success);
      return;
    }
    const attempt: Attempt = {
      startedAt: success.startedAt,
      durationMs: success.durationMs,
      success: false,
      errorCode: 'WrongShard',
      errorMessage: `aggregate predicted for ${e.shardId} landed on ${m.shardId}, where some of its records do not belong`,
    };
    for (const r of e.records) if (!r.settled) r.addAttempt(attempt);
    this.again(e, true);
  }

  /** Retries `e` after a backoff, unless every record in it has expired meanwhile. */
  private again(e: KinesisRecord, reroute: boolean): void {
    let live = 0;
    let attempts = 0;
    for (const r of e.records) {
      if (this.hooks.expireIfDue(r)) continue;
      live++;
      attempts = Math.max(attempts, r.attempts.length);
    }
    if (live === 0) {
      this.hooks.finished(e);
      return;
    }
    const o = this.options;
    this.hooks.retry(
      e,
      fullJitterDelay(Math.min(attempts, o.retries + 1), o.retryMinTimeout, o.retryMaxTimeout),
      reroute,
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

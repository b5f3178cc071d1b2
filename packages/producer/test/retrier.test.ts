import type { PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { KinesisRejectedError, RecordThrottledError } from '../src/errors';
import type { KinesisRecord } from '../src/kinesis-record';
import { decideEntries, Retrier, type RetrierOptions } from '../src/retrier';
import type { CallResult } from '../src/sender';
import { ShardRanges } from '../src/shard-map';
import { kinesisRecord, userRecord } from './stage-fixtures';

const OPTIONS: RetrierOptions = {
  failIfThrottled: false,
  retries: 10,
  retryMinTimeout: 100,
  retryMaxTimeout: 5000,
};

/** A retrier whose hooks record what it decided. */
function retrier(options: Partial<RetrierOptions> = {}, expired = new Set<unknown>()) {
  const log = {
    succeeded: [] as { record: KinesisRecord; shardId: string; sequenceNumber: string }[],
    failed: [] as { data: string; error: Error }[],
    finished: [] as KinesisRecord[],
    retried: [] as { record: KinesisRecord; delayMs: number; reroute: boolean }[],
    refreshes: 0,
  };
  let ranges: ShardRanges | undefined;
  const r = new Retrier(
    { ...OPTIONS, ...options },
    {
      succeed: (record, shardId, sequenceNumber) =>
        log.succeeded.push({ record, shardId, sequenceNumber }),
      fail: (record, error) =>
        log.failed.push({ data: Buffer.from(record.data).toString(), error }),
      finished: (record) => log.finished.push(record),
      retry: (record, delayMs, reroute) => log.retried.push({ record, delayMs, reroute }),
      expireIfDue: (record) => expired.has(record),
      refreshMap: () => {
        log.refreshes++;
        return Promise.resolve(ranges);
      },
      metric: () => {},
      logger: pino({ level: 'silent' }),
    },
  );
  return { r, log, setRanges: (shards: ShardRanges) => (ranges = shards) };
}

function answered(records: PutRecordsCommandOutput['Records']): CallResult {
  return {
    ok: true,
    out: { Records: records, FailedRecordCount: 0, $metadata: {} },
    startedAt: 1,
    durationMs: 2,
  };
}

function failedCall(name: string, status?: number): CallResult {
  const error = Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  return { ok: false, error, startedAt: 1, durationMs: 2 };
}

describe('decideEntries', () => {
  it('pairs entries with results: success, failure by class, wrong shard, malformed', () => {
    const a = kinesisRecord('A', [userRecord('k')]);
    const decisions = decideEntries(
      [a, a, a, a, a],
      [
        { ShardId: 'A', SequenceNumber: '1' },
        { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' },
        { ErrorCode: 'KMSAccessDeniedException' },
        { ShardId: 'B', SequenceNumber: '2' },
        {},
      ],
    );
    expect(decisions.map((d) => (d.kind === 'failed' ? `${d.kind}:${d.class}` : d.kind))).toEqual([
      'success',
      'failed:throttle',
      'failed:fatal',
      'wrong-shard',
      'failed:retryable',
    ]);
    expect(() => decideEntries([a, a], [{ ShardId: 'A', SequenceNumber: '1' }])).toThrow(
      /1 results for 2/,
    );
  });
});

describe('Retrier', () => {
  it('succeeds delivered records and releases their lane', () => {
    const { r, log } = retrier();
    const a = kinesisRecord('A', [userRecord('k')]);
    r.handle([a], answered([{ ShardId: 'A', SequenceNumber: '7' }]));
    expect(log.succeeded).toEqual([{ record: a, shardId: 'A', sequenceNumber: '7' }]);
    expect(log.finished).toEqual([a]);
  });

  it('a whole call throttled, 5xx or reset: every entry retried after a backoff, its attempt recorded', () => {
    for (const result of [
      failedCall('ProvisionedThroughputExceededException', 400),
      failedCall('InternalFailure', 500),
      failedCall('ECONNRESET'),
    ]) {
      const { r, log } = retrier();
      const a = kinesisRecord('A', [userRecord('k')]);
      const b = kinesisRecord('B', [userRecord('j')]);
      r.handle([a, b], result);
      expect(log.retried.map((x) => x.record)).toEqual([a, b]);
      expect(log.retried.every((x) => x.delayMs >= 0 && x.delayMs <= 200 && !x.reroute)).toBe(true);
      expect(a.records[0]!.attempts).toMatchObject([
        { success: false, startedAt: 1, durationMs: 2 },
      ]);
      expect(log.finished).toEqual([]);
    }
  });

  it('a fatal error fails exactly the records of the call, with the service code', () => {
    const { r, log } = retrier();
    const a = kinesisRecord('A', [userRecord('k', 'a1'), userRecord('k', 'a2')]);
    r.handle([a], failedCall('AccessDeniedException', 400));
    expect(log.failed.map((f) => f.data)).toEqual(['a1', 'a2']);
    expect(log.failed[0]!.error).toBeInstanceOf(KinesisRejectedError);
    expect((log.failed[0]!.error as KinesisRejectedError).serviceCode).toBe(
      'AccessDeniedException',
    );
    expect(log.finished).toEqual([a]);
    expect(log.retried).toEqual([]);
  });

  it('failIfThrottled fails throttled entries at once; other failed entries are retried', () => {
    const { r, log } = retrier({ failIfThrottled: true });
    const a = kinesisRecord('A', [userRecord('k', 'a')]);
    const b = kinesisRecord('B', [userRecord('j', 'b')]);
    r.handle(
      [a, b],
      answered([
        { ErrorCode: 'ProvisionedThroughputExceededException' },
        { ErrorCode: 'InternalFailure' },
      ]),
    );
    expect(log.failed.map((f) => f.data)).toEqual(['a']);
    expect(log.failed[0]!.error).toBeInstanceOf(RecordThrottledError);
    expect(log.retried.map((x) => x.record)).toEqual([b]);
  });

  it('a record whose TTL passed while its request was out expires instead of being retried', () => {
    const gone = userRecord('k', 'gone');
    const { r, log } = retrier({}, new Set([gone]));
    const a = kinesisRecord('A', [gone]);
    r.handle([a], answered([{ ErrorCode: 'InternalFailure' }]));
    expect(log.retried).toEqual([]);
    expect(log.finished).toEqual([a]);
  });

  it("the backoff grows with a record's attempts, up to the cap", () => {
    const { r, log } = retrier({ retryMinTimeout: 100, retryMaxTimeout: 400 });
    const a = kinesisRecord('A', [userRecord('k')]);
    for (let i = 0; i < 200; i++) r.handle([a], failedCall('InternalFailure', 500));
    expect(Math.max(...log.retried.slice(0, 1).map((x) => x.delayMs))).toBeLessThanOrEqual(100);
    expect(Math.max(...log.retried.map((x) => x.delayMs))).toBeGreaterThan(200);
    expect(Math.max(...log.retried.map((x) => x.delayMs))).toBeLessThanOrEqual(400);
  });

  it('an aggregate on the wrong shard: success if all its records belong there, else routed again', async () => {
    const shards = (ranges: [string, bigint, bigint, boolean][]) =>
      new ShardRanges(
        ranges.map(([id, start, end, closed]) => ({
          ShardId: id,
          HashKeyRange: { StartingHashKey: String(start), EndingHashKey: String(end) },
          SequenceNumberRange: {
            StartingSequenceNumber: '1',
            ...(closed ? { EndingSequenceNumber: '9' } : {}),
          },
        })),
      );
    const map = shards([
      ['P', 0n, 99n, true],
      ['C1', 0n, 49n, false],
      ['C2', 50n, 99n, false],
    ]);
    const fits = kinesisRecord('P', [userRecord('k', 'a', 10n), userRecord('j', 'b', 20n)]);
    const straddles = kinesisRecord('P', [userRecord('k', 'c', 10n), userRecord('m', 'd', 70n)]);
    const { r, log, setRanges } = retrier();
    setRanges(map);
    r.handle(
      [fits, straddles],
      answered([
        { ShardId: 'C1', SequenceNumber: '5' },
        { ShardId: 'C1', SequenceNumber: '6' },
      ]),
    );
    await Promise.resolve();
    expect(log.refreshes).toBe(1);
    expect(log.succeeded.map((s) => s.record)).toEqual([fits]);
    expect(log.retried).toMatchObject([{ record: straddles, reroute: true }]);
    expect(straddles.records[0]!.attempts.at(-1)).toMatchObject({ errorCode: 'WrongShard' });
  });
});

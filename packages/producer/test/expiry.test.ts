import {
  ListShardsCommand,
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsCommandInput,
} from '@aws-sdk/client-kinesis';
import { hashKeyOf } from '@shardline/aggregation';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Expiry } from '../src/expiry';
import { Producer, RecordExpiredError } from '../src/index';
import { PendingLedger } from '../src/pending-ledger';
import { PendingRecord } from '../src/user-record';

const HALF = 1n << 127n;
const TOP = (1n << 128n) - 1n;

/**
 * A Kinesis client with a scripted shard map: `shards()` says what ListShards answers now, and
 * PutRecords writes every entry to the open shard its hash key falls in (it never sees a gap).
 */
function scriptedClient(
  shards: () => { id: string; start: bigint; end: bigint }[],
  /** Entries to answer with InternalFailure, by their data. */
  failing: (data: string) => boolean = () => false,
) {
  const calls = { ListShards: 0, PutRecords: 0 };
  let sequence = 0;
  const client = {
    send(command: unknown) {
      if (command instanceof ListShardsCommand) {
        calls.ListShards++;
        return Promise.resolve({
          Shards: shards().map((s) => ({
            ShardId: s.id,
            HashKeyRange: { StartingHashKey: s.start.toString(), EndingHashKey: s.end.toString() },
            SequenceNumberRange: { StartingSequenceNumber: '1' },
          })),
        });
      }
      if (command instanceof PutRecordsCommand) {
        calls.PutRecords++;
        const input = command.input as PutRecordsCommandInput;
        return Promise.resolve({
          FailedRecordCount: 0,
          Records: input.Records!.map((r) => {
            if (failing(Buffer.from(r.Data!).toString()))
              return { ErrorCode: 'InternalFailure', ErrorMessage: 'scripted' };
            const hash = hashKeyOf({
              partitionKey: r.PartitionKey!,
              ...(r.ExplicitHashKey ? { explicitHashKey: r.ExplicitHashKey } : {}),
            });
            const shard = shards().find((s) => s.start <= hash && hash <= s.end)!;
            return { ShardId: shard.id, SequenceNumber: String(++sequence) };
          }),
        });
      }
      return Promise.reject(new Error('unexpected command'));
    },
    destroy() {},
  };
  return { client: client as unknown as KinesisClient, calls };
}

describe('the TTL, on every path', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a record in a gap of the shard map fails at recordTtl with RecordExpiredError; the others go on', async () => {
    // Only the lower half of the hash keys has an open shard (mid-resharding, as ListShards can show).
    const { client, calls } = scriptedClient(() => [{ id: 'lower', start: 0n, end: HALF - 1n }]);
    const producer = new Producer({
      streamName: 's',
      kinesisClient: client,
      recordTtl: 1_000,
      recordMaxBufferedTime: 10,
    });
    await producer.start();
    let outcome: unknown;
    void producer.put({ partitionKey: 'k', data: 'x', explicitHashKey: TOP.toString() }).then(
      (r) => (outcome = r),
      (e: unknown) => (outcome = e),
    );
    const fine = producer.put({ partitionKey: 'k', data: 'y', explicitHashKey: '1' });
    await vi.advanceTimersByTimeAsync(50);
    await expect(fine).resolves.toMatchObject({ shardId: 'lower' });
    await vi.advanceTimersByTimeAsync(900);
    expect(outcome).toBeUndefined();
    // It asked for a fresh map while it waited, and was never sent anywhere.
    expect(calls.ListShards).toBeGreaterThan(5);
    await vi.advanceTimersByTimeAsync(100);
    expect(outcome).toBeInstanceOf(RecordExpiredError);
    expect((outcome as RecordExpiredError).attempts).toEqual([]);
    expect(producer.stats()).toMatchObject({ bufferedRecords: 0, recordsFailed: 1 });
    await producer.close();
  });

  it('a record parked on a gap goes out once a refreshed map covers its hash key', async () => {
    let covered = false;
    const { client } = scriptedClient(() =>
      covered
        ? [
            { id: 'lower', start: 0n, end: HALF - 1n },
            { id: 'upper', start: HALF, end: TOP },
          ]
        : [{ id: 'lower', start: 0n, end: HALF - 1n }],
    );
    const producer = new Producer({ streamName: 's', kinesisClient: client, recordTtl: 1_000 });
    await producer.start();
    const put = producer.put({ partitionKey: 'k', data: 'x', explicitHashKey: TOP.toString() });
    await vi.advanceTimersByTimeAsync(300);
    covered = true;
    await vi.advanceTimersByTimeAsync(300);
    await expect(put).resolves.toMatchObject({ shardId: 'upper' });
    await producer.close();
  });
});

describe('a record that expires does not hold back its key', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("the key's next record goes once the failing one has expired, and the failure is the expired one's", async () => {
    const { client } = scriptedClient(
      () => [{ id: 'only', start: 0n, end: TOP }],
      (data) => data === 'first',
    );
    const producer = new Producer({
      streamName: 's',
      kinesisClient: client,
      aggregation: false,
      recordTtl: 1_000,
      recordMaxBufferedTime: 10,
      retry: { minTimeout: 10, maxTimeout: 50 },
    });
    await producer.start();
    const outcomes: Record<string, unknown> = {};
    const put = (data: string) =>
      void producer.put({ partitionKey: 'k', data }).then(
        (r) => (outcomes[data] = r),
        (e: unknown) => (outcomes[data] = e),
      );
    put('first');
    await vi.advanceTimersByTimeAsync(500);
    put('second');
    await vi.advanceTimersByTimeAsync(450);
    // `second` waits behind `first` (one record per key out at a time), within its own TTL.
    expect(outcomes).toEqual({});
    await vi.advanceTimersByTimeAsync(200);
    expect(outcomes.first).toBeInstanceOf(RecordExpiredError);
    const attempts = (outcomes.first as RecordExpiredError).attempts;
    expect(attempts.length).toBeGreaterThan(3);
    expect(attempts.every((a) => a.errorCode === 'InternalFailure')).toBe(true);
    expect(outcomes.second).toMatchObject({ shardId: 'only' });
    await producer.close();
  });
});

describe('Expiry', () => {
  function record(ledger: PendingLedger, acceptedAt: number, ttl: number): PendingRecord {
    const r = new PendingRecord(
      'k',
      undefined,
      new Uint8Array(1),
      0n,
      2,
      acceptedAt,
      acceptedAt + ttl,
      () => {},
      () => {},
    );
    ledger.add(r);
    return r;
  }

  function expiryAt(clock: { now: number }) {
    const ledger = new PendingLedger();
    const timers: { at: number; fn: () => void }[] = [];
    const failed: { record: PendingRecord; error: RecordExpiredError }[] = [];
    const expiry = new Expiry(
      ledger,
      100,
      {
        now: () => clock.now,
        set: (fn, ms) => {
          const timer = { at: clock.now + ms, fn };
          timers.push(timer);
          return timer;
        },
        clear: (handle) => {
          const i = timers.indexOf(handle as (typeof timers)[number]);
          if (i >= 0) timers.splice(i, 1);
        },
      },
      (record, error) => {
        record.fail(error);
        ledger.remove(record);
        failed.push({ record, error });
      },
    );
    /** Runs the timers due by `clock.now`. */
    const run = () => {
      const due = timers.filter((t) => t.at <= clock.now);
      for (const t of due) timers.splice(timers.indexOf(t), 1);
      for (const t of due) t.fn();
    };
    return { ledger, expiry, failed, run, timers };
  }

  it('fails records at their deadline but not one in flight, which is judged when its request returns', () => {
    const clock = { now: 0 };
    const { ledger, expiry, failed, run } = expiryAt(clock);
    const a = record(ledger, 0, 100);
    const b = record(ledger, 10, 100);
    const c = record(ledger, 50, 100);
    expiry.arm();
    b.inFlight = true;
    clock.now = 99;
    run();
    expect(failed).toHaveLength(0);
    clock.now = 110;
    run();
    // a is due; b is due but in flight; c is not due.
    expect(failed.map((f) => f.record)).toEqual([a]);
    expect(failed[0]!.error).toBeInstanceOf(RecordExpiredError);
    b.inFlight = false;
    expect(expiry.expireIfDue(b)).toBe(true);
    expect(expiry.expireIfDue(c)).toBe(false);
    clock.now = 150;
    run();
    expect(failed.map((f) => f.record)).toEqual([a, b, c]);
    expect(ledger.size).toBe(0);
  });

  it('carries the attempts the record made into its error', () => {
    const clock = { now: 0 };
    const { ledger, expiry, failed, run } = expiryAt(clock);
    const r = record(ledger, 0, 100);
    r.addAttempt({ startedAt: 0, durationMs: 5, success: false, errorCode: 'InternalFailure' });
    expiry.arm();
    clock.now = 100;
    run();
    expect(failed[0]!.error.attempts).toEqual([
      { startedAt: 0, durationMs: 5, success: false, errorCode: 'InternalFailure' },
    ]);
    expect(failed[0]!.error.message).toContain('InternalFailure');
  });
});

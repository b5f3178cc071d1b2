import type { KinesisClient } from '@aws-sdk/client-kinesis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Router, PARK_RETRY_MS } from '../src/router';
import { ShardMap, ShardRanges } from '../src/shard-map';
import type { PendingRecord } from '../src/user-record';
import { userRecord } from './stage-fixtures';

/** A shard map whose refreshes answer with `next()` (a scripted ListShards). */
function scriptedMap(next: () => [string, bigint, bigint][]) {
  const map = new ShardMap({} as KinesisClient, { streamName: 's' });
  let refreshes = 0;
  const toRanges = () =>
    new ShardRanges(
      next().map(([id, start, end]) => ({
        ShardId: id,
        HashKeyRange: { StartingHashKey: String(start), EndingHashKey: String(end) },
        SequenceNumberRange: { StartingSequenceNumber: '1' },
      })),
    );
  (map as unknown as { current: ShardRanges }).current = toRanges();
  map.refresh = () => {
    refreshes++;
    const ranges = toRanges();
    (map as unknown as { current: ShardRanges }).current = ranges;
    return Promise.resolve(ranges);
  };
  return { map, refreshes: () => refreshes };
}

describe('Router', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function router(shards: () => [string, bigint, bigint][]) {
    const { map, refreshes } = scriptedMap(shards);
    const routed: PendingRecord[] = [];
    const r = new Router(
      map,
      (record) => routed.push(record),
      (fn, ms) => setTimeout(fn, ms),
      pino({ level: 'silent' }),
    );
    return { r, routed, refreshes };
  }

  it("predicts each record's shard by its hash key", () => {
    const { r, routed } = router(() => [
      ['low', 0n, 49n],
      ['high', 50n, 99n],
    ]);
    const a = userRecord('k', 'a', 10n);
    const b = userRecord('k', 'b', 60n);
    r.route(a);
    r.route(b);
    expect(routed.map((x) => x.predictedShard)).toEqual(['low', 'high']);
  });

  it('parks a record on a gap, asks for the map again, and routes it in order once the map covers it', () => {
    let covered = false;
    const { r, routed, refreshes } = router(() =>
      covered
        ? [
            ['low', 0n, 49n],
            ['high', 50n, 99n],
          ]
        : [['low', 0n, 49n]],
    );
    const first = userRecord('k', 'first', 70n);
    const second = userRecord('k', 'second', 70n);
    const gone = userRecord('k', 'gone', 70n);
    r.route(first);
    r.route(gone);
    r.route(second);
    expect(routed).toEqual([]);
    expect(r.parkedCount).toBe(3);
    vi.advanceTimersByTime(PARK_RETRY_MS * 3);
    expect(refreshes()).toBe(3);
    gone.fail(new Error('expired'));
    covered = true;
    vi.advanceTimersByTime(PARK_RETRY_MS);
    r.mapChanged();
    expect(routed.map((x) => Buffer.from(x.data).toString())).toEqual(['first', 'second']);
    expect(r.parkedCount).toBe(0);
    // Nothing parked: no more refreshes.
    vi.advanceTimersByTime(PARK_RETRY_MS * 5);
    expect(refreshes()).toBe(4);
  });
});

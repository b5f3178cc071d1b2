import { describe, expect, it } from 'vitest';
import type { KinesisRecord } from '../src/kinesis-record';
import { Sequencer, type OrderingMode } from '../src/sequencer';
import type { ShardRange } from '../src/shard-map';
import type { PendingRecord } from '../src/user-record';
import { kinesisRecord, userRecord } from './stage-fixtures';

/** A sequencer whose hooks record what it does; `ranges` is the shard map it sees. */
function sequencer(mode: OrderingMode, ranges: ShardRange[] = []) {
  const forwarded: { record: KinesisRecord; waited: boolean }[] = [];
  const rerouted: PendingRecord[][] = [];
  const partials = new Map<string, PendingRecord[]>();
  const s = new Sequencer(mode, {
    forward: (record, waited) => forwarded.push({ record, waited }),
    reroute: (records) => rerouted.push(records),
    takePartial: (shardId) => {
      const p = partials.get(shardId) ?? [];
      partials.delete(shardId);
      return p;
    },
    partialShards: () => partials.keys(),
    rangeOf: (shardId) => ranges.find((r) => r.shardId === shardId),
    predict: (hashKey) => ranges.find((r) => r.start <= hashKey && hashKey <= r.end)?.shardId,
  });
  return { s, forwarded, rerouted, partials, ranges };
}

/** Offers one single-record Kinesis record per `[shard, key, data]`, in order; returns them. */
function offerAll(s: Sequencer, ...specs: [string, string, string][]): KinesisRecord[] {
  return specs.map(([shard, key, text]) => {
    const record = kinesisRecord(shard, [userRecord(key, text)]);
    s.offer(record);
    return record;
  });
}

const data = (records: { record: KinesisRecord }[]) =>
  records.map((f) => f.record.records.map((r) => Buffer.from(r.data).toString()).join(','));

describe('Sequencer', () => {
  it("'shard': one Kinesis record of a shard out at a time; other shards go alongside", () => {
    const { s, forwarded } = sequencer('shard');
    const [a1] = offerAll(s, ['A', 'k', 'a1'], ['A', 'k', 'a2'], ['B', 'j', 'b1']);
    expect(data(forwarded)).toEqual(['a1', 'b1']);
    s.finished(a1!);
    expect(data(forwarded)).toEqual(['a1', 'b1', 'a2']);
    expect(forwarded[2]!.waited).toBe(true);
  });

  it('a record to retry goes again before anything behind it in its lane', () => {
    const { s, forwarded } = sequencer('shard');
    const [a1] = offerAll(s, ['A', 'k', 'a1'], ['A', 'k', 'a2']);
    s.resend(a1!);
    expect(data(forwarded)).toEqual(['a1', 'a1']);
    s.finished(a1!);
    expect(data(forwarded)).toEqual(['a1', 'a1', 'a2']);
  });

  it("'key': one record per partition key out, many keys of one shard at once", () => {
    const { s, forwarded } = sequencer('key', [{ shardId: 'A', start: 0n, end: 10n }]);
    const [k1] = offerAll(s, ['A', 'k', 'k1'], ['A', 'k', 'k2'], ['A', 'j', 'j1']);
    expect(data(forwarded)).toEqual(['k1', 'j1']);
    s.finished(k1!);
    expect(data(forwarded)).toEqual(['k1', 'j1', 'k2']);
  });

  it("'off': everything goes at once; a retry is sent again or routed again as asked", () => {
    const { s, forwarded, rerouted } = sequencer('off');
    const [a1] = offerAll(s, ['A', 'k', 'a1'], ['A', 'k', 'a2']);
    expect(data(forwarded)).toEqual(['a1', 'a2']);
    s.resend(a1!, true);
    expect(rerouted).toEqual([a1!.records]);
  });

  it('a shard that closes with a record out holds its children, then routes its leftovers ahead of theirs', () => {
    const parent = { shardId: 'P', start: 0n, end: 99n };
    const ranges = [parent];
    const { s, forwarded, rerouted, partials } = sequencer('shard', ranges);
    const out = kinesisRecord('P', [userRecord('k', 'p1')]);
    const waiting = kinesisRecord('P', [userRecord('k', 'p2')]);
    s.offer(out);
    s.offer(waiting);
    partials.set('P', [userRecord('k', 'p3')]);
    // Split: the map now has two children in place of P.
    ranges.splice(
      0,
      1,
      { shardId: 'C1', start: 0n, end: 49n },
      { shardId: 'C2', start: 50n, end: 99n },
    );
    s.retire(new Set(['C1', 'C2']));
    expect(rerouted).toEqual([]);
    // Put since the split, routed to a child: held while P's record is out.
    s.offer(kinesisRecord('C1', [userRecord('k', 'c1')]));
    partials.set('C1', [userRecord('k', 'c2')]);
    // And one child with records only in a partial aggregate (no lane yet).
    partials.set('C2', [userRecord('m', 'c3')]);
    expect(data(forwarded)).toEqual(['p1']);
    // P's record failed: it, then P's leftovers, then the child's records, routed again in order.
    s.resend(out);
    expect(rerouted.map((rs) => rs.map((r) => Buffer.from(r.data).toString()))).toEqual([
      ['p1', 'p2', 'p3', 'c1', 'c2', 'c3'],
    ]);
    expect(data(forwarded)).toEqual(['p1']);
  });

  it('an idle shard that closes routes its leftovers at once, and holds no one', () => {
    const ranges = [{ shardId: 'P', start: 0n, end: 99n }];
    const { s, forwarded, rerouted, partials } = sequencer('shard', ranges);
    const done = kinesisRecord('P', [userRecord('k', 'p1')]);
    s.offer(done);
    s.finished(done);
    partials.set('P', [userRecord('k', 'p2')]);
    ranges.splice(0, 1, { shardId: 'C', start: 0n, end: 99n });
    s.retire(new Set(['C']));
    expect(rerouted.map((rs) => rs.map((r) => Buffer.from(r.data).toString()))).toEqual([['p2']]);
    s.offer(kinesisRecord('C', [userRecord('k', 'c1')]));
    expect(data(forwarded)).toEqual(['p1', 'c1']);
  });
});

import { describe, expect, it } from 'vitest';
import type { Lease } from '../src/leases/lease';
import { decideLeases, type ObservedLease } from '../src/leases/lease-taker';

const lease = (key: string, owner?: string, extra: Partial<Lease> = {}): Lease => ({
  leaseKey: key,
  leaseOwner: owner,
  leaseCounter: 1,
  checkpoint: 'TRIM_HORIZON',
  checkpointSubSequenceNumber: 0,
  ownerSwitchesSinceCheckpoint: 0,
  parentShardIds: [],
  childShardIds: [],
  startingHashKey: undefined,
  endingHashKey: undefined,
  checkpointOwner: undefined,
  ...extra,
});
const NOW = 100_000;
const fresh = (l: Lease): ObservedLease => ({ lease: l, lastCounterChange: NOW - 100 });
const stale = (l: Lease): ObservedLease => ({ lease: l, lastCounterChange: NOW - 20_000 });
const base = {
  workerId: 'me',
  now: NOW,
  failoverTimeMillis: 10_000,
  maxLeasesForWorker: Infinity,
  maxLeasesToStealAtOneTime: 1,
  ready: () => true,
};

describe('decideLeases', () => {
  it('takes every free lease when alone', () => {
    const d = decideLeases({ ...base, leases: ['s1', 's2', 's3'].map((k) => fresh(lease(k))) });
    expect(d.take.map((l) => l.leaseKey)).toEqual(['s1', 's2', 's3']);
    expect(d.steal).toEqual([]);
  });

  it('aims at an even share over live workers', () => {
    const leases = [
      fresh(lease('s1', 'other')),
      fresh(lease('s2', 'other')),
      fresh(lease('s3')),
      fresh(lease('s4')),
    ];
    const d = decideLeases({ ...base, leases });
    expect(d.target).toBe(2);
    expect(d.take.map((l) => l.leaseKey)).toEqual(['s3', 's4']);
  });

  it('takes expired leases of a dead worker', () => {
    const d = decideLeases({
      ...base,
      leases: [stale(lease('s1', 'dead')), stale(lease('s2', 'dead'))],
    });
    expect(d.take.map((l) => l.leaseKey)).toEqual(['s1', 's2']);
  });

  it('steals one lease at a time from the most loaded worker when nothing is free', () => {
    const leases = ['s1', 's2', 's3', 's4'].map((k) => fresh(lease(k, 'busy')));
    const d = decideLeases({ ...base, leases });
    expect(d.take).toEqual([]);
    expect(d.steal.map((l) => l.leaseKey)).toEqual(['s1']);
  });

  it('does not steal when the share is already even', () => {
    const leases = [
      fresh(lease('s1', 'a')),
      fresh(lease('s2', 'me')),
      fresh(lease('s3', 'a')),
      fresh(lease('s4', 'me')),
    ];
    expect(decideLeases({ ...base, leases })).toMatchObject({ take: [], steal: [] });
  });

  it('does not steal a lease already being handed off', () => {
    const leases = ['s1', 's2'].map((k) => fresh(lease(k, 'busy', { checkpointOwner: 'older' })));
    expect(decideLeases({ ...base, leases }).steal).toEqual([]);
  });

  it('respects maxLeasesForWorker', () => {
    const d = decideLeases({
      ...base,
      maxLeasesForWorker: 2,
      leases: ['s1', 's2', 's3'].map((k) => fresh(lease(k))),
    });
    expect(d.take).toHaveLength(2);
  });

  it('ignores finished shards and shards whose parents are not done', () => {
    const leases = [
      fresh(lease('done', undefined, { checkpoint: 'SHARD_END' })),
      fresh(lease('child', undefined, { parentShardIds: ['p'] })),
      fresh(lease('root')),
    ];
    const d = decideLeases({ ...base, leases, ready: (l) => l.parentShardIds.length === 0 });
    expect(d.take.map((l) => l.leaseKey)).toEqual(['root']);
  });

  it('steals the whole shortfall at once, from the workers above the target only down to it', () => {
    const leases = [
      ...['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].map((k) => fresh(lease(k, 'a'))),
      ...['b1', 'b2', 'b3', 'b4'].map((k) => fresh(lease(k, 'b'))),
      ...['c1', 'c2'].map((k) => fresh(lease(k, 'c'))),
    ];
    // 12 leases, 4 workers: target 3. a gives 3, b gives 1, c (below it) gives none.
    const d = decideLeases({ ...base, maxLeasesToStealAtOneTime: Infinity, leases });
    expect(d.target).toBe(3);
    expect(d.steal.map((l) => l.leaseKey)).toEqual(['a1', 'a2', 'a3']);
    const e = decideLeases({
      ...base,
      maxLeasesToStealAtOneTime: Infinity,
      leases: [...leases, ...['m1'].map((k) => fresh(lease(k, 'me')))],
    });
    // 13 leases: target 4; me holds 1, short 3: a gives 2 (down to 4), then nothing else is above.
    expect(e.steal.map((l) => l.leaseKey)).toEqual(['a1', 'a2']);
  });

  it('steals a lease that just changed hands last (no lease moved straight back)', () => {
    const leases = [
      { ...fresh(lease('s1', 'busy')), ownerSince: NOW - 100 },
      { ...fresh(lease('s2', 'busy')), ownerSince: NOW - 60_000 },
      { ...fresh(lease('s3', 'busy')), ownerSince: NOW - 60_000 },
    ];
    const d = decideLeases({ ...base, leases });
    expect(d.steal.map((l) => l.leaseKey)).toEqual(['s2']);
  });

  it('takes free leases in a random order when given randomness', () => {
    const keys = Array.from({ length: 20 }, (_, i) => `s${String(i).padStart(2, '0')}`);
    let x = 0.3;
    const random = () => (x = (x * 9301 + 0.49297) % 1);
    const d = decideLeases({ ...base, random, leases: keys.map((k) => fresh(lease(k))) });
    expect(d.take.map((l) => l.leaseKey).sort()).toEqual(keys);
    expect(d.take.map((l) => l.leaseKey)).not.toEqual(keys);
  });

  it('workers short of the share that look at the same table take disjoint leases of a dead worker (their slices in id order)', () => {
    const leases = [
      fresh(lease('h1', 'w1')),
      fresh(lease('h2', 'w1')),
      fresh(lease('h3', 'w1')),
      fresh(lease('h4', 'me')),
      fresh(lease('h5', 'w2')),
      stale(lease('d1', 'dead')),
      stale(lease('d2', 'dead')),
      stale(lease('d3', 'dead')),
      stale(lease('d4', 'dead')),
    ];
    // 9 leases over w1, me, w2: target 3; me and w2 are two short each.
    let seed = 0.37;
    const random = () => (seed = (seed * 9301 + 0.49297) % 1);
    const mine = decideLeases({ ...base, random, leases, maxLeasesToStealAtOneTime: 9 });
    const theirs = decideLeases({
      ...base,
      workerId: 'w2',
      random,
      leases,
      maxLeasesToStealAtOneTime: 9,
    });
    expect(mine.take.map((l) => l.leaseKey)).toEqual(['d1', 'd2']);
    expect(theirs.take.map((l) => l.leaseKey)).toEqual(['d3', 'd4']);
  });
});

import { aggregate, compress, partitionKeyHash } from '@shardline/aggregation';
import { describe, expect, it } from 'vitest';
import { compareSequence, isSentinel } from '../src/checkpoint/sequence';
import { ConfigError } from '../src/errors';
import type { Lease } from '../src/leases/lease';
import { resolveConsumerOptions } from '../src/options';
import { decodeRecords } from '../src/record-decoder';
import { canTransition, ShardLifecycle } from '../src/shard-lifecycle';
import { leasesForNewShards, parentsDone } from '../src/shard-sync';
import { MINIMAL_OPTIONS, optionsWith } from './support/options';

describe('sequence numbers', () => {
  it('compare as 128-bit integers, then by sub-sequence number', () => {
    expect(
      compareSequence(
        { sequenceNumber: '9', subSequenceNumber: 0 },
        { sequenceNumber: '10', subSequenceNumber: 0 },
      ),
    ).toBeLessThan(0);
    const big = '49590338271490256608559692538361571095921575989136588898';
    expect(
      compareSequence(
        { sequenceNumber: big, subSequenceNumber: 3 },
        { sequenceNumber: big, subSequenceNumber: 2 },
      ),
    ).toBeGreaterThan(0);
    expect(
      compareSequence(
        { sequenceNumber: big, subSequenceNumber: 1 },
        { sequenceNumber: big, subSequenceNumber: 1 },
      ),
    ).toBe(0);
    expect(isSentinel('SHARD_END')).toBe(true);
    expect(isSentinel(big)).toBe(false);
  });
});

describe('shard lifecycle', () => {
  it('allows only the named transitions', () => {
    const seen: string[] = [];
    const lifecycle = new ShardLifecycle('initializing', (from, to) => seen.push(`${from}->${to}`));
    expect(lifecycle.to('processing')).toBe(true);
    expect(lifecycle.to('initializing')).toBe(false);
    expect(lifecycle.to('shard-ended')).toBe(true);
    expect(lifecycle.to('stopped')).toBe(true);
    expect(lifecycle.to('processing')).toBe(false);
    expect(seen).toEqual([
      'initializing->processing',
      'processing->shard-ended',
      'shard-ended->stopped',
    ]);
    expect(canTransition('waiting-for-handoff', 'initializing')).toBe(true);
    expect(canTransition('lease-lost', 'processing')).toBe(false);
    expect(canTransition('processing', 'lease-lost')).toBe(true);
  });
});

describe('record decoding', () => {
  const users = Array.from({ length: 6 }, (_, i) => ({
    partitionKey: 'k',
    data: Buffer.from(`u${i}`),
  }));
  const [agg] = aggregate(users);
  const raw = (data: Uint8Array, seq = '100') => ({ data, partitionKey: 'a', sequenceNumber: seq });

  it('de-aggregates and decompresses (envelope around the aggregate, or around each record)', () => {
    const outer = decodeRecords([raw(compress(agg!.data, 'gzip'))], { shardId: 's' });
    expect(outer.records.map((r) => Buffer.from(r.data).toString())).toEqual([
      'u0',
      'u1',
      'u2',
      'u3',
      'u4',
      'u5',
    ]);
    const [inner] = aggregate(users.map((u) => ({ ...u, data: compress(u.data, 'snappy') })));
    const decoded = decodeRecords([raw(inner!.data)], { shardId: 's' });
    expect(decoded.records.map((r) => Buffer.from(r.data).toString())).toEqual([
      'u0',
      'u1',
      'u2',
      'u3',
      'u4',
      'u5',
    ]);
    expect(decoded.records.map((r) => r.subSequenceNumber)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('skips user records at or before the checkpoint, inside an aggregate', () => {
    const out = decodeRecords([raw(agg!.data, '100'), raw(Buffer.from('plain'), '101')], {
      shardId: 's',
      after: { sequenceNumber: '100', subSequenceNumber: 3 },
    });
    expect(out.records.map((r) => Buffer.from(r.data).toString())).toEqual(['u4', 'u5', 'plain']);
  });

  it('delivers every record of an aggregate holding records of other shards, and reports it', () => {
    const hash = partitionKeyHash('k');
    const [mixed] = aggregate([
      { partitionKey: 'k', data: Buffer.from('in') },
      { partitionKey: 'other', data: Buffer.from('out') },
    ]);
    const out = decodeRecords([raw(mixed!.data, '7'), raw(agg!.data, '8')], {
      shardId: 's',
      hashRange: { start: hash, end: hash },
    });
    expect(out.records.map((r) => Buffer.from(r.data).toString())).toEqual([
      'in',
      'out',
      ...users.map((u) => u.data.toString()),
    ]);
    expect(out.outOfRange).toEqual([
      { sequenceNumber: '7', records: 2, outside: 1, dropped: false },
    ]);
  });

  it('with dropOutOfRange, drops the whole aggregate, as the KCL does, and reports it', () => {
    const hash = partitionKeyHash('k');
    const out = decodeRecords([raw(agg!.data, '5'), raw(Buffer.from('plain'), '6')], {
      shardId: 's',
      hashRange: { start: hash + 1n, end: hash + 10n },
      dropOutOfRange: true,
    });
    // A plain record is where Kinesis routed it, whatever the range says: never dropped.
    expect(out.records.map((r) => Buffer.from(r.data).toString())).toEqual(['plain']);
    expect(out.outOfRange).toEqual([
      { sequenceNumber: '5', records: 6, outside: 6, dropped: true },
    ]);
    const inside = decodeRecords([raw(agg!.data)], {
      shardId: 's',
      hashRange: { start: hash, end: hash },
      dropOutOfRange: true,
    });
    expect(inside.records).toHaveLength(6);
    expect(inside.outOfRange).toEqual([]);
  });

  it('hands corrupt aggregates and bad envelopes to the poison list, never throws, keeps the rest', () => {
    const corrupt = Buffer.from(agg!.data);
    corrupt[10]! ^= 0xff;
    const badEnvelope = Buffer.from(compress(Buffer.from('x'), 'gzip'));
    badEnvelope[5] = 7;
    const out = decodeRecords(
      [raw(corrupt, '1'), raw(badEnvelope, '2'), raw(Buffer.from('fine'), '3')],
      { shardId: 's' },
    );
    expect(out.records.map((r) => Buffer.from(r.data).toString())).toEqual(['fine']);
    expect(
      out.poisoned.map((p) => [p.record.sequenceNumber, (p.error.cause as { name: string }).name]),
    ).toEqual([
      ['1', 'CorruptAggregateError'],
      ['2', 'CompressionError'],
    ]);
    expect(out.poisoned[0]!.error).toMatchObject({
      name: 'PoisonRecordError',
      code: 'POISON_RECORD',
      shardId: 's',
    });
  });
});

describe('shard sync', () => {
  const shard = (id: string, parent?: string, adjacent?: string) => ({
    ShardId: id,
    ...(parent ? { ParentShardId: parent } : {}),
    ...(adjacent ? { AdjacentParentShardId: adjacent } : {}),
    HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' },
    SequenceNumberRange: { StartingSequenceNumber: '1' },
  });

  it('creates leases for new shards: roots at the initial position, children at TRIM_HORIZON', () => {
    const leases = leasesForNewShards(
      [shard('p'), shard('c1', 'p'), shard('c2', 'gone')],
      new Set(),
      'LATEST',
    );
    expect(leases.map((l) => [l.leaseKey, l.checkpoint, l.parentShardIds])).toEqual([
      ['p', 'LATEST', []],
      ['c1', 'TRIM_HORIZON', ['p']],
      ['c2', 'LATEST', []],
    ]);
    expect(leasesForNewShards([shard('p')], new Set(['p']), 'LATEST')).toEqual([]);
    expect(
      leasesForNewShards([shard('t')], new Set(), { timestamp: new Date() })[0]!.checkpoint,
    ).toBe('AT_TIMESTAMP');
  });

  it('lets a child start only when every parent is at SHARD_END', () => {
    const l = (key: string, checkpoint: string, parents: string[] = []): Lease => ({
      leaseKey: key,
      leaseOwner: undefined,
      leaseCounter: 0,
      checkpoint,
      checkpointSubSequenceNumber: 0,
      ownerSwitchesSinceCheckpoint: 0,
      parentShardIds: parents,
      childShardIds: [],
      startingHashKey: undefined,
      endingHashKey: undefined,
      checkpointOwner: undefined,
    });
    const child = l('m', 'TRIM_HORIZON', ['a', 'b']);
    expect(
      parentsDone(
        child,
        new Map([
          ['a', l('a', 'SHARD_END')],
          ['b', l('b', '123')],
        ]),
      ),
    ).toBe(false);
    expect(
      parentsDone(
        child,
        new Map([
          ['a', l('a', 'SHARD_END')],
          ['b', l('b', 'SHARD_END')],
        ]),
      ),
    ).toBe(true);
    expect(parentsDone(child, new Map([['a', l('a', 'SHARD_END')]]))).toBe(true);
  });
});

describe('consumer options', () => {
  it('fills in the KCL defaults', () => {
    expect(resolveConsumerOptions(MINIMAL_OPTIONS)).toMatchObject({
      failoverTimeMillis: 10_000,
      gracefulLeaseHandoffTimeoutMillis: 30_000,
      maxLeasesToStealAtOneTime: Number.MAX_SAFE_INTEGER,
      maxRecords: 10_000,
      idleTimeBetweenReadsMillis: 1000,
      millisBehindLatestThresholdForReducedTps: 0,
      initialPosition: 'LATEST',
      leaseTableName: 'app',
      retrieval: { mode: 'polling' },
      dropOutOfRangeAggregates: false,
    });
  });
  it.each([
    [{ streamName: undefined }, /streamName or streamArn/],
    [{ streamName: 'no spaces' }, /not a valid Kinesis stream name/],
    [{ streamArn: 'stream/s' }, /is not an ARN/],
    [{ applicationName: 'a' }, /applicationName/],
    [{ initialPosition: 'EARLIEST' }, /initialPosition/],
    [{ initialPosition: { timestamp: new Date('nope') } }, /initialPosition/],
    [{ failoverTimeMillis: 10 }, /failoverTimeMillis/],
    [{ gracefulLeaseHandoffTimeoutMillis: 0 }, /gracefulLeaseHandoffTimeoutMillis/],
    [{ stallTimeoutMillis: 1000, idleTimeBetweenReadsMillis: 2000 }, /stallTimeoutMillis/],
    [{ millisBehindLatestThresholdForReducedTps: -1 }, /millisBehindLatestThresholdForReducedTps/],
    [{ millisBehindLatestThresholdForReducedTps: 1.5 }, /millisBehindLatestThresholdForReducedTps/],
    [
      { millisBehindLatestThresholdForReducedTps: '1000' },
      /millisBehindLatestThresholdForReducedTps/,
    ],
    [
      { stallTimeoutMillis: 5000, millisBehindLatestThresholdForReducedTps: 5000 },
      /stallTimeoutMillis \(5000\) must be longer than millisBehindLatestThresholdForReducedTps/,
    ],
    [{ kinesisClient: undefined }, /kinesisClient/],
    [{ retrieval: { mode: 'fanout', consumerName: '' } }, /consumerName/],
    [{ maxRecords: 20_000 }, /maxRecords/],
    [{ dropOutOfRangeAggregates: 'false' }, /dropOutOfRangeAggregates/],
  ])('refuses %j', (patch, message) => {
    expect(() => resolveConsumerOptions(optionsWith(patch))).toThrow(ConfigError);
    expect(() => resolveConsumerOptions(optionsWith(patch))).toThrow(message);
  });
  it('keeps millisBehindLatestThresholdForReducedTps as given', () => {
    expect(
      resolveConsumerOptions(optionsWith({ millisBehindLatestThresholdForReducedTps: 2000 })),
    ).toMatchObject({ millisBehindLatestThresholdForReducedTps: 2000 });
  });
});

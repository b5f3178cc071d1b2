import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { ShardMap, ShardRanges } from '../src/shard-map';

function shard(id: string, start: bigint, end: bigint, closed = false): Shard {
  return {
    ShardId: id,
    HashKeyRange: { StartingHashKey: String(start), EndingHashKey: String(end) },
    SequenceNumberRange: {
      StartingSequenceNumber: '1',
      ...(closed ? { EndingSequenceNumber: '2' } : {}),
    },
  };
}

describe('ShardRanges', () => {
  const ranges = new ShardRanges([
    shard('c', 200n, 299n),
    shard('a', 0n, 99n),
    shard('old', 0n, 299n, true),
    shard('b', 100n, 149n),
  ]);

  it('finds the open shard owning a hash key, edges included, and none in a gap', () => {
    expect([0n, 99n, 100n, 149n, 200n, 299n].map((h) => ranges.find(h)?.shardId)).toEqual([
      'a',
      'a',
      'b',
      'b',
      'c',
      'c',
    ]);
    expect(ranges.find(150n)).toBeUndefined();
    expect(ranges.find(300n)).toBeUndefined();
    expect(ranges.ranges.map((r) => r.shardId)).toEqual(['a', 'b', 'c']);
  });

  it('knows the range of a closed shard too (where a record actually landed)', () => {
    expect(ranges.range('old')).toMatchObject({ start: 0n, end: 299n });
  });
});

describe('ShardMap', () => {
  function client(pages: Shard[][]) {
    let calls = 0;
    let release: () => void = () => {};
    const gate = { held: false };
    const c = {
      async send(command: unknown) {
        if (!(command instanceof ListShardsCommand)) throw new Error('unexpected');
        calls++;
        if (gate.held) await new Promise<void>((r) => (release = r));
        const token = command.input.NextToken;
        const page = token ? Number(token) : 0;
        return {
          Shards: pages[page],
          NextToken: page + 1 < pages.length ? String(page + 1) : undefined,
        };
      },
    };
    return {
      client: c as unknown as KinesisClient,
      calls: () => calls,
      gate,
      release: () => release(),
    };
  }

  it('reads every page of ListShards', async () => {
    const { client: c } = client([[shard('a', 0n, 99n)], [shard('b', 100n, 199n)]]);
    const map = new ShardMap(c, { streamName: 's' });
    expect((await map.get()).ranges.map((r) => r.shardId)).toEqual(['a', 'b']);
  });

  it('callers asking at once share one ListShards round; evidence older than the map fetches nothing', async () => {
    const fake = client([[shard('a', 0n, 99n)]]);
    const seen: string[] = [];
    const map = new ShardMap(fake.client, { streamName: 's' }, (_, reason) => seen.push(reason));
    await map.get();
    const staleBefore = map.version - 1;
    fake.gate.held = true;
    const burst = [map.refresh('x'), map.refresh('y'), map.refresh('z')];
    fake.release();
    await Promise.all(burst);
    expect(fake.calls()).toBe(2);
    await map.refresh('late', staleBefore);
    expect(fake.calls()).toBe(2);
    expect(seen).toEqual(['initial', 'x']);
  });
});

import { describe, expect, it } from 'vitest';
import { createStream, uniqueName, waitFor } from '../src/backend';
import {
  duplicates,
  orderByKey,
  produce,
  recordingConsumer,
  type Seen,
} from '../src/support/consumer-harness';

describe('Consumer against real Kinesis and DynamoDB engines', () => {
  it('one worker reads every record of every shard, in order per key', async () => {
    const streamName = uniqueName('consumer-one');
    await createStream(streamName, 4);
    const sent = await produce(streamName, 2000);
    const seen: Seen = { records: [] };
    const consumer = recordingConsumer(seen, 'w1', {
      streamName,
      applicationName: uniqueName('app'),
    });
    await consumer.start();
    await waitFor(
      () =>
        orderByKey(seen).size === sent.size &&
        [...sent].every(([k, ids]) => orderByKey(seen).get(k)?.length === ids.length),
      { timeoutMs: 60_000, message: 'all records consumed' },
    );
    await consumer.stop();
    expect(orderByKey(seen)).toEqual(sent);
    expect(duplicates(seen)).toEqual([]);
  });

  it('3 workers share 8 shards: leases balance, every record once, in order per key', async () => {
    const streamName = uniqueName('consumer-three');
    const applicationName = uniqueName('app');
    await createStream(streamName, 8);
    const seen: Seen = { records: [] };
    const workers = ['a', 'b', 'c'].map((w) =>
      recordingConsumer(seen, w, { streamName, applicationName }),
    );
    await Promise.all(workers.map((w) => w.start()));
    await waitFor(
      () => {
        const owned = workers.map((w) => w.ownedShards().length);
        return owned.reduce((a, b) => a + b, 0) === 8 &&
          Math.max(...owned) - Math.min(...owned) <= 1
          ? owned
          : undefined;
      },
      { timeoutMs: 60_000, message: 'leases balanced 3/3/2' },
    );
    const sent = await produce(streamName, 3000);
    await waitFor(
      () => [...sent].every(([k, ids]) => orderByKey(seen).get(k)?.length === ids.length),
      { timeoutMs: 60_000, message: 'all records consumed' },
    );
    await Promise.all(workers.map((w) => w.stop()));
    expect(orderByKey(seen)).toEqual(sent);
    expect(duplicates(seen)).toEqual([]);
    const shardOwners = new Map<string, Set<string>>();
    for (const r of seen.records)
      shardOwners.set(r.shardId, new Set([...(shardOwners.get(r.shardId) ?? []), r.worker]));
    expect([...shardOwners.values()].every((owners) => owners.size === 1)).toBe(true);
  });
});

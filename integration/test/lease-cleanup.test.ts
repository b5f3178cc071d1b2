import { describe, expect, it } from 'vitest';
import { listLeases } from '@shardline/consumer';
import {
  createStream,
  dynamoDBClient,
  listShards,
  splitShard,
  uniqueName,
  waitFor,
} from '../src/backend';
import {
  duplicates,
  orderByKey,
  produce,
  recordingConsumer,
  type Seen,
} from '../src/support/consumer-harness';

/** True once every id in `sent` was delivered at least once. */
const allConsumed = (seen: Seen, sent: Map<string, string[]>) => () => {
  const got = new Set(seen.records.map((r) => r.id));
  return [...sent.values()].every((ids) => ids.every((id) => got.has(id)));
};

const leaseKeys = async (applicationName: string): Promise<string[]> =>
  (await listLeases({ applicationName, dynamoDBClient: dynamoDBClient() }))
    .map((l) => l.lease.leaseKey)
    .sort();

describe('Lease cleanup after a real split (embedded backend)', () => {
  it("deletes the parent's lease once both children have started, and never reads the parent again", async () => {
    const streamName = uniqueName('cleanup');
    const applicationName = uniqueName('app');
    await createStream(streamName, 1);
    const seen: Seen = { records: [] };
    const consumer = recordingConsumer(seen, 'w', {
      streamName,
      applicationName,
      // Look at every shard sync (1 s in the harness) instead of the KCL's 5 minutes.
      leaseCleanup: {
        completedLeaseCleanupIntervalMillis: 0,
        garbageLeaseCleanupIntervalMillis: 0,
      },
    });
    await consumer.start();
    try {
      const before = await produce(streamName, 300, { prefix: 'before' });
      await waitFor(allConsumed(seen, before), { timeoutMs: 60_000, message: 'parent consumed' });
      const [parent] = (await listShards(streamName)).map((s) => s.ShardId!);
      const children = await splitShard(streamName, parent!, 2n ** 127n);
      const after = await produce(streamName, 300, { prefix: 'after' });
      await waitFor(allConsumed(seen, after), { timeoutMs: 90_000, message: 'children consumed' });

      await waitFor(async () => !(await leaseKeys(applicationName)).includes(parent!), {
        timeoutMs: 60_000,
        message: "the parent's lease is deleted",
      });
      expect(await leaseKeys(applicationName)).toEqual([...children].sort());

      // Shard sync goes on listing the parent (it is within retention): it must not make a new
      // lease for it, which would read it again from TRIM_HORIZON (duplicates) and hold the
      // children back. More records after a few syncs show both.
      const later = await produce(streamName, 200, { prefix: 'later' });
      await waitFor(allConsumed(seen, later), { timeoutMs: 60_000, message: 'later consumed' });
      expect(await leaseKeys(applicationName)).toEqual([...children].sort());
      const all = new Map<string, string[]>();
      for (const m of [before, after, later])
        for (const [k, ids] of m) all.set(k, [...(all.get(k) ?? []), ...ids]);
      expect(orderByKey(seen)).toEqual(all);
      expect(duplicates(seen)).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });
});

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Producer } from '@shardline/producer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backend,
  createStream,
  kinesisClient,
  listShardIds,
  uniqueName,
  waitFor,
} from '../../src/backend';
import { tally } from '../../src/faults/count';
import { FaultProxy } from '../../src/faults/proxy';
import { scenario } from '../../src/faults/report';
import { recordingConsumer, type Seen } from '../../src/support/consumer-harness';

// Scenario 5: DynamoDB fails a worker's lease renewals (5xx) and checkpoints (conditional check
// failed). The worker must let go of its shards, and another worker takes them; no record is
// processed by both beyond the batch in flight at the switch.

// A's renewals and takes bump the counter; its hand-off requests (KCL 3's, which leave the counter
// alone) set checkpointOwner: failing them all keeps A from taking a shard back while its renewals
// are failing.
const RENEW = 'leaseCounter + :one';
const HANDOFF_REQUEST = 'SET leaseOwner = :new, checkpointOwner = :old';
const CHECKPOINT = 'SET checkpoint = :cp';

describe('scenario 5: DynamoDB faults during renew and checkpoint', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await FaultProxy.start({ target: backend().dynamodbEndpoint!, seed: 5 });
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('a worker that loses its lease stops that shard; no record is processed by two workers beyond the in-flight batch', async () => {
    const streamName = uniqueName('lease-faults');
    const applicationName = uniqueName('lease-faults-app');
    await createStream(streamName, 2);
    const info = backend();
    const faultyDynamo = new DynamoDBClient({
      region: info.region,
      endpoint: proxy.endpoint,
      maxAttempts: 1,
      ...(info.credentials ? { credentials: { ...info.credentials } } : {}),
    });
    // One ordered log of batches across both workers, to see who processed what after the switch.
    const batches: { worker: string; shardId: string; ids: string[] }[] = [];
    const seen: Seen = { records: [] };
    const onBatch =
      (worker: string) => (batch: { shardId: string; records: { data: Uint8Array }[] }) =>
        void batches.push({
          worker,
          shardId: batch.shardId,
          ids: batch.records.map((r) => Buffer.from(r.data).toString()),
        });
    const lost: string[] = [];
    const a = recordingConsumer(
      seen,
      'A',
      { streamName, applicationName, dynamoDBClient: faultyDynamo },
      onBatch('A'),
    );
    const b = recordingConsumer(seen, 'B', { streamName, applicationName }, onBatch('B'));
    a.on('leaseLost', (e: { shardId: string }) => void lost.push(e.shardId));
    // Per shard, how many batches had been delivered when A's last checkpoint was written.
    const checkpointedAt = new Map<string, number>();
    a.on('checkpoint', (e: { shardId: string }) => checkpointedAt.set(e.shardId, batches.length));
    const client = kinesisClient();
    const producer = new Producer({ streamName, kinesisClient: client, recordMaxBufferedTime: 20 });
    const sent: string[] = [];
    const put = async (prefix: string, n: number) => {
      const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
      sent.push(...ids);
      await Promise.all(ids.map((id, i) => producer.put({ partitionKey: `k${i % 20}`, data: id })));
    };
    const counts = () => {
      const c = new Map<string, number>();
      for (const r of seen.records) c.set(r.id, (c.get(r.id) ?? 0) + 1);
      return c;
    };
    await scenario(
      '5. DynamoDB faults in renew + checkpoint',
      () => ({ ...tally(sent, counts()), faultsInjected: proxy.totalInjected }),
      async () => {
        try {
          await a.start();
          await waitFor(() => a.ownedShards().length === 2, {
            timeoutMs: 30_000,
            message: 'A holds both shards',
          });
          await put('before', 400);
          await waitFor(() => sent.every((id) => counts().has(id)), {
            timeoutMs: 60_000,
            message: 'A consumed the first batch',
          });
          // ... and checkpointed it (at most checkpointIntervalMillis later): the duplicates judged
          // below are those of the faults, not the last interval's before them (that one is
          // worker-kill.test.ts's bound).
          const consumed = batches.length;
          const shards = await listShardIds(streamName);
          await waitFor(() => shards.every((id) => (checkpointedAt.get(id) ?? -1) >= consumed), {
            timeoutMs: 30_000,
            message: 'A checkpointed the first batch',
          });

          // A's renewals now fail with 5xx, and so do half of its checkpoints; the other half reach
          // the table, where they fail their condition once B has taken the lease.
          const faultsFrom = batches.length;
          proxy.inject({ kind: 'internal', operation: 'UpdateItem', bodyContains: RENEW });
          proxy.inject({
            kind: 'internal',
            operation: 'UpdateItem',
            bodyContains: HANDOFF_REQUEST,
          });
          proxy.inject({
            kind: 'internal',
            operation: 'UpdateItem',
            bodyContains: CHECKPOINT,
            probability: 0.5,
          });
          await b.start();
          for (
            let wave = 0;
            wave < 20 && !(b.ownedShards().length === 2 && a.ownedShards().length === 0);
            wave++
          )
            await put(`during-${wave}`, 50);
          await waitFor(() => b.ownedShards().length === 2 && a.ownedShards().length === 0, {
            timeoutMs: 30_000,
            message: 'B took both shards and A let go of them',
          });
          // The switch is judged on what happened while the faults were on; afterwards A may take
          // a shard back by a normal hand-off.
          await put('switch', 200);
          const shardIds = await listShardIds(streamName);
          await waitFor(
            () =>
              shardIds.every((id) =>
                batches.some((x) => x.worker === 'B' && x.shardId === id && x.ids.length > 0),
              ),
            {
              timeoutMs: 30_000,
              message: 'B processing both shards',
            },
          );
          const switched = batches.length;
          proxy.clearFaults();
          expect([...new Set(lost)].sort()).toEqual((await listShardIds(streamName)).sort());
          await put('after', 400);
          await waitFor(() => sent.every((id) => counts().has(id)), {
            timeoutMs: 60_000,
            message: 'everything consumed after the switch',
          });

          expect(tally(sent, counts()).lost).toBe(0);
          // Records processed twice are records A processed once its lease writes were failing:
          // work it could not checkpoint. Nothing from before the faults, nothing B did twice.
          const duplicated = [...counts()].filter(([, n]) => n > 1).map(([id]) => id);
          const aDuringFaults = new Set(
            batches
              .slice(faultsFrom)
              .filter((x) => x.worker === 'A')
              .flatMap((x) => x.ids),
          );
          for (const id of duplicated)
            expect(
              aDuringFaults.has(id),
              `${id} processed twice but not by A during the faults`,
            ).toBe(true);
          expect(proxy.injected.internal ?? 0).toBeGreaterThan(0);
          for (const shardId of await listShardIds(streamName)) {
            const onShard = batches
              .slice(0, switched)
              .filter((x) => x.shardId === shardId && x.ids.length > 0);
            const firstB = onShard.findIndex((x) => x.worker === 'B');
            expect(firstB, `B processed ${shardId}`).toBeGreaterThanOrEqual(0);
            // After B's first batch on the shard, A finishes at most the batch it had in flight.
            const aAfter = onShard.slice(firstB).filter((x) => x.worker === 'A');
            expect(aAfter.length, `A batches on ${shardId} after B took it`).toBeLessThanOrEqual(1);
          }
        } finally {
          await Promise.all([a.stop(), b.stop()]);
          await producer.close();
          client.destroy();
          faultyDynamo.destroy();
        }
      },
    );
  });
});

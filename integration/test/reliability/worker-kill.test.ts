import {
  DEFAULT_CHECKPOINT_INTERVAL_MILLIS,
  DEFAULT_MAX_CLOCK_SKEW_MILLIS,
  SHARED_SLOT_FACTOR,
} from '@shardline/consumer';
import { afterEach, describe, expect, it } from 'vitest';
import { createStream, dynamoDBClient, uniqueName, waitFor } from '../../src/backend';
import { tally } from '../../src/faults/count';
import { isAfterCheckpoint, scanLeases, type LeaseRow } from '../../src/faults/lease-table';
import { scenario } from '../../src/faults/report';
import { startChildWorker, type ChildWorker } from '../../src/support/child-worker';
import { produce } from '../../src/support/consumer-harness';

// Scenario 1: kill -9 one of three worker processes while records flow. Nothing is lost, the
// duplicates are only records after the dead worker's last checkpoint, and its shards are read
// again within the documented detection bound + 2 s: failover + maxClockSkewMillis (the renewal
// stamp's expiry) + one shared scan slot of SHARED_SLOT_FACTOR × (failover + 25 ms) (the first
// slot after the expiry: a survivor's own, which it scans, or the victim's, which its successor
// probes) + failover / 3 (the woken survivors' next renewal) + a pass
// (packages/consumer/README.md, "Lease table cost"), then taken and read. The duplicates are also
// bounded by the checkpoint cadence: on each of its shards, no more than the victim delivered in
// its last checkpointIntervalMillis before the kill, plus the one batch before that window (the
// one whose checkpoint may not have been written yet). SHARDLINE_KILL_CHECKPOINT_INTERVAL_MS runs
// the workers with another interval (e.g. 20000) to see the bound hold with a long one.

const FAILOVER = 1500;
/** The settled fleet's shared scan slot (`sharedSlotMillis` for two or more workers). */
const SLOT = Math.floor(SHARED_SLOT_FACTOR * (FAILOVER + 25));
/** The documented detection bound (a pass: failover / 2, the unsettled pace), + 2 s to read. */
const RESUME_BOUND_MS =
  FAILOVER + DEFAULT_MAX_CLOCK_SKEW_MILLIS + SLOT + FAILOVER / 3 + FAILOVER / 2 + 2000;
const SHARDS = 6;
const INTERVAL_ENV = process.env.SHARDLINE_KILL_CHECKPOINT_INTERVAL_MS;
const INTERVAL = INTERVAL_ENV ? Number(INTERVAL_ENV) : DEFAULT_CHECKPOINT_INTERVAL_MILLIS;

interface Delivery {
  id: string;
  shardId: string;
  seq: string;
  sub: number;
  /** When the worker delivered the record's batch (its clock: the same machine's). */
  at: number;
}

/**
 * The most records of `shard` a crash at `killedAt` may deliver again, from the victim's own
 * delivery log: what it delivered from `killedAt - interval` on, plus its last batch before that
 * (the cadence checks after every read, so the last write came at most one batch before the
 * window opened).
 */
function replayBound(victim: Delivery[], shard: string, killedAt: number, interval: number) {
  const onShard = victim.filter((d) => d.shardId === shard);
  const from = killedAt - interval;
  const before = onShard.filter((d) => d.at < from);
  const lastBatchAt = before.length ? Math.max(...before.map((d) => d.at)) : undefined;
  return onShard.filter((d) => d.at >= from || d.at === lastBatchAt).length;
}
const deliveries = (w: ChildWorker, from = 0): Delivery[] =>
  w.lines
    .slice(from)
    .filter((l): l is Record<string, unknown> & Delivery => typeof l.id === 'string');

describe('scenario 1: kill -9 one of 3 consumer workers', () => {
  const workers: ChildWorker[] = [];
  afterEach(() => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  });

  it('loses nothing, duplicates only after the last checkpoint and within one checkpoint interval, resumes within the documented detection bound + 2 s', async () => {
    const streamName = uniqueName('kill3');
    const APP = uniqueName('kill3-app');
    await createStream(streamName, SHARDS);
    const dynamo = dynamoDBClient();
    for (const name of ['w0', 'w1', 'victim'])
      workers.push(
        startChildWorker({
          STREAM: streamName,
          APP,
          WORKER: name,
          FAILOVER: String(FAILOVER),
          ...(INTERVAL_ENV ? { CHECKPOINT_INTERVAL: INTERVAL_ENV } : {}),
        }),
      );
    const victim = workers[2]!;
    const survivors = workers.slice(0, 2);
    const sent: string[] = [];
    const all = new Map<string, number>();
    let resumedMs = -1;
    let leasesAtKill: LeaseRow[] = [];
    const count = () => {
      all.clear();
      for (const w of workers)
        for (const d of deliveries(w)) all.set(d.id, (all.get(d.id) ?? 0) + 1);
      return all;
    };
    await scenario(
      '1. kill -9 one of 3 consumer workers',
      () => ({ ...tally(sent, count()), faultsInjected: 1 }),
      async () => {
        // Every shard leased, the victim holding some of them.
        const owners = await waitFor(
          async () => {
            const leases = await scanLeases(dynamo, APP);
            // Balanced (two each, no hand-off pending) before any record: the duplicates this
            // scenario judges are the kill's, not those of the start-up rebalancing.
            const balanced = ['w0', 'w1', 'victim'].every(
              (w) =>
                leases.filter((l) => l.leaseOwner === w && l.checkpointOwner === undefined)
                  .length ===
                SHARDS / 3,
            );
            return leases.length === SHARDS && balanced ? leases : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 200, message: 'shards leased two per worker' },
        );
        expect(owners.length).toBe(SHARDS);
        const first = await produce(streamName, 1200, { prefix: 'a', keys: 60 });
        for (const ids of first.values()) sent.push(...ids);
        await waitFor(() => sent.every((id) => count().has(id)), {
          timeoutMs: 60_000,
          message: 'first batch consumed',
        });

        // Mid-stream: the victim is reading when it dies.
        const second = produce(streamName, 1200, { prefix: 'b', keys: 60 });
        const victimBefore = deliveries(victim).length;
        await waitFor(() => deliveries(victim).length > victimBefore, {
          timeoutMs: 60_000,
          message: 'victim reading the second batch',
        });
        victim.child.kill('SIGKILL');
        const killedAt = Date.now();
        await victim.exited;
        leasesAtKill = await scanLeases(dynamo, APP);
        const victimShards = leasesAtKill
          .filter((l) => l.leaseOwner === 'victim')
          .map((l) => l.leaseKey);
        expect(victimShards.length).toBeGreaterThan(0);
        const marks = survivors.map((w) => w.lines.length);
        const third = produce(streamName, 1200, { prefix: 'c', keys: 60 });
        await waitFor(
          () =>
            victimShards.every((shard) =>
              survivors.some((w, i) => deliveries(w, marks[i]).some((d) => d.shardId === shard)),
            ),
          { timeoutMs: 60_000, intervalMs: 25, message: "survivors reading the victim's shards" },
        );
        resumedMs = Date.now() - killedAt;
        for (const m of [await second, await third])
          for (const ids of m.values()) sent.push(...ids);
        await waitFor(() => sent.every((id) => count().has(id)), {
          timeoutMs: 90_000,
          message: 'everything consumed after the kill',
        });

        const counts = count();
        expect(tally(sent, counts).lost).toBe(0);
        // A duplicate is a record of a victim shard after that shard's checkpoint at the kill.
        const checkpoints = new Map(leasesAtKill.map((l) => [l.leaseKey, l]));
        const duplicated = new Set([...counts].filter(([, n]) => n > 1).map(([id]) => id));
        for (const w of workers) {
          for (const d of deliveries(w)) {
            if (!duplicated.has(d.id)) continue;
            const lease = checkpoints.get(d.shardId);
            expect(victimShards, `duplicate ${d.id} on ${d.shardId}, not a victim shard`).toContain(
              d.shardId,
            );
            expect(
              isAfterCheckpoint(
                d.seq,
                d.sub,
                lease?.checkpoint,
                lease?.checkpointSubSequenceNumber ?? 0,
              ),
              `duplicate ${d.id} at or before the checkpoint`,
            ).toBe(true);
          }
        }
        // The cadence's bound: per victim shard, records delivered again ≤ what the victim
        // delivered within one interval (+ the batch before it) before it died.
        const victimLog = deliveries(victim);
        for (const shard of victimShards) {
          const again = new Set(
            victimLog.filter((d) => d.shardId === shard && duplicated.has(d.id)).map((d) => d.id),
          ).size;
          const bound = replayBound(victimLog, shard, killedAt, INTERVAL);
          expect(
            again,
            `${again} records of ${shard} delivered again; the victim delivered ${bound} in its last ${INTERVAL} ms (+ one batch)`,
          ).toBeLessThanOrEqual(bound);
        }
        expect(resumedMs, `victim's shards resumed after ${resumedMs} ms`).toBeLessThanOrEqual(
          RESUME_BOUND_MS,
        );
        for (const w of survivors) w.child.send('stop');
        await Promise.all(survivors.map((w) => w.exited));
        dynamo.destroy();
      },
    );
  });
});

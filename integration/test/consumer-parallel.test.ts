import { describe, expect, it } from 'vitest';
import type { ConsumerOptions, ConsumerRecord, RecordContext } from '@shardline/consumer';
import type { Consumer } from '@shardline/consumer';
import {
  createStream,
  fanoutKinesisClient,
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

// maxConcurrencyPerShard on the embedded backend: records of a shard run in parallel, each key
// strictly in order, through polling, fan-out, graceful hand-offs and a shard split.

/** Every id of `sent` delivered (at least once). */
function allConsumed(seen: Seen, sent: Map<string, string[]>): () => boolean {
  const wanted = [...sent.values()].flat();
  return () => {
    const got = new Set(seen.records.map((r) => r.id));
    return wanted.every((id) => got.has(id));
  };
}

/** Per key, the ids of `later` after those of `earlier`. */
function concat(earlier: Map<string, string[]>, later: Map<string, string[]>) {
  const all = new Map(earlier);
  for (const [k, ids] of later) all.set(k, [...(all.get(k) ?? []), ...ids]);
  return all;
}

/** Most records of one shard seen running at once, per worker run. */
interface Overlap {
  inFlight: Map<string, number>;
  most: number;
  /** A key that had two records running at once (must stay empty). */
  keyOverlaps: string[];
  running: Set<string>;
}

function parallelConsumer(
  seen: Seen,
  overlap: Overlap,
  worker: string,
  n: number,
  options: Partial<ConsumerOptions> & { streamName: string; applicationName: string },
): Consumer {
  return recordingConsumer(seen, worker, {
    maxConcurrencyPerShard: n,
    processor: {
      async processRecord(r: ConsumerRecord, context: RecordContext) {
        const key = `${context.shardId}/${r.partitionKey}`;
        if (overlap.running.has(key)) overlap.keyOverlaps.push(key);
        overlap.running.add(key);
        const now = (overlap.inFlight.get(context.shardId) ?? 0) + 1;
        overlap.inFlight.set(context.shardId, now);
        overlap.most = Math.max(overlap.most, now);
        seen.records.push({
          key: r.partitionKey,
          id: Buffer.from(r.data).toString(),
          shardId: context.shardId,
          worker,
          sequenceNumber: r.sequenceNumber,
          subSequenceNumber: r.subSequenceNumber,
        });
        // An I/O-bound handler: gives the other records of the shard their turn.
        await new Promise<void>((resolve) => setImmediate(resolve));
        overlap.inFlight.set(context.shardId, overlap.inFlight.get(context.shardId)! - 1);
        overlap.running.delete(key);
      },
    },
    ...options,
  });
}

/** A stream of `shards` shards and one worker on it running `n` records of a shard at once. */
async function oneWorker(
  prefix: string,
  shards: number,
  n: number,
  extra: Partial<ConsumerOptions> = {},
): Promise<{ streamName: string; seen: Seen; overlap: Overlap; consumer: Consumer }> {
  const streamName = uniqueName(prefix);
  await createStream(streamName, shards);
  const seen: Seen = { records: [] };
  const overlap = newOverlap();
  const consumer = parallelConsumer(seen, overlap, 'w', n, {
    streamName,
    applicationName: uniqueName('app'),
    ...extra,
  });
  return { streamName, seen, overlap, consumer };
}

const newOverlap = (): Overlap => ({
  inFlight: new Map(),
  most: 0,
  keyOverlaps: [],
  running: new Set(),
});

describe('Consumer with maxConcurrencyPerShard', () => {
  it('polling: records of a shard run in parallel, each key in order, every record once', async () => {
    const { streamName, seen, overlap, consumer } = await oneWorker('par-poll', 2, 8);
    const sent = await produce(streamName, 1500, { keys: 60 });
    await consumer.start();
    await waitFor(allConsumed(seen, sent), { timeoutMs: 60_000, message: 'all consumed' });
    await consumer.stop();
    expect(orderByKey(seen)).toEqual(sent);
    expect(duplicates(seen)).toEqual([]);
    expect(overlap.keyOverlaps).toEqual([]);
    expect(overlap.most).toBeGreaterThan(1);
    expect(overlap.most).toBeLessThanOrEqual(8);
  });

  it('enhanced fan-out: the same guarantees', async () => {
    const client = fanoutKinesisClient();
    const { streamName, seen, overlap, consumer } = await oneWorker('par-efo', 2, 8, {
      retrieval: { mode: 'fanout', consumerName: uniqueName('efo'), kinesisClient: client },
    });
    await consumer.start();
    const sent = await produce(streamName, 800, { keys: 40 });
    await waitFor(allConsumed(seen, sent), { timeoutMs: 60_000, message: 'all consumed' });
    await consumer.stop();
    client.destroy();
    expect(orderByKey(seen)).toEqual(sent);
    expect(duplicates(seen)).toEqual([]);
    expect(overlap.keyOverlaps).toEqual([]);
    expect(overlap.most).toBeGreaterThan(1);
  });

  it('graceful hand-off while records flow: nothing lost, no duplicate, each key in order', async () => {
    const streamName = uniqueName('par-handoff');
    const applicationName = uniqueName('app');
    await createStream(streamName, 4);
    const seen: Seen = { records: [] };
    const overlap = newOverlap();
    const a = parallelConsumer(seen, overlap, 'a', 16, { streamName, applicationName });
    await a.start();
    await waitFor(() => a.ownedShards().length === 4, { timeoutMs: 30_000, message: 'a owns all' });
    const first = await produce(streamName, 1000, { prefix: 'h1' });
    await waitFor(allConsumed(seen, first), { timeoutMs: 60_000, message: 'first consumed' });
    const b = parallelConsumer(seen, overlap, 'b', 16, { streamName, applicationName });
    await b.start();
    const moves = produce(streamName, 2000, { prefix: 'h2' });
    await waitFor(() => b.ownedShards().length === 2 && a.ownedShards().length === 2, {
      timeoutMs: 60_000,
      message: 'hand-offs balance 2/2',
    });
    const second = await moves;
    await waitFor(allConsumed(seen, second), { timeoutMs: 60_000, message: 'second consumed' });
    // The records written during the hand-offs may all have been read by a before it handed
    // over; records written once b holds its shards are b's to read.
    const third = await produce(streamName, 400, { prefix: 'h3' });
    await waitFor(allConsumed(seen, third), { timeoutMs: 60_000, message: 'third consumed' });
    await Promise.all([a.stop(), b.stop()]);
    // The hand-off checkpoints the completed prefix: the new owner resumes right after it.
    expect({
      order: orderByKey(seen),
      duplicates: duplicates(seen),
      overlaps: overlap.keyOverlaps,
    }).toEqual({ order: concat(concat(first, second), third), duplicates: [], overlaps: [] });
    expect(seen.records.some((r) => r.worker === 'b')).toBe(true);
  });

  it('a split while consuming: the parent is finished before its children, each key in order', async () => {
    const { streamName, seen, overlap, consumer } = await oneWorker('par-split', 1, 8);
    await consumer.start();
    const before = await produce(streamName, 600, { prefix: 'before', keys: 30 });
    const [parent] = await listShards(streamName);
    await splitShard(streamName, parent!.ShardId!, 2n ** 127n);
    const after = await produce(streamName, 600, { prefix: 'after', keys: 30 });
    const sent = concat(before, after);
    await waitFor(allConsumed(seen, sent), { timeoutMs: 90_000, message: 'all consumed' });
    await consumer.stop();
    expect(orderByKey(seen)).toEqual(sent);
    expect(duplicates(seen)).toEqual([]);
    expect(overlap.keyOverlaps).toEqual([]);
  });
});

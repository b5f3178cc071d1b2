import { describe, expect, it } from 'vitest';
import {
  decodeDeadLetterRecord,
  listLeases,
  type ConsumerMetricEvent,
  type ConsumerOptions,
  type DeadLetterRecord,
} from '@shardline/consumer';
import { createStream, dynamoDBClient, readStream, uniqueName, waitFor } from '../src/backend';
import { produce, recordingConsumer, type Seen } from '../src/support/consumer-harness';

// The retry budget and the dead-letter destination on the embedded backend: one poison record
// among good ones ends in the dead-letter stream exactly once, everything else is processed, and
// the checkpoint passes it.

const POISON = 'r-57';
const fast = { maxAttempts: 2, baseDelayMillis: 10, maxDelayMillis: 50 };

async function deadLetters(streamName: string): Promise<DeadLetterRecord[]> {
  return [...(await readStream(streamName)).values()]
    .flat()
    .map((r) => decodeDeadLetterRecord(r.data));
}

/** The poison record's shard checkpoint is at or past it. */
async function checkpointPast(applicationName: string, letter: DeadLetterRecord): Promise<boolean> {
  const leases = await listLeases({ applicationName, dynamoDBClient: dynamoDBClient() });
  const lease = leases.find((l) => l.lease.leaseKey === letter.source.shardId)!.lease;
  return (
    lease.checkpoint === 'SHARD_END' || BigInt(lease.checkpoint) >= BigInt(letter.sequenceNumber)
  );
}

async function runWithPoison(
  mode: 'batch' | 'record',
  extra: (dlq: string) => Partial<ConsumerOptions>,
) {
  const streamName = uniqueName(`dlq-src-${mode}`);
  const dlq = uniqueName(`dlq-${mode}`);
  const applicationName = uniqueName('app');
  await createStream(streamName, 2);
  await createStream(dlq, 1);
  const sent = await produce(streamName, 200, { keys: 20 });
  const good = [...sent.values()].flat().filter((id) => id !== POISON);
  const processed = new Set<string>();
  const events: ConsumerMetricEvent[] = [];
  const fail = (id: string) => {
    if (id === POISON) throw Object.assign(new Error('cannot parse'), { code: 'E_PARSE' });
  };
  const seen: Seen = { records: [] };
  const consumer = recordingConsumer(seen, 'w', {
    streamName,
    applicationName,
    onMetric: (e) => events.push(e),
    processor:
      mode === 'batch'
        ? {
            processRecords(batch) {
              for (const r of batch.records) fail(Buffer.from(r.data).toString());
              for (const r of batch.records) processed.add(Buffer.from(r.data).toString());
            },
          }
        : {
            processRecord(r) {
              fail(Buffer.from(r.data).toString());
              processed.add(Buffer.from(r.data).toString());
            },
          },
    ...extra(dlq),
  });
  await consumer.start();
  await waitFor(
    () =>
      good.every((id) => processed.has(id)) &&
      consumer.health().shards.reduce((n, s) => n + s.deadLettered, 0) === 1,
    { timeoutMs: 60_000, message: 'good records processed and the poison one dead-lettered' },
  );
  await consumer.stop();
  return { consumer, dlq, applicationName, processed, events, streamName };
}

describe('dead-letter destination', () => {
  it('batch mode with bisection: the poison record lands in the dead-letter stream exactly once', async () => {
    const r = await runWithPoison('batch', (dlq) => ({
      deadLetter: { kinesis: { streamName: dlq } },
      retryBudget: fast,
    }));
    expect(r.processed.has(POISON)).toBe(false);
    const letters = await deadLetters(r.dlq);
    expect(letters).toHaveLength(1);
    const letter = letters[0]!;
    expect(Buffer.from(letter.data).toString()).toBe(POISON);
    expect(letter).toMatchObject({
      formatVersion: 1,
      source: { streamName: r.streamName, applicationName: r.applicationName },
      partitionKey: 'key-17',
      error: { name: 'Error', code: 'E_PARSE', message: 'cannot parse' },
    });
    expect(letter.source.shardId).toMatch(/^shardId-/);
    expect(letter.source.streamArn).toMatch(/^arn:/);
    expect(letter.attempts).toBeGreaterThanOrEqual(2);
    expect(Date.parse(letter.lastFailureAt)).toBeGreaterThanOrEqual(
      Date.parse(letter.firstFailureAt),
    );
    expect(await checkpointPast(r.applicationName, letter)).toBe(true);
    expect(r.events.filter((e) => e.type === 'deadLettered')).toEqual([
      { type: 'deadLettered', shardId: letter.source.shardId, records: 1, destination: 'kinesis' },
    ]);
  });

  it('per-record mode with maxConcurrencyPerShard 8: the same, exactly once', async () => {
    const r = await runWithPoison('record', (dlq) => ({
      maxConcurrencyPerShard: 8,
      deadLetter: { kinesis: { streamName: dlq } },
      retryBudget: fast,
    }));
    const letters = await deadLetters(r.dlq);
    expect(letters.map((l) => Buffer.from(l.data).toString())).toEqual([POISON]);
    expect(letters[0]!.attempts).toBe(2);
    expect(await checkpointPast(r.applicationName, letters[0]!)).toBe(true);
  });

  it('a failing function destination stops the shard (health, metric) until it works; never skipped', async () => {
    let failing = true;
    const acknowledged: DeadLetterRecord[] = [];
    const streamName = uniqueName('dlq-fn');
    const applicationName = uniqueName('app');
    await createStream(streamName, 1);
    await produce(streamName, 100, { keys: 10 });
    const processed = new Set<string>();
    const events: ConsumerMetricEvent[] = [];
    const consumer = recordingConsumer({ records: [] }, 'w', {
      streamName,
      applicationName,
      onMetric: (e) => events.push(e),
      processor: {
        processRecord(r) {
          const id = Buffer.from(r.data).toString();
          if (id === POISON) throw new Error('cannot parse');
          processed.add(id);
        },
      },
      deadLetter: {
        send: async (records) => {
          if (failing) throw new Error('queue unavailable');
          acknowledged.push(...records);
        },
      },
      retryBudget: fast,
    });
    await consumer.start();
    await waitFor(() => consumer.health().shards[0]?.deadLetterFailing === true, {
      timeoutMs: 60_000,
      message: 'the shard reports its failing destination',
    });
    expect(consumer.health().healthy).toBe(false);
    expect(events.some((e) => e.type === 'deadLetterFailed')).toBe(true);
    // Stopped at the poison record (one record at a time): what comes after it waits.
    expect(processed.size).toBeLessThan(99);
    failing = false;
    await waitFor(() => processed.size === 99, {
      timeoutMs: 60_000,
      message: 'the rest processed',
    });
    await consumer.stop();
    expect(acknowledged.map((l) => Buffer.from(l.data).toString())).toEqual([POISON]);
  });
});

import { GetRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { createStream, kinesisClient, uniqueName, waitFor } from '../src/backend';
import {
  duplicates,
  orderByKey,
  produce,
  recordingConsumer,
  type Seen,
} from '../src/support/consumer-harness';

/** A Kinesis client that notes when each GetRecords is sent. */
function countingClient(sent: number[]): KinesisClient {
  const client = kinesisClient();
  const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
  (client as unknown as { send: (...args: unknown[]) => Promise<unknown> }).send = (
    command,
    ...rest
  ) => {
    if (command instanceof GetRecordsCommand) sent.push(performance.now());
    return send(command, ...rest);
  };
  return client;
}

describe('polling read-ahead against real Kinesis and DynamoDB engines', () => {
  it('a slow processor gets every record once, in order per key, with GetRecords sent while it works', async () => {
    const streamName = uniqueName('consumer-read-ahead');
    await createStream(streamName, 1);
    // Waves, so the shard holds several aggregates (one producer flush each).
    const sent = new Map<string, string[]>();
    for (let wave = 0; wave < 8; wave++)
      for (const [k, ids] of await produce(streamName, 75, { keys: 12, prefix: `w${wave}` }))
        sent.set(k, [...(sent.get(k) ?? []), ...ids]);
    const seen: Seen = { records: [] };
    const getRecordsAt: number[] = [];
    const calls: { from: number; to: number }[] = [];
    const consumer = recordingConsumer(
      seen,
      'w1',
      {
        streamName,
        applicationName: uniqueName('app'),
        kinesisClient: countingClient(getRecordsAt),
        maxRecords: 1, // one aggregate per batch: many batches
        readAhead: { maxBatches: 2 },
      },
      async () => {
        const from = performance.now();
        await new Promise((resolve) => setTimeout(resolve, 400)); // slower than the 200 ms read spacing
        calls.push({ from, to: performance.now() });
      },
    );
    await consumer.start();
    await waitFor(
      () => [...sent].every(([k, ids]) => orderByKey(seen).get(k)?.length === ids.length),
      { timeoutMs: 60_000, message: 'all records consumed' },
    );
    await consumer.stop();
    expect(orderByKey(seen)).toEqual(sent);
    expect(duplicates(seen)).toEqual([]);
    // Read ahead: GetRecords went out while processRecords calls were running.
    const during = getRecordsAt.filter((t) => calls.some((c) => t > c.from && t < c.to));
    expect(calls.length).toBeGreaterThan(1);
    expect(during.length).toBeGreaterThan(0);
  });
});

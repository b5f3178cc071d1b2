import { FakeKinesis } from '@shardline/fake-kinesis';
import { Producer, type PutResult } from '@shardline/producer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../src/backend';
import { countIds, tally } from '../../src/faults/count';
import { scenario } from '../../src/faults/report';

// Scenario 4: the backend stops answering. The producer must hold its buffer bound, make `put`
// wait instead of buffering without limit, and finish everything once the backend is back.
describe('scenario 4: backend stalled', () => {
  let fake: FakeKinesis;
  beforeAll(async () => {
    fake = await FakeKinesis.start({ seed: 4 });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('keeps buffered bytes under maxBufferedBytes, makes put wait, and completes everything after the stall', async () => {
    // bufferedMemoryBytes: what the producer holds for its records (data and its working copies),
    // the figure maxBufferedBytes bounds.
    const streamName = 'stall';
    fake.createStream(streamName, 2);
    const client = fake.client();
    const BOUND = 256 * 1024;
    const producer = new Producer({
      streamName,
      kinesisClient: client,
      maxBufferedBytes: BOUND,
      recordMaxBufferedTime: 10,
      recordTtl: 120_000,
      requestTimeout: 60_000,
    });
    await producer.start();
    const stall = fake.inject({ kind: 'stall', operation: 'PutRecords' });
    const COUNT = 2000;
    const payload = 'x'.repeat(1000);
    const ids = Array.from({ length: COUNT }, (_, i) => `s4-${i}`);
    const succeeded = new Map<string, PutResult>();
    const failed: unknown[] = [];
    let seen = new Map<string, number>();
    let peakBuffered = 0;
    await scenario(
      '4. backend stalled (buffer bound, put waits)',
      () => ({ ...tally([...succeeded.keys()], seen), sent: COUNT, faultsInjected: stall.applied }),
      async () => {
        const puts = ids.map((id, i) =>
          producer.put({ partitionKey: `key-${i % 31}`, data: `${id}|${payload}` }).then(
            (result) => void succeeded.set(id, result),
            (error: unknown) => void failed.push(error),
          ),
        );
        // The buffer fills to its bound while every PutRecords hangs; the rest of the puts wait.
        await waitFor(
          () => {
            const stats = producer.stats();
            peakBuffered = Math.max(peakBuffered, stats.bufferedMemoryBytes);
            return (
              stall.applied > 0 && stats.bufferedMemoryBytes > BOUND / 2 && stats.recordsPut < COUNT
            );
          },
          {
            timeoutMs: 30_000,
            intervalMs: 20,
            message: 'producer buffer filled while the backend is stalled',
          },
        );
        // Still stalled: nothing more is accepted beyond the bound, nothing has finished.
        const before = producer.stats();
        await waitFor(
          () => stall.applied >= 1 && producer.stats().recordsPut === before.recordsPut,
          { timeoutMs: 10_000, intervalMs: 50 },
        );
        expect(succeeded.size).toBe(0);
        expect(failed).toHaveLength(0);
        expect(producer.stats().recordsPut).toBeLessThan(COUNT);
        const stalled = producer.stats();
        peakBuffered = Math.max(peakBuffered, stalled.bufferedMemoryBytes);
        expect(peakBuffered).toBeLessThanOrEqual(BOUND);
        // The bound covers the producer's copies too: the user data it holds is a fraction of it.
        expect(stalled.bufferedBytes).toBeLessThan(stalled.bufferedMemoryBytes);

        // The backend comes back.
        fake.clearFaults();
        fake.release();
        const sampler = setInterval(
          () => (peakBuffered = Math.max(peakBuffered, producer.stats().bufferedMemoryBytes)),
          5,
        );
        await Promise.all(puts);
        clearInterval(sampler);
        await producer.close();
        client.destroy();
        seen = countIds(fake.records(streamName));
        expect(failed).toHaveLength(0);
        expect(succeeded.size).toBe(COUNT);
        expect(peakBuffered).toBeLessThanOrEqual(BOUND);
        for (const id of ids) expect(seen.get(id) ?? 0, `record ${id} lost`).toBeGreaterThan(0);
      },
    );
  });
});

import { FakeKinesis } from '@shardline/fake-kinesis';
import { Producer, ShardlineError, type PutResult } from '@shardline/producer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countIds, tally } from '../../src/faults/count';
import { scenario } from '../../src/faults/report';

// Scenario 2: 30 % of the producer's calls fail (throttled, 5xx, connection reset), on top of
// entries failed inside accepted calls. Every record must end in exactly one outcome.
describe('scenario 2: producer under 30 % call failures', () => {
  let fake: FakeKinesis;
  beforeAll(async () => {
    fake = await FakeKinesis.start({ seed: 42 });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('drops nothing silently: every record succeeds within its TTL or fails typed, and the totals add up', async () => {
    const streamName = 'faults-30pct';
    fake.createStream(streamName, 4);
    // About 30 % of PutRecords calls end in a fault (1 − 0.88³ ≈ 0.32); a fifth of the rest lose a
    // share of their entries to per-entry throttling.
    const rules = [
      fake.inject({ kind: 'throttle', operation: 'PutRecords', probability: 0.12 }),
      fake.inject({ kind: 'internal', operation: 'PutRecords', probability: 0.12 }),
      fake.inject({ kind: 'reset', operation: 'PutRecords', probability: 0.12 }),
      fake.inject({ kind: 'partial', operation: 'PutRecords', probability: 0.2, fraction: 0.3 }),
    ];
    const client = fake.client();
    const producer = new Producer({
      streamName,
      kinesisClient: client,
      recordMaxBufferedTime: 10,
      recordTtl: 20_000,
      // Small aggregates and requests, so there are many calls for the faults to hit.
      aggregationMaxCount: 10,
      collectionMaxCount: 2,
      retry: { minTimeout: 5, maxTimeout: 100, retries: 1000 },
    });
    const COUNT = 4000;
    const ids = Array.from({ length: COUNT }, (_, i) => `s2-${i}`);
    const succeeded = new Map<string, PutResult>();
    const failed = new Map<string, unknown>();
    let seen = new Map<string, number>();
    await scenario(
      '2. 30 % producer calls throttled / 5xx / reset',
      () => ({
        ...tally([...succeeded.keys()], seen),
        sent: COUNT,
        faultsInjected: fake.stats.faultsInjected,
      }),
      async () => {
        await Promise.all(
          ids.map((id, i) =>
            producer.put({ partitionKey: `key-${i % 97}`, data: id }).then(
              (result) => void succeeded.set(id, result),
              (error: unknown) => void failed.set(id, error),
            ),
          ),
        );
        await producer.close();
        client.destroy();
        seen = countIds(fake.records(streamName));

        const calls = fake.stats.calls.PutRecords ?? 0;
        const terminal = rules.slice(0, 3).reduce((n, r) => n + r.applied, 0);
        expect(terminal / calls).toBeGreaterThan(0.2);
        expect(rules[3]!.applied).toBeGreaterThan(0);
        // Exactly one outcome per record, and the producer's own totals agree.
        expect(succeeded.size + failed.size).toBe(COUNT);
        for (const id of ids) expect(succeeded.has(id) !== failed.has(id)).toBe(true);
        const stats = producer.stats();
        expect(stats.recordsSucceeded).toBe(succeeded.size);
        expect(stats.recordsFailed).toBe(failed.size);
        expect(stats.bufferedRecords).toBe(0);
        // A failure names its cause with a typed error.
        for (const error of failed.values()) {
          expect(error).toBeInstanceOf(ShardlineError);
          expect((error as ShardlineError).code).toMatch(/^[A-Z_]+$/);
        }
        // A success is in the stream, on the shard and at the sequence number it reported.
        const bySeq = new Map(fake.records(streamName).map((r) => [r.sequenceNumber, r]));
        for (const [id, result] of succeeded) {
          expect(seen.get(id) ?? 0, `record ${id} reported delivered but absent`).toBeGreaterThan(
            0,
          );
          expect(bySeq.has(result.sequenceNumber)).toBe(true);
          expect(
            fake
              .records(streamName, result.shardId)
              .some((r) => r.sequenceNumber === result.sequenceNumber),
          ).toBe(true);
        }
        // Retries went through the faults: a record retried carries its failed attempts.
        expect(
          [...succeeded.values()].some(
            (r) => r.attempts.length > 1 && r.attempts.slice(0, -1).every((a) => !a.success),
          ),
        ).toBe(true);
      },
    );
  });
});

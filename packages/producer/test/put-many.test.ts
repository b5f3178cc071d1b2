import { describe, expect, it } from 'vitest';
import {
  InvalidRecordError,
  ProducerClosedError,
  type PutOutcome,
  type PutResult,
} from '../src/index';
import { useFakeStream } from './fake-stream';

const ctx = useFakeStream('m');
const { setup, stored } = ctx;

function value(outcome: PutOutcome | undefined): PutResult {
  if (outcome?.status !== 'fulfilled')
    throw new Error(`expected a success, got ${JSON.stringify(outcome)}`);
  return outcome.value;
}

describe('Producer.putMany', () => {
  it('delivers every record and reports each where it landed, in the order given', async () => {
    const { streamName, producer } = setup(3);
    const records = Array.from({ length: 3_000 }, (_, i) => ({
      partitionKey: `key-${i % 97}`,
      data: `record-${i}`,
    }));
    const outcomes = await producer.putMany(records);
    expect(outcomes).toHaveLength(records.length);
    const all = stored(streamName);
    outcomes.forEach((outcome, i) => {
      const r = value(outcome);
      expect(all.get(`${r.sequenceNumber}/${r.aggregated ? r.subSequenceNumber : 0}`)).toEqual({
        shardId: r.shardId,
        partitionKey: `key-${i % 97}`,
        data: `record-${i}`,
      });
    });
    expect(all.size).toBe(records.length);
    expect(producer.stats()).toMatchObject({
      recordsPut: 3_000,
      recordsSucceeded: 3_000,
      bufferedRecords: 0,
    });
  });

  it('fails a bad record alone, with its typed error, and delivers the rest', async () => {
    const { streamName, producer } = setup(1);
    const outcomes = await producer.putMany([
      { partitionKey: 'a', data: 'first' },
      { partitionKey: '', data: 'empty key' },
      { partitionKey: 'c', data: 42 as unknown as string },
      { partitionKey: 'd', data: 'last' },
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    for (const o of outcomes.slice(1, 3))
      expect(o.status === 'rejected' && o.reason).toBeInstanceOf(InvalidRecordError);
    expect([...stored(streamName).values()].map((r) => r.data).sort()).toEqual(['first', 'last']);
  });

  it('waits for buffer room in order beyond the bound, and an empty batch resolves at once', async () => {
    const { streamName, producer } = setup(2, { maxBufferedRecords: 25 });
    expect(await producer.putMany([])).toEqual([]);
    const records = Array.from({ length: 500 }, (_, i) => ({
      partitionKey: `k${i}`,
      data: `r${i}`,
    }));
    const pending = producer.putMany(records);
    await producer.flush(); // waits for the records still queued for room, too
    const outcomes = await pending;
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
    expect(stored(streamName).size).toBe(500);
  });

  it('on close, records still waiting for room fail as closed; none is left without an outcome', async () => {
    const { producer } = setup(1, { maxBufferedRecords: 10 });
    await producer.start();
    ctx.fake.inject({ operation: 'PutRecords', kind: 'stall' });
    const pending = producer.putMany(
      Array.from({ length: 50 }, (_, i) => ({ partitionKey: 'k', data: `r${i}` })),
    );
    await producer.close({ timeoutMs: 100 });
    const outcomes = await pending;
    expect(outcomes).toHaveLength(50);
    expect(
      outcomes.every((o) => o.status === 'rejected' && o.reason instanceof ProducerClosedError),
    ).toBe(true);
    ctx.fake.release();
  });
});

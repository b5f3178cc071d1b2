import type { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import type { KinesisRecord } from '../src/kinesis-record';
import { Sender, type CallResult } from '../src/sender';
import { kinesisRecord, userRecord } from './stage-fixtures';

/** A client whose PutRecords calls wait until the test answers them. */
function heldClient() {
  const calls: { input: PutRecordsCommand['input']; answer: (error?: Error) => void }[] = [];
  const client = {
    send(command: PutRecordsCommand) {
      return new Promise((resolve, reject) =>
        calls.push({
          input: command.input,
          answer: (error) =>
            error
              ? reject(error)
              : resolve({
                  Records: command.input.Records!.map((_, i) => ({
                    ShardId: 'A',
                    SequenceNumber: String(i),
                  })),
                }),
        }),
      );
    },
  };
  return { client: client as unknown as KinesisClient, calls };
}

describe('Sender', () => {
  it('keeps at most maxConnections calls out, the rest in order; one try per call; records marked in flight meanwhile', async () => {
    const { client, calls } = heldClient();
    const results: { batch: KinesisRecord[]; result: CallResult }[] = [];
    const sender = new Sender(
      client,
      { streamName: 's', streamArn: undefined, maxConnections: 2, requestTimeout: 6000 },
      (batch, result) => results.push({ batch, result }),
    );
    const batches = [1, 2, 3].map((i) => [kinesisRecord('A', [userRecord('k', `r${i}`)])]);
    for (const b of batches) sender.send(b);
    await Promise.resolve();
    expect(calls).toHaveLength(2);
    expect(sender.pending).toBe(3);
    expect(batches[0]![0]!.records[0]!.inFlight).toBe(true);
    expect(batches[2]![0]!.records[0]!.inFlight).toBe(false);
    expect(calls[0]!.input).toMatchObject({ StreamName: 's', Records: [{ PartitionKey: 'k' }] });
    calls[0]!.answer(Object.assign(new Error('boom'), { name: 'InternalFailure' }));
    await new Promise((r) => setImmediate(r));
    expect(results[0]).toMatchObject({ batch: batches[0], result: { ok: false } });
    expect(batches[0]![0]!.records[0]!.inFlight).toBe(false);
    expect(calls).toHaveLength(3); // the waiting call took the freed connection; the failed one was not retried
    calls[1]!.answer();
    calls[2]!.answer();
    await new Promise((r) => setImmediate(r));
    expect(results.map((r) => r.result.ok)).toEqual([false, true, true]);
    expect(sender.pending).toBe(0);
  });

  it('asks admit as a call starts: it may leave a record out or hand a rebuilt one', async () => {
    const { client, calls } = heldClient();
    const keep = kinesisRecord('A', [userRecord('k', 'keep')]);
    const drop = kinesisRecord('A', [userRecord('k', 'drop')]);
    const swap = kinesisRecord('A', [userRecord('k', 'old')]);
    const rebuilt = kinesisRecord('A', [userRecord('j', 'new')]);
    const results: KinesisRecord[][] = [];
    const sender = new Sender(
      client,
      { streamName: 's', streamArn: undefined, maxConnections: 1, requestTimeout: 6000 },
      (batch) => results.push(batch),
      (r) => (r === drop ? undefined : r === swap ? rebuilt : r),
    );
    sender.send([keep, drop, swap]);
    sender.send([drop]); // nothing left: no call
    expect(calls.map((c) => c.input.Records!.map((r) => r.PartitionKey))).toEqual([['k', 'j']]);
    calls[0]!.answer();
    await new Promise((r) => setImmediate(r));
    expect(results).toEqual([[keep, rebuilt]]);
    expect(sender.pending).toBe(0);
  });
});

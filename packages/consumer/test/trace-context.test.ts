import { aggregate } from '@shardline/aggregation';
import { describe, expect, it } from 'vitest';
import { kinesisRecordHandler, type KinesisUserRecord } from '../src/lambda';
import { decodeRecords } from '../src/record-decoder';

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const [tagged] = aggregate([
  { partitionKey: 'a', data: Buffer.from('x'), tags: { traceparent: PARENT, tracestate: 'v=1' } },
  { partitionKey: 'b', data: Buffer.from('y') },
  { partitionKey: 'c', data: Buffer.from('z'), tags: { other: 'tag' } },
]);

describe('the trace context a record carried', () => {
  it('is the consumer record’s traceContext, and absent when its tags hold none', () => {
    const { records } = decodeRecords(
      [{ data: tagged!.data, partitionKey: 'a', sequenceNumber: '9' }],
      { shardId: 's' },
    );
    expect(records.map((r) => r.traceContext)).toEqual([
      { traceparent: PARENT, tracestate: 'v=1' },
      undefined,
      undefined,
    ]);
    expect(records[1]).not.toHaveProperty('traceContext');
    expect(records[2]).not.toHaveProperty('traceContext');
  });

  it('is the Lambda record’s traceContext', async () => {
    const seen: KinesisUserRecord[] = [];
    const handler = kinesisRecordHandler((record) => {
      seen.push(record);
    });
    await handler(
      {
        Records: [
          {
            kinesis: {
              partitionKey: 'a',
              sequenceNumber: '49650000000000000000000000000000000000000000000000000001',
              data: Buffer.from(tagged!.data).toString('base64'),
              approximateArrivalTimestamp: 1_732_350_000.123,
            },
            eventID:
              'shardId-000000000000:49650000000000000000000000000000000000000000000000000001',
            eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders',
          },
        ],
      },
      {},
    );
    expect(seen.map((r) => r.traceContext)).toEqual([
      { traceparent: PARENT, tracestate: 'v=1' },
      undefined,
      undefined,
    ]);
  });
});

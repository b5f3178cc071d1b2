import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend';
import { operate } from '../src/operations';
import { StreamRegistry } from '../src/registry';
import { ServiceError } from '../src/service-error';
import { emptyStats } from '../src/stats';
import { ShardLimits } from '../src/throughput';

function backend(random = () => 0.5): Backend {
  return {
    streams: new StreamRegistry('eu-west-1'),
    stats: emptyStats(),
    limits: new ShardLimits(false),
    maxRecordBytes: 16,
    discard: false,
    random,
  };
}

const serviceError = (run: () => unknown): ServiceError => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceError);
    return error as ServiceError;
  }
  throw new Error('expected a ServiceError');
};

const data = (s: string) => Buffer.from(s).toString('base64');

describe('operate', () => {
  it('refuses operations it does not know, also names of Object.prototype', () => {
    const b = backend();
    for (const name of ['DeleteStream', 'constructor', 'toString', ''])
      expect(serviceError(() => operate(b, name, {})).type).toBe('UnknownOperationException');
  });

  it('creates streams, names them by name or ARN, and pages ListShards', () => {
    const b = backend();
    operate(b, 'CreateStream', { StreamName: 's', ShardCount: 3 });
    expect(JSON.parse(operate(b, 'ListStreams', {})).StreamNames).toEqual(['s']);
    const arn = JSON.parse(operate(b, 'DescribeStreamSummary', { StreamName: 's' }))
      .StreamDescriptionSummary.StreamARN as string;
    expect(arn).toBe('arn:aws:kinesis:eu-west-1:000000000000:stream/s');
    const first = JSON.parse(operate(b, 'ListShards', { StreamARN: arn, MaxResults: 2 }));
    expect(first.Shards).toHaveLength(2);
    const rest = JSON.parse(operate(b, 'ListShards', { NextToken: first.NextToken }));
    expect(rest.Shards.map((s: { ShardId: string }) => s.ShardId)).toEqual([
      'shardId-000000000002',
    ]);
    expect(rest.NextToken).toBeUndefined();
    expect(serviceError(() => operate(b, 'ListShards', { StreamName: 'nope' })).type).toBe(
      'ResourceNotFoundException',
    );
    expect(serviceError(() => operate(b, 'ListShards', {})).type).toBe('ValidationException');
  });

  it('reshards through the API and reports open shards', () => {
    const b = backend();
    operate(b, 'CreateStream', { StreamName: 's', ShardCount: 2 });
    const half = (1n << 127n).toString();
    expect(
      serviceError(() =>
        operate(b, 'SplitShard', {
          StreamName: 's',
          ShardToSplit: 'shardId-000000000000',
          NewStartingHashKey: half,
        }),
      ).message,
    ).toContain('outside the shard');
    operate(b, 'SplitShard', {
      StreamName: 's',
      ShardToSplit: 'shardId-000000000000',
      NewStartingHashKey: '100',
    });
    const open = () =>
      JSON.parse(operate(b, 'DescribeStreamSummary', { StreamName: 's' })).StreamDescriptionSummary
        .OpenShardCount as number;
    expect(open()).toBe(3);
    operate(b, 'MergeShards', {
      StreamName: 's',
      ShardToMerge: 'shardId-000000000002',
      AdjacentShardToMerge: 'shardId-000000000003',
    });
    expect(open()).toBe(2);
    expect(
      serviceError(() =>
        operate(b, 'MergeShards', {
          StreamName: 's',
          ShardToMerge: 'shardId-000000000000',
          AdjacentShardToMerge: 'shardId-000000000001',
        }),
      ).type,
    ).toBe('ResourceNotFoundException');
  });

  it('PutRecords validates the call, fails a partial share by the seeded RNG, and counts', () => {
    const b = backend(() => 0.2);
    operate(b, 'CreateStream', { StreamName: 's', ShardCount: 1 });
    expect(
      serviceError(() => operate(b, 'PutRecords', { StreamName: 's', Records: [] })).type,
    ).toBe('ValidationException');
    expect(
      serviceError(() =>
        operate(b, 'PutRecords', {
          StreamName: 's',
          Records: [{ PartitionKey: 'k', Data: data('x'.repeat(64)) }],
        }),
      ).message,
    ).toContain('less than or equal to 16');
    const records = [{ PartitionKey: 'k', Data: data('abc') }];
    const failed = JSON.parse(
      operate(b, 'PutRecords', { StreamName: 's', Records: records }, { fraction: 0.3, code: 'X' }),
    );
    expect(failed.FailedRecordCount).toBe(1);
    expect(failed.Records[0].ErrorCode).toBe('X');
    const stored = JSON.parse(
      operate(b, 'PutRecords', { StreamName: 's', Records: records }, { fraction: 0.1, code: 'X' }),
    );
    expect(stored.FailedRecordCount).toBe(0);
    expect(b.stats).toMatchObject({
      entriesAccepted: 1,
      entriesFailed: { X: 1 },
      bytesAccepted: 4,
    });
    const one = JSON.parse(operate(b, 'PutRecord', { StreamName: 's', ...records[0] }));
    expect(one.ShardId).toBe('shardId-000000000000');
  });

  it('reads from each iterator type', () => {
    const b = backend();
    operate(b, 'CreateStream', { StreamName: 's', ShardCount: 1 });
    const put = JSON.parse(
      operate(b, 'PutRecords', {
        StreamName: 's',
        Records: ['a', 'b', 'c'].map((d) => ({ PartitionKey: 'k', Data: data(d) })),
      }),
    );
    const second = put.Records[1].SequenceNumber as string;
    const read = (type: string, extra: Record<string, unknown> = {}) => {
      const { ShardIterator } = JSON.parse(
        operate(b, 'GetShardIterator', {
          StreamName: 's',
          ShardId: 'shardId-000000000000',
          ShardIteratorType: type,
          ...extra,
        }),
      );
      return JSON.parse(operate(b, 'GetRecords', { ShardIterator })).Records.map(
        (r: { Data: string }) => Buffer.from(r.Data, 'base64').toString(),
      );
    };
    expect(read('TRIM_HORIZON')).toEqual(['a', 'b', 'c']);
    expect(read('LATEST')).toEqual([]);
    expect(read('AT_SEQUENCE_NUMBER', { StartingSequenceNumber: second })).toEqual(['b', 'c']);
    expect(read('AFTER_SEQUENCE_NUMBER', { StartingSequenceNumber: second })).toEqual(['c']);
    expect(serviceError(() => read('SOMEWHERE')).type).toBe('InvalidArgumentException');
  });
});

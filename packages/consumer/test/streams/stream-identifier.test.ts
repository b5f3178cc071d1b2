import { describe, expect, it } from 'vitest';
import { ConfigError, Consumer } from '../../src/index';
import {
  multiStreamLeaseKey,
  parseMultiStreamLeaseKey,
  parseStreamArn,
  parseStreamIdentifier,
  serializeStreamIdentifier,
  streamIdentifierOf,
} from '../../src/streams/stream-identifier';
import {
  shardIdOfLease,
  shardView,
  streamIdOfLease,
  toMultiStreamLease,
} from '../../src/streams/stream-leases';
import { newLease } from '../support/lease-tables';

// Strings from the KCL's own tests (amazon-kinesis-client):
// StreamIdentifierTest: TEST_ACCOUNT_ID "123456789012", STREAM_NAME "stream-name", EPOCH 1680616058,
//   serialize() = String.join(":", TEST_ACCOUNT_ID, STREAM_NAME, Long.toString(EPOCH)), and the
//   serializations testMultiStreamDeserializationFail refuses.
// DynamoDBMultiStreamLeaseSerializerTest: STREAM_IDENTIFIER "123456789012:test-stream:1",
//   SHARD_ID "shardId-000000000000", LEASE_KEY = STREAM_IDENTIFIER + ":" + SHARD_ID.

describe('stream identifier (the KCL StreamIdentifier)', () => {
  it('serializes account:stream:creationEpoch and parses it back', () => {
    const id = { accountId: '123456789012', streamName: 'stream-name', creationEpoch: 1680616058 };
    expect(serializeStreamIdentifier(id)).toBe('123456789012:stream-name:1680616058');
    expect(parseStreamIdentifier('123456789012:stream-name:1680616058')).toEqual(id);
  });

  it("refuses what the KCL's testMultiStreamDeserializationFail refuses", () => {
    for (const bad of [
      ':stream-name:123', // missing account id
      '123456789abc:stream-name:123', // 12char alphanumeric account id
      '123456789012::123', // missing stream name
      '123456789012:stream-name', // missing delimiter and creation epoch
      '123456789012:stream-name:', // missing creation epoch
      '123456789012:stream-name:-123', // negative creation epoch
      '123456789012:stream-name:abc', // non-numeric creation epoch
      '',
      '::',
    ])
      expect(parseStreamIdentifier(bad), bad).toBeUndefined();
    expect(parseStreamIdentifier('123456789012:stream-name:0')).toBeUndefined(); // epoch must be > 0
  });

  it('makes and splits the lease key as MultiStreamLease.getLeaseKey does', () => {
    const key = multiStreamLeaseKey('123456789012:test-stream:1', 'shardId-000000000000');
    expect(key).toBe('123456789012:test-stream:1:shardId-000000000000');
    expect(parseMultiStreamLeaseKey(key)).toEqual({
      streamIdentifier: '123456789012:test-stream:1',
      shardId: 'shardId-000000000000',
    });
    expect(parseMultiStreamLeaseKey('shardId-000000000000')).toBeUndefined();
  });

  it('takes the account from the ARN and the epoch in seconds from the creation time', () => {
    expect(parseStreamArn('arn:aws:kinesis:us-west-1:123456789012:stream/stream-name')).toEqual({
      accountId: '123456789012',
      streamName: 'stream-name',
    });
    expect(parseStreamArn('arn:aws:dynamodb:us-east-2:123456789012:table/myDynamoDBTable')).toBe(
      undefined,
    );
    expect(
      serializeStreamIdentifier(
        streamIdentifierOf(
          'arn:aws-cn:kinesis:cn-north-1:123456789012:stream/stream-name',
          new Date(1680616058_999),
        ),
      ),
    ).toBe('123456789012:stream-name:1680616058');
  });
});

describe('multi-stream leases', () => {
  const id = '123456789012:test-stream:1';

  it('stores a shard lease in the KCL form and views it keyed by shard id again', () => {
    const stored = toMultiStreamLease(
      newLease('shardId-000000000002', { parentShardIds: ['shardId-000000000000'] }),
      id,
    );
    expect(stored).toMatchObject({
      leaseKey: `${id}:shardId-000000000002`,
      streamIdentifier: id,
      shardId: 'shardId-000000000002',
      // Parents stay bare shard ids, as HierarchicalShardSyncer.newKCLMultiStreamLease writes them.
      parentShardIds: ['shardId-000000000000'],
    });
    expect(streamIdOfLease(stored)).toBe(id);
    expect(shardView(stored).leaseKey).toBe('shardId-000000000002');
    // A lease read without the attributes (e.g. a projection of an older version) goes by its key.
    expect(streamIdOfLease({ ...stored, streamIdentifier: undefined })).toBe(id);
    expect(shardIdOfLease({ ...stored, shardId: undefined })).toBe('shardId-000000000002');
    expect(streamIdOfLease(newLease('shardId-000000000000'))).toBeUndefined();
  });
});

describe('streams option', () => {
  const base = {
    applicationName: 'app-multi',
    kinesisClient: { send: () => {} } as never,
    dynamoDBClient: { send: () => {} } as never,
    processor: { processRecords: () => {} },
  };

  it('needs exactly one of streamName, streamArn or streams', () => {
    expect(
      () => new Consumer({ ...base, streamName: 'a', streams: [{ streamName: 'b' }] }),
    ).toThrow(ConfigError);
    expect(() => new Consumer({ ...base, streams: [] })).toThrow(/non-empty/);
    expect(() => new Consumer({ ...base, streams: [{}] })).toThrow(/streams\[0\] needs streamName/);
    expect(
      () =>
        new Consumer({
          ...base,
          streams: [{ streamName: 'a', streamArn: 'arn:aws:kinesis:r:123456789012:stream/a' }],
        }),
    ).toThrow(/not both/);
    expect(
      () => new Consumer({ ...base, streams: [{ streamName: 'a' }, { streamName: 'a' }] }),
    ).toThrow(/twice/);
    expect(
      () =>
        new Consumer({
          ...base,
          streams: [{ streamName: 'a', initialPosition: 'EARLIEST' as never }],
        }),
    ).toThrow(/streams\[0\]\.initialPosition/);
    expect(() => new Consumer({ ...base, streams: [{ streamName: 'a' }] })).not.toThrow();
  });

  it('addStream and removeStream refuse a consumer of one stream', async () => {
    const consumer = new Consumer({ ...base, streamName: 'a' });
    await expect(consumer.addStream({ streamName: 'b' })).rejects.toThrow(/created with streams/);
    await expect(consumer.removeStream('a')).rejects.toThrow(/created with streams/);
    expect(consumer.streams).toEqual([]);
  });
});

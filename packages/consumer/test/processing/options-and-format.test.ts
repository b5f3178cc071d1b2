import { describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_FORMAT_VERSION,
  decodeDeadLetterRecord,
  encodeDeadLetterRecord,
  type DeadLetterRecord,
} from '../../src/dead-letter/format';
import { functionDestination } from '../../src/dead-letter/function-destination';
import { kinesisDestination } from '../../src/dead-letter/kinesis-destination';
import { ConfigError } from '../../src/errors';
import { resolveConsumerOptions, type ConsumerOptions } from '../../src/options';

// The options of issue 18 (per-shard parallelism, retry budget, dead-letter destination) and the
// dead-letter record format, without a server.

const base = {
  streamName: 's',
  applicationName: 'app',
  kinesisClient: { send() {} },
  dynamoDBClient: { send() {} },
} as unknown as ConsumerOptions;
const withProcessor = (processor: object, more: object = {}) =>
  ({ ...base, processor, ...more }) as ConsumerOptions;

describe('processing options', () => {
  it('defaults: one at a time, no dead-letter destination, bisection on', () => {
    expect(resolveConsumerOptions(withProcessor({ processRecords() {} }))).toMatchObject({
      maxConcurrencyPerShard: 1,
      deadLetter: undefined,
      retryBudget: undefined,
      bisectBatchOnError: true,
    });
  });

  it('maxConcurrencyPerShard above 1 with only processRecords is a PROCESS_RECORD_REQUIRED ConfigError', () => {
    const error = (() => {
      try {
        resolveConsumerOptions(
          withProcessor({ processRecords() {} }, { maxConcurrencyPerShard: 8 }),
        );
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('PROCESS_RECORD_REQUIRED');
    // So is the async iterator, which hands out whole batches.
    expect(() => resolveConsumerOptions({ ...base, maxConcurrencyPerShard: 2 }, true)).toThrow(
      /processRecord/,
    );
    expect(
      resolveConsumerOptions(withProcessor({ processRecord() {} }, { maxConcurrencyPerShard: 8 }))
        .maxConcurrencyPerShard,
    ).toBe(8);
  });

  it('a deadLetter gets the default budget', () => {
    expect(
      resolveConsumerOptions(withProcessor({ processRecord() {} }, { deadLetter: { send() {} } }))
        .retryBudget,
    ).toEqual({
      maxAttempts: 3,
      maxAgeMillis: Infinity,
      baseDelayMillis: 200,
      maxDelayMillis: 30_000,
    });
  });

  it.each([
    [{ maxConcurrencyPerShard: 0 }, /maxConcurrencyPerShard/],
    [{ maxConcurrencyPerShard: 2.5 }, /maxConcurrencyPerShard/],
    [{ retryBudget: { maxAttempts: 2 } }, /retryBudget needs a deadLetter/],
    [{ deadLetter: {} }, /deadLetter must be/],
    [{ deadLetter: { send: 'sqs' } }, /deadLetter.send must be a function/],
    [{ deadLetter: { kinesis: {} } }, /streamName or streamArn/],
    [{ deadLetter: { kinesis: { streamName: 'bad name' } } }, /not a valid Kinesis stream name/],
    [{ deadLetter: { send() {} }, retryBudget: { maxAttempts: 0 } }, /retryBudget.maxAttempts/],
    [{ bisectBatchOnError: 'yes' }, /bisectBatchOnError/],
  ])('refuses %j', (patch, message) => {
    expect(() => resolveConsumerOptions(withProcessor({ processRecord() {} }, patch))).toThrow(
      ConfigError,
    );
    expect(() => resolveConsumerOptions(withProcessor({ processRecord() {} }, patch))).toThrow(
      message,
    );
  });

  it('a processor needs processRecords or processRecord', () => {
    expect(() => resolveConsumerOptions(withProcessor({}))).toThrow(ConfigError);
  });
});

describe('dead-letter record format', () => {
  const letter: DeadLetterRecord = {
    formatVersion: DEAD_LETTER_FORMAT_VERSION,
    source: { streamName: 'orders', shardId: 'shardId-000000000001', applicationName: 'billing' },
    sequenceNumber: '49650000000000000000000000000000000000000000000000000001',
    subSequenceNumber: 3,
    partitionKey: 'customer-7',
    aggregated: true,
    data: Buffer.from([0, 1, 2, 255]),
    error: { name: 'TypeError', code: 'E_BAD', message: 'bad record' },
    attempts: 4,
    firstFailureAt: '2026-12-01T12:00:00.000Z',
    lastFailureAt: '2026-12-01T12:00:03.000Z',
  };

  it('is JSON with data in base64, and reads back', () => {
    const bytes = encodeDeadLetterRecord(letter);
    const json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    expect(json.formatVersion).toBe(1);
    expect(json.data).toBe('AAEC/w==');
    expect(json.subSequenceNumber).toBe(3);
    const back = decodeDeadLetterRecord(bytes);
    expect({ ...back, data: [...back.data] }).toEqual({ ...letter, data: [0, 1, 2, 255] });
  });

  it('refuses bytes of another format version', () => {
    expect(() => decodeDeadLetterRecord(Buffer.from('{"formatVersion":2,"data":""}'))).toThrow(
      /format version 1/,
    );
  });

  it('a function destination acknowledges when the function resolves, fails when it throws', async () => {
    const got: DeadLetterRecord[] = [];
    await functionDestination((r) => void got.push(...r)).send([letter]);
    expect(got).toEqual([letter]);
    await expect(
      functionDestination(() => {
        throw new Error('sqs down');
      }).send([letter]),
    ).rejects.toThrow('sqs down');
  });
});

describe('Kinesis dead-letter destination', () => {
  const letter = (n: number): DeadLetterRecord => ({
    formatVersion: 1,
    source: { streamName: 'orders', shardId: 'shardId-000000000000', applicationName: 'billing' },
    sequenceNumber: String(100 + n),
    subSequenceNumber: 0,
    partitionKey: `k${n}`,
    aggregated: false,
    data: Buffer.from(`r${n}`),
    error: { name: 'Error', message: 'bad' },
    attempts: 1,
    firstFailureAt: new Date(0).toISOString(),
    lastFailureAt: new Date(0).toISOString(),
  });

  it('puts each record with its partition key; after a half-failed send, only the rest again', async () => {
    const puts: string[] = [];
    let refuse = 'k1';
    const producer = {
      put: async (r: { partitionKey: string; data: Uint8Array | string }) => {
        if (r.partitionKey === refuse) throw new Error('throttled');
        puts.push(r.partitionKey);
        expect(decodeDeadLetterRecord(r.data as Uint8Array).partitionKey).toBe(r.partitionKey);
        return {} as never;
      },
      close: async () => {},
    };
    let opened = 0;
    const destination = kinesisDestination({ streamName: 'dlq' }, {} as never, async () => {
      opened++;
      return producer;
    });
    const letters = [letter(0), letter(1), letter(2)];
    await expect(destination.send(letters)).rejects.toThrow('throttled');
    refuse = '';
    await destination.send(letters);
    expect(puts.sort()).toEqual(['k0', 'k1', 'k2']);
    expect(opened).toBe(1);
    await destination.close();
  });
});

import {
  aggregate,
  compress,
  CompressionError,
  CorruptAggregateError,
  partitionKeyHash,
  type UserRecord,
} from '@shardline/aggregation';
import type {
  KinesisStreamBatchResponse as AwsResponse,
  KinesisStreamEvent as AwsEvent,
  KinesisStreamRecord as AwsRecord,
  Context,
  Handler,
} from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  InvalidEventError,
  kinesisHandler,
  kinesisRecordHandler,
  PoisonRecordError,
  RecordFailure,
  UnknownRecordError,
  type KinesisStreamEvent,
  type KinesisUserRecord,
  type LambdaLogger,
  type PoisonRecord,
} from '../src/lambda';
import { theirAggregate } from '../../aggregation/test/support/kinesis-agg';

const ARN = 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders';
const context = { functionName: 'test', getRemainingTimeInMillis: () => 60_000 };

/** What a producer put, as one Kinesis record's data. */
type Put = { data: Uint8Array; partitionKey: string };

let seqCounter = 0n;
/**
 * Builds a Lambda event record the way Lambda shapes it (typed by @types/aws-lambda, so every
 * test also checks that real events fit our types), with a realistic 56-digit sequence number.
 */
function eventRecord(shard: number, put: Put): AwsRecord {
  const seq = (
    49_650_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n +
    ++seqCounter * 1000n
  ).toString();
  const shardId = `shardId-${String(shard).padStart(12, '0')}`;
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: put.partitionKey,
      sequenceNumber: seq,
      data: Buffer.from(put.data).toString('base64'),
      approximateArrivalTimestamp: 1_732_350_000.123,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${seq}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/lambda',
    awsRegion: 'eu-west-1',
    eventSourceARN: ARN,
  };
}

const users = (prefix: string, n: number): UserRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    partitionKey: `${prefix}-pk-${i}`,
    data: Buffer.from(`${prefix}-${i}`),
  }));

/** One KPL aggregate of `records` (they all fit in one). */
function aggregated(records: UserRecord[]): Put {
  const out = aggregate(records);
  expect(out).toHaveLength(1);
  return out[0]!;
}

const plain = (text: string, partitionKey = `pk-${text}`): Put => ({
  partitionKey,
  data: Buffer.from(text),
});
const text = (r: KinesisUserRecord) => r.data.toString();

/**
 * A batch across two shards with every shape a KPL-style producer writes:
 * shard 0: plain "p0"; aggregate a0..a2; gzip around an aggregate g0..g1; plain gzip-compressed "c0"
 * shard 1: aggregate of snappy-compressed user records s0..s2; plain "p1"
 */
function mixedEvent() {
  const snappyUsers = users('s', 3).map((u) => ({ ...u, data: compress(u.data, 'snappy') }));
  const gz = aggregated(users('g', 2));
  const records = [
    eventRecord(0, plain('p0')),
    eventRecord(0, aggregated(users('a', 3))),
    eventRecord(1, aggregated(snappyUsers)),
    eventRecord(0, { partitionKey: gz.partitionKey, data: compress(gz.data, 'gzip') }),
    eventRecord(1, plain('p1')),
    eventRecord(0, { partitionKey: 'pk-c0', data: compress(Buffer.from('c0'), 'gzip') }),
  ];
  return { event: { Records: records } satisfies KinesisStreamEvent, records };
}
const seqOf = (r: AwsRecord) => r.kinesis.sequenceNumber;

/** Records every log call, to check what is (and is not) logged. */
function captureLogger() {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  const logger: LambdaLogger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
  return { logger, lines };
}

describe('kinesisHandler (batch form)', () => {
  it('hands each shard its de-aggregated, decompressed user records in order, with parent and sub-sequence numbers', async () => {
    const { event, records } = mixedEvent();
    const calls: { shardId: string; records: KinesisUserRecord[] }[] = [];
    const handler = kinesisHandler(
      async (rs, _ctx, batch) => void calls.push({ shardId: batch.shardId, records: [...rs] }),
    );

    const response = await handler(event, context);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(calls.map((c) => c.shardId)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    const [s0, s1] = [calls[0]!.records, calls[1]!.records];
    expect(s0.map(text)).toEqual(['p0', 'a-0', 'a-1', 'a-2', 'g-0', 'g-1', 'c0']);
    expect(s0.map((r) => [r.sequenceNumber, r.subSequenceNumber])).toEqual([
      [seqOf(records[0]!), 0],
      [seqOf(records[1]!), 0],
      [seqOf(records[1]!), 1],
      [seqOf(records[1]!), 2],
      [seqOf(records[3]!), 0],
      [seqOf(records[3]!), 1],
      [seqOf(records[5]!), 0],
    ]);
    expect(s0.map((r) => r.partitionKey)).toEqual([
      'pk-p0',
      'a-pk-0',
      'a-pk-1',
      'a-pk-2',
      'g-pk-0',
      'g-pk-1',
      'pk-c0',
    ]);
    expect(s0.map((r) => r.aggregated)).toEqual([false, true, true, true, true, true, false]);
    expect(s1.map(text)).toEqual(['s-0', 's-1', 's-2', 'p1']);
    expect(s1.map((r) => r.subSequenceNumber)).toEqual([0, 1, 2, 0]);
    const first = s0[0]!;
    expect(first.shardId).toBe('shardId-000000000000');
    expect(first.eventSourceARN).toBe(ARN);
    expect(first.eventID).toBe(records[0]!.eventID);
    expect(first.approximateArrivalTimestamp.getTime()).toBe(1_732_350_000_123);
  });

  it('delivers every record of an aws-kinesis-agg aggregate, whichever shards its keys hash to', async () => {
    // aws-kinesis-agg sends one aggregate for many keys with its first record's key, so most of
    // its records hash outside the shard it lands on. The adapter knows no shard's hash range
    // and delivers them all, as the consumer does by default (dropOutOfRangeAggregates).
    const input = Array.from({ length: 40 }, (_, i) => ({
      partitionKey: `user-${i}`,
      data: Buffer.from(`foreign-${i}`),
    }));
    expect(new Set(input.map((u) => partitionKeyHash(u.partitionKey) >> 126n)).size).toBe(4);
    const encoded = await theirAggregate(input);
    expect(encoded).toHaveLength(1);
    expect(encoded[0]!.partitionKey).toBe('user-0');
    const got: KinesisUserRecord[] = [];
    const handler = kinesisHandler(async (rs) => void got.push(...rs));

    const response = await handler({ Records: [eventRecord(0, encoded[0]!)] }, context);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(got.map(text)).toEqual(input.map((u) => u.data.toString()));
    expect(got.map((r) => r.partitionKey)).toEqual(input.map((u) => u.partitionKey));
    expect(got.map((r) => r.subSequenceNumber)).toEqual(input.map((_, i) => i));
  });

  it('passes the Lambda context through', async () => {
    const seen: unknown[] = [];
    await kinesisHandler(async (_rs, ctx) => void seen.push(ctx))(
      { Records: [eventRecord(0, plain('x'))] },
      context,
    );
    expect(seen).toEqual([context]);
  });

  it('reports the Kinesis record containing the user record named by RecordFailure', async () => {
    const { event, records } = mixedEvent();
    const handler = kinesisHandler(async (rs) => {
      for (const r of rs) if (text(r) === 'a-1') throw new RecordFailure(r, new Error('db down'));
    });
    const response = await handler(event, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: seqOf(records[1]!) }]);
  });

  it('reports the earliest record marked with batch.fail, per shard', async () => {
    const { event, records } = mixedEvent();
    const handler = kinesisHandler(async (rs, _ctx, batch) => {
      for (const r of rs)
        if (['c0', 'g-1', 'p1'].includes(text(r))) batch.fail(r, new Error('rejected'));
    });
    const response = await handler(event, context);
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: seqOf(records[3]!) },
      { itemIdentifier: seqOf(records[4]!) },
    ]);
  });

  it('accepts a copy of a record in batch.fail (matched by sequence and sub-sequence number)', async () => {
    const { event, records } = mixedEvent();
    const handler = kinesisHandler(async (rs, _ctx, batch) => {
      const r = rs.find((x) => text(x) === 'g-0');
      if (r) batch.fail({ ...r });
    });
    const response = await handler(event, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: seqOf(records[3]!) }]);
  });

  it('reports the first record of the shard when the handler throws anything else', async () => {
    const { event, records } = mixedEvent();
    const handler = kinesisHandler(async (rs, _ctx, batch) => {
      if (batch.shardId === 'shardId-000000000001') throw new Error('whole batch failed');
      void rs;
    });
    const response = await handler(event, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: seqOf(records[2]!) }]);
  });

  it('throws UnknownRecordError from batch.fail for a record not in the batch, and fails the batch from its start if uncaught', async () => {
    const { event, records } = mixedEvent();
    const errors: unknown[] = [];
    const handler = kinesisHandler(async (rs, _ctx, batch) => {
      if (batch.shardId !== 'shardId-000000000000') return;
      const stranger = { ...rs[1]!, subSequenceNumber: 99 };
      try {
        batch.fail(stranger);
      } catch (e) {
        errors.push(e);
        throw e;
      }
    });
    const response = await handler(event, context);
    expect(errors[0]).toBeInstanceOf(UnknownRecordError);
    expect((errors[0] as UnknownRecordError).code).toBe('UNKNOWN_RECORD');
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: seqOf(records[0]!) }]);
  });

  it('does not call the handler for a shard whose records are all poison, and returns no failure for an empty event', async () => {
    const handlerFn = vi.fn();
    const handler = kinesisHandler(handlerFn, { onPoisonRecord: () => {} });
    const corrupt = aggregated(users('x', 2));
    corrupt.data[corrupt.data.length - 1]! ^= 0xff;
    expect(await handler({ Records: [eventRecord(0, corrupt)] }, context)).toEqual({
      batchItemFailures: [],
    });
    expect(await handler({ Records: [] }, context)).toEqual({ batchItemFailures: [] });
    expect(handlerFn).not.toHaveBeenCalled();
  });
});

describe('kinesisRecordHandler (per-record form)', () => {
  it('reports the parent of the failed user record and processes nothing after it in that shard, while other shards go on', async () => {
    const { event, records } = mixedEvent();
    const seen: string[] = [];
    const handler = kinesisRecordHandler(async (r) => {
      if (text(r) === 'a-1') throw new Error('cannot store a-1');
      seen.push(text(r));
    });
    const response = await handler(event, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: seqOf(records[1]!) }]);
    expect(seen).toEqual(['p0', 'a-0', 's-0', 's-1', 's-2', 'p1']);
  });

  it('reports one failure per failing shard', async () => {
    const { event, records } = mixedEvent();
    const handler = kinesisRecordHandler(async (r) => {
      if (text(r) === 'g-0' || text(r) === 's-2') throw new Error('nope');
    });
    const response = await handler(event, context);
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: seqOf(records[3]!) },
      { itemIdentifier: seqOf(records[2]!) },
    ]);
  });

  it('loses nothing across a retry from the reported record, re-delivering only earlier siblings of the failed record', async () => {
    const { event } = mixedEvent();
    const delivered: string[] = [];
    let failOnce = true;
    const handler = kinesisRecordHandler(async (r) => {
      if (text(r) === 'g-1' && failOnce) {
        failOnce = false;
        throw new Error('transient');
      }
      delivered.push(text(r));
    });
    const first = await handler(event, context);
    const from = first.batchItemFailures[0]!.itemIdentifier;
    // Lambda's retry: the same shard from the reported sequence number on.
    const retry = event.Records.filter(
      (r) =>
        r.eventID.startsWith('shardId-000000000000') &&
        BigInt(r.kinesis.sequenceNumber) >= BigInt(from),
    );
    expect(await handler({ Records: retry }, context)).toEqual({ batchItemFailures: [] });
    // g-0 shares the failed Kinesis record, so it is delivered again (at least once); nothing is lost.
    expect(delivered).toEqual([
      'p0',
      'a-0',
      'a-1',
      'a-2',
      'g-0',
      's-0',
      's-1',
      's-2',
      'p1',
      'g-0',
      'g-1',
      'c0',
    ]);
  });
});

describe('poison records', () => {
  function poisonEvent() {
    const corrupt = aggregated(users('x', 3));
    corrupt.data[corrupt.data.length - 1]! ^= 0xff; // MD5 trailer no longer matches
    const unknownCodec = Buffer.from(compress(Buffer.from('secret-payload'), 'gzip'));
    unknownCodec[5] = 9; // codec id 9 does not exist
    const badInner = Buffer.from(compress(Buffer.from('i-1'), 'snappy'));
    badInner.fill(0xee, 10); // corrupt compressed payload inside one user record
    const withBadInner = aggregated([
      { partitionKey: 'i-pk-0', data: Buffer.from('i-0') },
      { partitionKey: 'i-pk-1', data: badInner },
      { partitionKey: 'i-pk-2', data: Buffer.from('i-2') },
    ]);
    const records = [
      eventRecord(0, plain('before')),
      eventRecord(0, corrupt),
      eventRecord(0, { partitionKey: 'pk-u', data: unknownCodec }),
      eventRecord(0, withBadInner),
      eventRecord(0, plain('after')),
    ];
    return { event: { Records: records }, records, unknownCodec };
  }

  it('hands corrupt aggregates and unknown envelopes to onPoisonRecord with typed errors, then skips them', async () => {
    const { event, records, unknownCodec } = poisonEvent();
    const poisoned: { error: PoisonRecordError; record: PoisonRecord }[] = [];
    const seen: string[] = [];
    const handler = kinesisRecordHandler(async (r) => void seen.push(text(r)), {
      onPoisonRecord: (error, record) => void poisoned.push({ error, record }),
    });

    const response = await handler(event, context);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(seen).toEqual(['before', 'i-0', 'i-2', 'after']);
    expect(poisoned).toHaveLength(3);
    const [md5, codec, inner] = poisoned as [
      (typeof poisoned)[0],
      (typeof poisoned)[0],
      (typeof poisoned)[0],
    ];
    for (const p of poisoned) {
      expect(p.error).toBeInstanceOf(PoisonRecordError);
      expect(p.error.code).toBe('POISON_RECORD');
      expect(p.record.shardId).toBe('shardId-000000000000');
    }
    expect(md5.error.cause).toBeInstanceOf(CorruptAggregateError);
    expect((md5.error.cause as CorruptAggregateError).kind).toBe('md5');
    expect(md5.record.sequenceNumber).toBe(seqOf(records[1]!));
    expect(md5.record.subSequenceNumber).toBeUndefined();
    expect(codec.error.cause).toBeInstanceOf(CompressionError);
    expect((codec.error.cause as CompressionError).kind).toBe('unknown-codec');
    expect(codec.record.data.equals(unknownCodec)).toBe(true);
    expect(codec.record.partitionKey).toBe('pk-u');
    expect(inner.error.cause).toBeInstanceOf(CompressionError);
    expect(inner.record.sequenceNumber).toBe(seqOf(records[3]!));
    expect(inner.record.subSequenceNumber).toBe(1);
    expect(inner.record.partitionKey).toBe('i-pk-1');
  });

  it('batch form: poison records go to the hook and the handler gets the rest in order', async () => {
    const { event } = poisonEvent();
    const hook = vi.fn();
    let got: string[] = [];
    const response = await kinesisHandler(async (rs) => void (got = rs.map(text)), {
      onPoisonRecord: hook,
    })(event, context);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(got).toEqual(['before', 'i-0', 'i-2', 'after']);
    expect(hook).toHaveBeenCalledTimes(3);
    expect(hook.mock.calls[0]![2]).toBe(context);
  });

  it('per-record form: a throwing hook fails that Kinesis record and stops its shard', async () => {
    const { event, records } = poisonEvent();
    const seen: string[] = [];
    const handler = kinesisRecordHandler(async (r) => void seen.push(text(r)), {
      onPoisonRecord: async (error) => {
        if (error.cause instanceof CompressionError) throw new Error('DLQ unavailable');
      },
    });
    const response = await handler(event, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: seqOf(records[2]!) }]);
    expect(seen).toEqual(['before']);
  });

  it('batch form: a throwing hook cuts the batch before that Kinesis record and reports it', async () => {
    const { event, records } = poisonEvent();
    let got: string[] = [];
    const handler = kinesisHandler(async (rs) => void (got = rs.map(text)), {
      onPoisonRecord: (_error, record) => {
        if (record.subSequenceNumber === 1) throw new Error('DLQ unavailable');
      },
    });
    const response = await handler(event, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: seqOf(records[3]!) }]);
    // i-0 shares the failed Kinesis record: Lambda delivers it again, so it is held back now.
    expect(got).toEqual(['before']);
  });

  it('batch form: a handler failure before a failed hook wins (lowest sequence number)', async () => {
    const { event, records } = poisonEvent();
    const handler = kinesisHandler(
      async (rs) => {
        throw new RecordFailure(rs[0]!);
      },
      { onPoisonRecord: () => Promise.reject(new Error('DLQ unavailable')) },
    );
    const response = await handler(event, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: seqOf(records[0]!) }]);
  });

  it('without a hook, skips and logs the poison record by sequence number and code, never its data', async () => {
    const { event, records } = poisonEvent();
    const { logger, lines } = captureLogger();
    const seen: string[] = [];
    const response = await kinesisRecordHandler(async (r) => void seen.push(text(r)), { logger })(
      event,
      context,
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(seen).toEqual(['before', 'i-0', 'i-2', 'after']);
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors.map((l) => (l.obj as { sequenceNumber: string }).sequenceNumber)).toEqual([
      seqOf(records[1]!),
      seqOf(records[2]!),
      seqOf(records[3]!),
    ]);
    expect(errors.map((l) => (l.obj as { code: string }).code)).toEqual([
      'CORRUPT_AGGREGATE_MD5',
      'COMPRESSION_UNKNOWN_CODEC',
      'COMPRESSION_CORRUPT',
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret-payload');
  });
});

describe('logging', () => {
  it('never logs record payloads, even on failure', async () => {
    const { logger, lines } = captureLogger();
    const handler = kinesisRecordHandler(
      async (r) => {
        if (text(r).includes('TOP-SECRET')) throw new Error('refused');
      },
      { logger },
    );
    const response = await handler(
      {
        Records: [
          eventRecord(0, plain('TOP-SECRET-1')),
          eventRecord(
            0,
            aggregated([
              { partitionKey: 'k', data: Buffer.from('TOP-SECRET-2') },
              { partitionKey: 'k', data: Buffer.from('x') },
            ]),
          ),
        ],
      },
      context,
    );
    expect(response.batchItemFailures).toHaveLength(1);
    expect(lines.some((l) => l.level === 'error')).toBe(true);
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain('TOP-SECRET');
    expect(logged).not.toContain(Buffer.from('TOP-SECRET-1').toString('base64'));
  });
});

describe('bad input and config', () => {
  const ok = kinesisRecordHandler(() => {});

  it('rejects events that are not Kinesis events with InvalidEventError', async () => {
    await expect(ok({} as KinesisStreamEvent, context)).rejects.toBeInstanceOf(InvalidEventError);
    await expect(
      ok({ Records: [{ s3: {} }] } as unknown as KinesisStreamEvent, context),
    ).rejects.toMatchObject({ code: 'INVALID_KINESIS_EVENT' });
    const noId = eventRecord(0, plain('x'));
    await expect(ok({ Records: [{ ...noId, eventID: '' }] }, context)).rejects.toThrow(/eventID/);
  });

  it('processes nothing when any record of the event is malformed', async () => {
    const fn = vi.fn();
    const bad = eventRecord(0, plain('y'));
    const event = {
      Records: [
        eventRecord(0, plain('x')),
        { ...bad, kinesis: { ...bad.kinesis, sequenceNumber: undefined } },
      ],
    } as unknown as KinesisStreamEvent;
    await expect(kinesisRecordHandler(fn)(event, context)).rejects.toBeInstanceOf(
      InvalidEventError,
    );
    expect(fn).not.toHaveBeenCalled();
  });

  it('rejects bad handlers and options with ConfigError at creation', () => {
    expect(() => kinesisHandler(undefined as never)).toThrow(ConfigError);
    expect(() => kinesisRecordHandler(() => {}, { onPoisonRecord: 'dlq' as never })).toThrow(
      ConfigError,
    );
    expect(() => kinesisRecordHandler(() => {}, { maxDecompressedBytes: 0 })).toThrow(
      /maxDecompressedBytes/,
    );
    expect(() => kinesisRecordHandler(() => {}, { logger: {} as never })).toThrow(/logger/);
  });

  it('treats an envelope larger than maxDecompressedBytes as poison', async () => {
    const hook = vi.fn();
    const big = compress(Buffer.alloc(10_000, 1), 'gzip');
    const response = await kinesisRecordHandler(() => {}, {
      maxDecompressedBytes: 1000,
      onPoisonRecord: hook,
    })({ Records: [eventRecord(0, { partitionKey: 'k', data: big })] }, context);
    expect(response).toEqual({ batchItemFailures: [] });
    expect((hook.mock.calls[0]![0] as PoisonRecordError).cause).toMatchObject({
      kind: 'too-large',
    });
  });
});

describe('types', () => {
  it('fits the @types/aws-lambda handler, event and response types', async () => {
    const h: Handler<AwsEvent, AwsResponse> = kinesisHandler<Context>(async () => {});
    const awsEvent: AwsEvent = { Records: [eventRecord(0, plain('x'))] };
    const ours: KinesisStreamEvent = awsEvent;
    const response = await kinesisRecordHandler<Context>(() => {})(
      ours,
      context as unknown as Context,
    );
    const awsResponse: AwsResponse = response;
    expect(awsResponse).toEqual({ batchItemFailures: [] });
    expect(typeof h).toBe('function');
  });
});

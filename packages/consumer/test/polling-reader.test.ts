import { startLocalBackend, type LocalBackend } from '@shardline/local';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import pino from 'pino';
import {
  GetShardIteratorCommand,
  type GetRecordsCommandOutput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  Consumer,
  RetrievalError,
  type ConsumerMetricEvent,
  type ShardProcessor,
} from '../src/index';
import { PollingReader } from '../src/retrieval/polling/polling-reader';
import { createPollingRetrieval } from '../src/retrieval/polling/index';
import { ReadAheadReader } from '../src/retrieval/polling/read-ahead';
import type { ShardReader } from '../src/retrieval/types';
import { fakeKinesisPerTest } from './support/fake-streams';

const kinesis = fakeKinesisPerTest();
const fill = kinesis.fill;

function reader(
  stream: string,
  options: Partial<ConstructorParameters<typeof PollingReader>[0]> = {},
) {
  return new PollingReader({
    client: kinesis.fake.client(),
    streamName: stream,
    streamArn: undefined,
    shardId: 'shardId-000000000000',
    position: { type: 'TRIM_HORIZON' },
    maxRecords: 3,
    idleTimeBetweenReadsMillis: 10,
    minReadIntervalMillis: 1,
    logger: pino({ level: 'silent' }),
    ...options,
  });
}

async function readAll(r: PollingReader, until: number): Promise<string[]> {
  const seen: string[] = [];
  const signal = new AbortController().signal;
  while (seen.length < until) {
    const batch = await r.next(signal);
    seen.push(...batch.records.map((x) => Buffer.from(x.data).toString()));
  }
  return seen;
}

describe('PollingReader', () => {
  it('reads a shard in order, a few records at a time', async () => {
    kinesis.fake.createStream('s', 1);
    await fill('s', 10);
    expect(await readAll(reader('s'), 10)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
  });

  it('recovers from an expired iterator from the last record read: no gap, no replay', async () => {
    kinesis.fake.createStream('s', 1);
    await fill('s', 10);
    const r = reader('s');
    const signal = new AbortController().signal;
    const first = await r.next(signal);
    kinesis.fake.inject({ operation: 'GetRecords', kind: 'expired-iterator', times: 2 });
    const rest = await readAll(r, 7);
    expect([...first.records.map((x) => Buffer.from(x.data).toString()), ...rest]).toEqual(
      Array.from({ length: 10 }, (_, i) => `r${i}`),
    );
    expect(kinesis.fake.stats.calls.GetShardIterator).toBe(3);
  });

  it('backs off on throttling and transient errors and goes on', async () => {
    kinesis.fake.createStream('s', 1);
    await fill('s', 6);
    const codes: string[] = [];
    kinesis.fake.inject({ operation: 'GetRecords', kind: 'throttle', times: 2 });
    kinesis.fake.inject({ operation: 'GetRecords', kind: 'internal', times: 1 });
    kinesis.fake.inject({ operation: 'GetRecords', kind: 'reset', times: 1 });
    expect(await readAll(reader('s', { onReadError: (c) => codes.push(c) }), 6)).toHaveLength(6);
    expect(codes.slice(0, 3)).toEqual([
      'ProvisionedThroughputExceededException',
      'ProvisionedThroughputExceededException',
      'InternalFailure',
    ]);
    expect(codes).toHaveLength(4);
  });

  it('fails with a typed error when the shard cannot be read', async () => {
    kinesis.fake.createStream('s', 1);
    await expect(reader('missing').next(new AbortController().signal)).rejects.toBeInstanceOf(
      RetrievalError,
    );
  });

  it('reports the end of a split shard with its children', async () => {
    kinesis.fake.createStream('s', 1);
    await fill('s', 2);
    const children = kinesis.fake.splitShard('s', 'shardId-000000000000');
    const r = reader('s', { maxRecords: 100 });
    const batch = await r.next(new AbortController().signal);
    expect(batch.shardEnded).toBe(true);
    expect(batch.records).toHaveLength(2);
    expect(batch.childShards!.map((c) => c.shardId)).toEqual(children);
  });
});

describe('millisBehindLatestThresholdForReducedTps', () => {
  // The clock is faked and GetRecords answered from a script, so each read's time is exact.
  beforeEach(() => void vi.useFakeTimers({ now: 0 }));
  afterEach(() => void vi.useRealTimers());

  interface Answer {
    records: number;
    behind?: number;
  }

  /**
   * A client whose GetRecords answers are `script` (then empty, caught up), each taking
   * `latencyMs`, noting when each GetRecords was sent.
   */
  function scripted(script: Answer[], latencyMs = 0) {
    const sentAt: number[] = [];
    let sequence = 0;
    const client = {
      async send(command: unknown): Promise<unknown> {
        if (command instanceof GetShardIteratorCommand) return { ShardIterator: 'it' };
        sentAt.push(Date.now());
        if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
        const answer = script.shift() ?? { records: 0, behind: 0 };
        const out: Partial<GetRecordsCommandOutput> = {
          Records: Array.from({ length: answer.records }, () => ({
            SequenceNumber: String(++sequence),
            PartitionKey: 'k',
            Data: new Uint8Array(1),
          })),
          NextShardIterator: 'it',
        };
        if (answer.behind !== undefined) out.MillisBehindLatest = answer.behind;
        return out;
      },
    } as unknown as KinesisClient;
    return { client, sentAt };
  }

  function thresholdReader(
    client: KinesisClient,
    threshold: number | undefined,
    idleTimeBetweenReadsMillis = 1000,
  ) {
    return reader('s', {
      client,
      idleTimeBetweenReadsMillis,
      minReadIntervalMillis: 200,
      millisBehindLatestThresholdForReducedTps: threshold,
    });
  }

  const signal = new AbortController().signal;
  /** One `next()`, letting the fake clock run through whatever the reader waits. */
  async function read(r: ShardReader) {
    const batch = r.next(signal);
    await vi.runAllTimersAsync();
    return batch;
  }

  it('after a read below the threshold, reads again the threshold after it returned, less the time since', async () => {
    const { client, sentAt } = scripted(
      [
        { records: 1, behind: 0 },
        { records: 1, behind: 999 },
        { records: 1, behind: 0 },
      ],
      50,
    );
    const r = thresholdReader(client, 1000);
    await read(r); // sent at 0, returned at 50
    vi.advanceTimersByTime(300); // the processor's time: counted in the wait, not added to it
    await read(r);
    await read(r);
    expect(sentAt).toEqual([0, 1050, 2100]);
  });

  it('reads a shard at or above the threshold at the least interval', async () => {
    const { client, sentAt } = scripted([
      { records: 5, behind: 1000 },
      { records: 5, behind: 60_000 },
      { records: 5, behind: 1000 },
      { records: 5, behind: 999 },
    ]);
    const r = thresholdReader(client, 1000);
    for (let i = 0; i < 5; i++) await read(r);
    expect(sentAt).toEqual([0, 200, 400, 600, 1600]);
  });

  it('after an empty read waits the longer of the idle time and the threshold', async () => {
    const longIdle = scripted([{ records: 0, behind: 0 }]);
    const a = thresholdReader(longIdle.client, 400, 1000);
    await read(a);
    await read(a);
    expect(longIdle.sentAt).toEqual([0, 1000]);

    const shortIdle = scripted([{ records: 0, behind: 0 }]);
    const b = thresholdReader(shortIdle.client, 1500, 300);
    const t0 = Date.now();
    await read(b);
    await read(b);
    expect(shortIdle.sentAt.map((t) => t - t0)).toEqual([0, 1500]);
  });

  it('changes nothing at 0 (the default) or without MillisBehindLatest', async () => {
    for (const [threshold, behind] of [
      [0, 0],
      [undefined, 0],
      [1000, undefined],
    ] as const) {
      const { client, sentAt } = scripted([
        { records: 1, behind },
        { records: 1, behind },
        { records: 0, behind },
      ]);
      const r = thresholdReader(client, threshold);
      const t0 = Date.now();
      for (let i = 0; i < 4; i++) await read(r);
      expect(sentAt.map((t) => t - t0)).toEqual([0, 200, 400, 1400]);
    }
  });

  it('reaches the readers of a polling retrieval', async () => {
    const { client, sentAt } = scripted([{ records: 1, behind: 0 }]);
    const retrieval = createPollingRetrieval({
      maxRecords: 3,
      idleTimeBetweenReadsMillis: 1000,
      millisBehindLatestThresholdForReducedTps: 3000,
      readAhead: false,
    });
    await retrieval.start({
      kinesisClient: client,
      streamName: 's',
      streamArn: '',
      logger: pino({ level: 'silent' }),
      signal,
    });
    const r = retrieval.createReader('shardId-000000000000', { type: 'TRIM_HORIZON' });
    await read(r);
    await read(r);
    expect(sentAt).toEqual([0, 3000]);
  });

  it('paces a read-ahead reader the same way (it reads through the polling reader)', async () => {
    const { client, sentAt } = scripted([
      { records: 1, behind: 0 },
      { records: 1, behind: 0 },
      { records: 1, behind: 0 },
    ]);
    const r = new ReadAheadReader(thresholdReader(client, 1000), {
      maxBatches: 10,
      maxRecords: 10_000,
      maxBytes: 1 << 20,
    });
    const first = r.next(signal);
    await vi.advanceTimersByTimeAsync(2500);
    expect((await first).records).toHaveLength(1);
    expect(sentAt).toEqual([0, 1000, 2000]);
    await r.close();
  });
});

describe('stall detection', () => {
  let local: LocalBackend;
  let dynamo: DynamoDBClient;
  beforeAll(async () => {
    local = await startLocalBackend({ kinesis: false });
    dynamo = new DynamoDBClient({
      endpoint: local.dynamodbEndpoint,
      region: local.region,
      credentials: { ...local.credentials },
    });
  });
  afterAll(async () => {
    dynamo?.destroy();
    await local?.stop();
  });

  /** A consumer of stream 's' on the fake Kinesis, with a 1 s stall timeout. */
  function stallConsumer(
    events: ConsumerMetricEvent[],
    processRecords: ShardProcessor['processRecords'],
  ): Consumer {
    return new Consumer({
      streamName: 's',
      applicationName: `stall-${Date.now()}`,
      kinesisClient: kinesis.fake.client(),
      dynamoDBClient: dynamo,
      initialPosition: 'TRIM_HORIZON',
      failoverTimeMillis: 3000,
      idleTimeBetweenReadsMillis: 100,
      stallTimeoutMillis: 1000,
      onMetric: (e) => events.push(e),
      processor: { processRecords },
    });
  }

  /** Waits (checking every 50 ms, at most 20 s) until `condition` holds. */
  async function until(condition: () => boolean): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(condition()).toBe(true);
  }

  it('reports a reader that makes no progress, restarts it, and delivers everything', async () => {
    kinesis.fake.createStream('s', 1);
    await fill('s', 5);
    const events: ConsumerMetricEvent[] = [];
    const delivered: string[] = [];
    const consumer = stallConsumer(
      events,
      (b) => void delivered.push(...b.records.map((r) => Buffer.from(r.data).toString())),
    );
    // The first GetRecords hangs (a stalled connection); the restarted reader gets through.
    kinesis.fake.inject({ operation: 'GetRecords', kind: 'stall', times: 1 });
    await consumer.start();
    await until(() => delivered.length >= 5);
    await consumer.stop();
    kinesis.fake.release();
    expect(delivered).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(events.filter((e) => e.type === 'stall')).toHaveLength(1);
    expect(consumer.health().shards[0]!.stalls).toBe(1);
  });

  it('reports a processRecords call longer than the stall timeout as a slow processor: unhealthy while it runs, no stall, no restart', async () => {
    kinesis.fake.createStream('s', 1);
    await fill('s', 5);
    const events: ConsumerMetricEvent[] = [];
    const delivered: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const consumer = stallConsumer(events, async (b) => {
      if (delivered.length === 0) await slow; // the first batch takes until the test says
      delivered.push(...b.records.map((r) => Buffer.from(r.data).toString()));
    });
    const emitted: unknown[] = [];
    consumer.on('slowProcessor', (e) => emitted.push(e));
    await consumer.start();
    await until(() => events.some((e) => e.type === 'slowProcessor'));
    expect(consumer.health()).toMatchObject({
      healthy: false,
      shards: [{ slowProcessor: true, slowBatches: 1, stalls: 0 }],
    });
    expect(emitted).toHaveLength(1);
    release();
    await fill('s', 1);
    await until(() => delivered.length >= 6);
    expect(consumer.health()).toMatchObject({
      healthy: true,
      shards: [{ slowProcessor: false, slowBatches: 1, stalls: 0 }],
    });
    await consumer.stop();
    expect(delivered).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r0']);
    expect(events.filter((e) => e.type === 'stall')).toEqual([]);
    // One reader all along: the slow batch did not restart it (a restart gets a new iterator).
    expect(kinesis.fake.stats.calls.GetShardIterator).toBe(1);
  });
});

import { createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  DescribeStreamConsumerCommand,
  type KinesisClient,
  type Shard,
  SubscribeToShardCommand,
  type SubscribeToShardEventStream,
  type SubscribeToShardInput,
} from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RetrievalError } from '../src/errors';
import { createFanoutRetrieval } from '../src/retrieval/fanout/index';
import { FanoutReader } from '../src/retrieval/fanout/fanout-reader';
import { createFanoutHttpHandler } from '../src/retrieval/fanout/http2-handler';
import { closedShardChildren } from '../src/retrieval/fanout/shard-listing';
import {
  decideOnFailure,
  MAX_RESOURCE_ERROR_RETRIES,
  SubscribeRateLimiter,
  toStartingPosition,
} from '../src/retrieval/fanout/subscription-policy';
import type { ChildShardInfo, StartPosition } from '../src/retrieval/types';

const logger = pino({ level: 'silent' });

describe('fan-out subscription policy', () => {
  it('maps every start position to a SubscribeToShard starting position', () => {
    const at = new Date(1_700_000_000_000);
    expect(toStartingPosition({ type: 'TRIM_HORIZON' })).toEqual({ Type: 'TRIM_HORIZON' });
    expect(toStartingPosition({ type: 'LATEST' })).toEqual({ Type: 'LATEST' });
    expect(toStartingPosition({ type: 'AT_TIMESTAMP', timestamp: at })).toEqual({
      Type: 'AT_TIMESTAMP',
      Timestamp: at,
    });
    expect(toStartingPosition({ type: 'AT_SEQUENCE_NUMBER', sequenceNumber: '7' })).toEqual({
      Type: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: '7',
    });
    expect(toStartingPosition({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: '8' })).toEqual({
      Type: 'AFTER_SEQUENCE_NUMBER',
      SequenceNumber: '8',
    });
  });

  it('retries transport failures and ResourceInUse forever, waiting at least a second for ResourceInUse', () => {
    for (const code of [
      'ERR_HTTP2_STREAM_ERROR',
      'ERR_HTTP2_GOAWAY_SESSION',
      'TimeoutError',
      'InternalFailureException',
      'ResourceInUseException',
    ]) {
      const decision = decideOnFailure(code, 50, () => 0.5);
      expect(decision.action, code).toBe('retry');
    }
    const inUse = decideOnFailure('ResourceInUseException', 1, () => 0);
    expect(inUse).toEqual({ action: 'retry', delayMs: 1000 });
    const capped = decideOnFailure('ERR_HTTP2_STREAM_ERROR', 30, () => 1);
    expect(capped).toEqual({ action: 'retry', delayMs: 5000 });
  });

  it('retries ResourceNotFound and KMS errors a few times, then fails; never retries access or argument errors', () => {
    for (const code of [
      'ResourceNotFoundException',
      'KMSDisabledException',
      'KMSThrottlingException',
    ]) {
      expect(decideOnFailure(code, MAX_RESOURCE_ERROR_RETRIES).action, code).toBe('retry');
      expect(decideOnFailure(code, MAX_RESOURCE_ERROR_RETRIES + 1).action, code).toBe('fail');
    }
    for (const code of [
      'AccessDeniedException',
      'InvalidArgumentException',
      'ValidationException',
      'UnrecognizedClientException',
    ]) {
      expect(decideOnFailure(code, 1).action, code).toBe('fail');
    }
  });

  it('spaces subscriptions of one shard a second apart, independently per shard', () => {
    const limiter = new SubscribeRateLimiter();
    expect(limiter.reserve('a', 10_000)).toBe(0);
    expect(limiter.reserve('a', 10_200)).toBe(800);
    expect(limiter.reserve('a', 10_300)).toBe(1700);
    expect(limiter.reserve('b', 10_300)).toBe(0);
    expect(limiter.reserve('a', 20_000)).toBe(0);
  });

  it('finds a closed shard and its children in a listing; an open shard is not closed', () => {
    const shards: Shard[] = [
      {
        ShardId: 'p',
        HashKeyRange: { StartingHashKey: '0', EndingHashKey: '9' },
        SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '5' },
      },
      {
        ShardId: 'c1',
        ParentShardId: 'p',
        HashKeyRange: { StartingHashKey: '0', EndingHashKey: '4' },
        SequenceNumberRange: { StartingSequenceNumber: '6' },
      },
      {
        ShardId: 'c2',
        ParentShardId: 'p',
        HashKeyRange: { StartingHashKey: '5', EndingHashKey: '9' },
        SequenceNumberRange: { StartingSequenceNumber: '7' },
      },
      {
        ShardId: 'm',
        ParentShardId: 'x',
        AdjacentParentShardId: 'p',
        SequenceNumberRange: { StartingSequenceNumber: '8' },
      } as Shard,
    ];
    expect(closedShardChildren(shards, 'c1')).toBeUndefined();
    expect(closedShardChildren(shards, 'gone')).toBeUndefined();
    expect(closedShardChildren(shards, 'p')).toEqual([
      {
        shardId: 'c1',
        parentShards: ['p'],
        hashKeyRange: { startingHashKey: '0', endingHashKey: '4' },
      },
      {
        shardId: 'c2',
        parentShards: ['p'],
        hashKeyRange: { startingHashKey: '5', endingHashKey: '9' },
      },
      { shardId: 'm', parentShards: ['x', 'p'] },
    ]);
  });
});

/**
 * An in-process SubscribeToShard: a shard of `total` records (sequence numbers 1..total), each
 * event carrying up to `perEvent` records, each subscription ending (as the service does after
 * 5 minutes) after `eventsPerSubscription` events.
 */
class FakeSubscriptions {
  readonly subscribes: SubscribeToShardInput[] = [];
  /** Events taken from the streams by the reader, over all subscriptions. */
  pulled = 0;
  aborted = 0;
  /** Thrown by the next SubscribeToShard calls, one per call. */
  subscribeErrors: Error[] = [];
  /** Sent instead of the n-th event of the next subscription. */
  streamFault:
    | { afterEvents: number; event?: SubscribeToShardEventStream; error?: Error }
    | undefined;
  closedWithChildren: ChildShardInfo[] | undefined;
  eventsPerSubscription = Infinity;
  /** Make each event one pull ahead, as a network buffer holds events made before they are read. */
  prefetch = false;

  constructor(
    private total: number,
    private readonly perEvent: number,
  ) {}

  append(count: number): void {
    this.total += count;
  }

  client(): KinesisClient {
    return {
      send: async (command: unknown, options?: { abortSignal?: AbortSignal }) => {
        if (!(command instanceof SubscribeToShardCommand)) throw new Error('unexpected command');
        this.subscribes.push(command.input);
        const error = this.subscribeErrors.shift();
        if (error) throw error;
        return { EventStream: this.stream(command.input, options?.abortSignal) };
      },
    } as unknown as KinesisClient;
  }

  private async *stream(
    input: SubscribeToShardInput,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<SubscribeToShardEventStream> {
    const p = input.StartingPosition!;
    let next =
      p.Type === 'TRIM_HORIZON'
        ? 1
        : p.Type === 'AT_SEQUENCE_NUMBER'
          ? Number(p.SequenceNumber)
          : Number(p.SequenceNumber) + 1;
    const fault = this.streamFault;
    this.streamFault = undefined;
    signal?.addEventListener('abort', () => this.aborted++, { once: true });
    const build = () => {
      const last = Math.min(this.total, next + this.perEvent - 1);
      const records = [];
      for (let s = next; s <= last; s++)
        records.push({ SequenceNumber: String(s), PartitionKey: 'k', Data: Buffer.from(`r${s}`) });
      next = last + 1;
      const closed = this.closedWithChildren !== undefined && next > this.total;
      const event: SubscribeToShardEventStream = {
        SubscribeToShardEvent: {
          Records: records,
          ContinuationSequenceNumber: closed ? undefined : String(next - 1),
          MillisBehindLatest: (this.total - last) * 10,
          ...(closed
            ? {
                ChildShards: this.closedWithChildren!.map((c) => ({
                  ShardId: c.shardId,
                  ParentShards: c.parentShards,
                  HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' },
                })),
              }
            : {}),
        },
      };
      return { event, closed };
    };
    let ahead: ReturnType<typeof build> | undefined;
    for (let n = 0; n < this.eventsPerSubscription; n++) {
      if (signal?.aborted) throw Object.assign(new Error('stream reset'), { name: 'AbortError' });
      if (fault && n === fault.afterEvents) {
        if (fault.error) throw fault.error;
        if (fault.event) {
          this.pulled++;
          yield fault.event;
          continue;
        }
      }
      const current = ahead ?? build();
      // With prefetch, the next event is made now, before it is pulled: it may be stale by then.
      ahead = this.prefetch ? build() : undefined;
      this.pulled++;
      yield current.event;
      if (current.closed) return;
    }
  }
}

function reader(
  fake: FakeSubscriptions,
  extra: Partial<ConstructorParameters<typeof FanoutReader>[0]> = {},
  position: StartPosition = { type: 'TRIM_HORIZON' },
): FanoutReader {
  return new FanoutReader({
    client: fake.client(),
    consumerArn: 'arn:consumer',
    shardId: 'shard-0',
    position,
    limiter: new SubscribeRateLimiter(0),
    subscriptionRenewalMs: 0,
    logger,
    ...extra,
  });
}

async function readSequences(r: FanoutReader, until: number): Promise<number[]> {
  const seen: number[] = [];
  const signal = AbortSignal.timeout(10_000);
  while (seen.length < until) {
    const batch = await r.next(signal);
    seen.push(...batch.records.map((x) => Number(x.sequenceNumber)));
    if (batch.shardEnded) break;
  }
  return seen;
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('FanoutReader', () => {
  afterEach(() => vi.useRealTimers());

  it('resubscribes after the last handed continuation when the service ends a subscription: no gap, no replay', async () => {
    const fake = new FakeSubscriptions(50, 4);
    fake.eventsPerSubscription = 3;
    const r = reader(fake);
    expect(await readSequences(r, 50)).toEqual(range(1, 50));
    expect(fake.subscribes[0]!.StartingPosition).toEqual({ Type: 'TRIM_HORIZON' });
    expect(fake.subscribes[1]!.StartingPosition).toEqual({
      Type: 'AFTER_SEQUENCE_NUMBER',
      SequenceNumber: '12',
    });
    expect(fake.subscribes.length).toBeGreaterThanOrEqual(5);
    expect(
      fake.subscribes.every((s) => s.ConsumerARN === 'arn:consumer' && s.ShardId === 'shard-0'),
    ).toBe(true);
  });

  it('starts at a checkpoint position it is given', async () => {
    const fake = new FakeSubscriptions(10, 4);
    const r = reader(fake, {}, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: '6' });
    expect(await readSequences(r, 5)).toEqual(range(6, 10));
  });

  it('reads one event per next(): nothing is pulled from the stream while the processor is busy', async () => {
    const fake = new FakeSubscriptions(1000, 1);
    const r = reader(fake);
    const signal = new AbortController().signal;
    for (let i = 0; i < 5; i++) await r.next(signal);
    // Let any eager reading happen; a pull-based reader has taken exactly what it handed over.
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.pulled).toBe(5);
    await r.close();
  });

  it('renews a subscription after subscriptionRenewalMs from the last handed event', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const fake = new FakeSubscriptions(100, 5);
    const r = reader(fake, { subscriptionRenewalMs: 60_000 });
    const signal = new AbortController().signal;
    const seen: number[] = [];
    for (let i = 0; i < 4; i++)
      seen.push(...(await r.next(signal)).records.map((x) => Number(x.sequenceNumber)));
    expect(fake.subscribes).toHaveLength(1);
    vi.setSystemTime(Date.now() + 60_000);
    seen.push(...(await r.next(signal)).records.map((x) => Number(x.sequenceNumber)));
    expect(fake.subscribes).toHaveLength(2);
    expect(fake.aborted).toBe(1);
    expect(fake.subscribes[1]!.StartingPosition).toEqual({
      Type: 'AFTER_SEQUENCE_NUMBER',
      SequenceNumber: '20',
    });
    expect(seen).toEqual(range(1, 25));
    await r.close();
  });

  it('a reset stream or a failing subscribe is retried from the last handed position', async () => {
    const fake = new FakeSubscriptions(30, 5);
    fake.streamFault = {
      afterEvents: 2,
      error: Object.assign(new Error('stream reset'), { code: 'ERR_HTTP2_STREAM_ERROR' }),
    };
    fake.subscribeErrors = [];
    const errors: string[] = [];
    const r = reader(fake, { onReadError: (code) => errors.push(code) });
    const first = await readSequences(r, 10);
    fake.subscribeErrors.push(
      Object.assign(new Error('boom'), { name: 'InternalFailureException' }),
    );
    const rest = await readSequences(r, 20);
    expect([...first, ...rest]).toEqual(range(1, 30));
    expect(errors).toEqual(['ERR_HTTP2_STREAM_ERROR', 'InternalFailureException']);
    expect(fake.subscribes.at(-1)!.StartingPosition).toEqual({
      Type: 'AFTER_SEQUENCE_NUMBER',
      SequenceNumber: '10',
    });
  });

  it("ResourceInUse from a previous subscription still closing is retried (the wait is decideOnFailure's, tested above)", async () => {
    const fake = new FakeSubscriptions(5, 5);
    fake.subscribeErrors = [Object.assign(new Error('in use'), { name: 'ResourceInUseException' })];
    const errors: string[] = [];
    const r = reader(fake, { onReadError: (code) => errors.push(code) });
    expect(await readSequences(r, 5)).toEqual(range(1, 5));
    expect(errors).toEqual(['ResourceInUseException']);
    expect(fake.subscribes).toHaveLength(2);
  });

  it('an exception event in the stream is a failure too, and resubscribes', async () => {
    const fake = new FakeSubscriptions(12, 4);
    fake.streamFault = {
      afterEvents: 1,
      event: {
        InternalFailureException: { name: 'InternalFailureException', message: 'internal' },
      } as unknown as SubscribeToShardEventStream,
    };
    const errors: string[] = [];
    const r = reader(fake, { onReadError: (code) => errors.push(code) });
    expect(await readSequences(r, 12)).toEqual(range(1, 12));
    expect(errors).toEqual(['InternalFailureException']);
  });

  it('fails with a typed RetrievalError when the error is not retryable', async () => {
    const fake = new FakeSubscriptions(10, 5);
    fake.subscribeErrors = [Object.assign(new Error('denied'), { name: 'AccessDeniedException' })];
    const r = reader(fake);
    const error = await r.next(new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetrievalError);
    expect(error).toMatchObject({
      code: 'RETRIEVAL_FAILED',
      serviceCode: 'AccessDeniedException',
      shardId: 'shard-0',
    });
  });

  it('the ChildShards event ends the shard and names the children', async () => {
    const fake = new FakeSubscriptions(9, 4);
    fake.closedWithChildren = [{ shardId: 'c1', parentShards: ['shard-0'] }];
    const r = reader(fake);
    const signal = new AbortController().signal;
    const batches = [await r.next(signal), await r.next(signal), await r.next(signal)];
    expect(batches.map((b) => b.shardEnded)).toEqual([false, false, true]);
    expect(batches[2]!.records.map((x) => x.sequenceNumber)).toEqual(['9']);
    expect(batches[2]!.childShards).toEqual([
      {
        shardId: 'c1',
        parentShards: ['shard-0'],
        hashKeyRange: { startingHashKey: '0', endingHashKey: '1' },
      },
    ]);
    expect(await r.next(signal)).toEqual({ records: [], shardEnded: true });
    expect(fake.subscribes).toHaveLength(1);
  });

  it('without ChildShards, a closed shard ends only on an empty event of a subscription made after it was seen closed', async () => {
    const fake = new FakeSubscriptions(4, 4);
    fake.prefetch = true;
    let closed = false;
    const checks: number[] = [];
    const r = reader(fake, {
      shardEndCheckIntervalMs: 1,
      checkShardClosed: async () => {
        checks.push(fake.subscribes.length);
        return closed ? [{ shardId: 'c1', parentShards: ['shard-0'] }] : undefined;
      },
    });
    const signal = new AbortController().signal;
    expect((await r.next(signal)).records).toHaveLength(4);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await r.next(signal)).toMatchObject({ records: [], shardEnded: false });
    // Records arrive, then the shard closes: they must be delivered before the shard ends.
    fake.append(3);
    closed = true;
    const rest: string[] = [];
    let batch;
    do {
      await new Promise((resolve) => setTimeout(resolve, 5));
      batch = await r.next(signal);
      rest.push(...batch.records.map((x) => x.sequenceNumber));
    } while (!batch.shardEnded);
    expect(rest).toEqual(['5', '6', '7']);
    expect(batch.childShards).toEqual([{ shardId: 'c1', parentShards: ['shard-0'] }]);
    expect(fake.subscribes.length).toBe(2);
  });

  it('rejects with the abort reason and resets the subscription when its signal aborts', async () => {
    const fake = new FakeSubscriptions(0, 1);
    // An empty shard whose stream never yields: the read waits until aborted.
    fake.eventsPerSubscription = 0;
    const hanging: KinesisClient = {
      send: async (_command: unknown, options?: { abortSignal?: AbortSignal }) => {
        options?.abortSignal?.addEventListener('abort', () => fake.aborted++, { once: true });
        return {
          EventStream: { [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }) },
        };
      },
    } as unknown as KinesisClient;
    const r = reader(fake, { client: hanging });
    const controller = new AbortController();
    const pending = r.next(controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(fake.aborted).toBe(1);
    await r.close();
    await expect(r.next(new AbortController().signal)).rejects.toMatchObject({
      serviceCode: 'ReaderClosed',
    });
  });
});

describe('createFanoutRetrieval', () => {
  it('registers with the consumer client, subscribes with the fan-out client, reports failures per shard and closes readers on stop', async () => {
    const control: string[] = [];
    const controlClient = {
      send: async (command: unknown) => {
        control.push((command as object).constructor.name);
        if (command instanceof DescribeStreamConsumerCommand)
          return { ConsumerDescription: { ConsumerARN: 'arn:c', ConsumerStatus: 'ACTIVE' } };
        throw new Error('unexpected command');
      },
    } as unknown as KinesisClient;
    const fake = new FakeSubscriptions(3, 3);
    fake.subscribeErrors = [Object.assign(new Error('reset'), { code: 'ERR_HTTP2_STREAM_ERROR' })];
    const failures: string[] = [];
    const retrieval = createFanoutRetrieval({
      mode: 'fanout',
      consumerName: 'app',
      kinesisClient: fake.client(),
      onReadError: (shardId, code) => failures.push(`${shardId}:${code}`),
    });
    await retrieval.start({
      kinesisClient: controlClient,
      streamName: 's',
      streamArn: 'arn:s',
      logger,
      signal: new AbortController().signal,
    });
    const r = retrieval.createReader('shard-0', { type: 'TRIM_HORIZON' });
    const batch = await r.next(new AbortController().signal);
    expect(batch.records.map((x) => x.sequenceNumber)).toEqual(['1', '2', '3']);
    expect(control).toEqual(['DescribeStreamConsumerCommand']);
    expect(fake.subscribes.map((x) => x.ConsumerARN)).toEqual(['arn:c', 'arn:c']);
    expect(failures).toEqual(['shard-0:ERR_HTTP2_STREAM_ERROR']);
    await retrieval.stop();
    expect(fake.aborted).toBe(1);
    await expect(r.next(new AbortController().signal)).rejects.toMatchObject({
      serviceCode: 'ReaderClosed',
    });
  });
});

describe('fan-out HTTP/2 handler', () => {
  let server: Http2Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  type Request = Parameters<ReturnType<typeof createFanoutHttpHandler>['handle']>[0];
  const get = (port: number) =>
    ({
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      method: 'GET',
      path: '/',
      headers: {},
      query: {},
    }) as unknown as Request;

  async function h2cServer(): Promise<number> {
    server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  it('sends event streams over pooled sessions (isEventStream off), so they share one session', async () => {
    const spy = vi.spyOn(NodeHttp2Handler.prototype, 'handle');
    const port = await h2cServer();
    const handler = createFanoutHttpHandler({ pingIntervalMs: 0 });
    const request = () => get(port);
    const responses = await Promise.all([
      handler.handle(request(), { isEventStream: true } as never),
      handler.handle(request(), { isEventStream: true } as never),
    ]);
    for (const { response } of responses) (response.body as NodeJS.ReadableStream).resume();
    expect(
      spy.mock.calls.every(
        ([, options]) => (options as { isEventStream?: boolean }).isEventStream === false,
      ),
    ).toBe(true);
    expect(handler.openSessions).toBe(1);
    handler.destroy();
    spy.mockRestore();
  });

  it('keeps sessions that answer PING and destroys those that do not', async () => {
    const port = await h2cServer();
    const handler = createFanoutHttpHandler({ pingIntervalMs: 0, pingTimeoutMs: 50 });
    // The checks hook into an internal of @smithy/node-http-handler: an upgrade that moves it fails here.
    expect(handler.healthChecksAvailable).toBe(true);
    const { response } = await handler.handle(get(port));
    (response.body as NodeJS.ReadableStream).resume();
    await handler.checkSessions();
    expect(handler.openSessions).toBe(1);
    // A peer that stops answering: the PING never completes.
    const session = (
      handler as unknown as { sessions: Set<{ ping: unknown; destroyed: boolean }> }
    ).sessions
      .values()
      .next().value!;
    session.ping = () => true;
    await handler.checkSessions();
    expect(session.destroyed).toBe(true);
    handler.destroy();
  });
});

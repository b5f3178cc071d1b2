import {
  KinesisClient,
  ListStreamConsumersCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import {
  createFanoutHttpHandler,
  createFanoutRetrieval,
  type RawKinesisRecord,
  type Retrieval,
  type ShardReader,
} from '@shardline/consumer';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  backend,
  createStream,
  kinesisClient,
  listShardIds,
  uniqueName,
  waitFor,
  fanoutKinesisClient,
} from '../src/backend';

const logger = pino({ level: 'silent' });
const clients: KinesisClient[] = [];

function fanoutClient(): KinesisClient {
  const client = fanoutKinesisClient();
  clients.push(client);
  return client;
}

afterAll(() => clients.forEach((c) => c.destroy()));

async function putRecords(streamName: string, count: number, prefix: string): Promise<void> {
  const client = kinesisClient();
  for (let i = 0; i < count; i += 250) {
    const entries = Array.from({ length: Math.min(250, count - i) }, (_, j) => ({
      PartitionKey: `k-${(i + j) % 16}`,
      Data: Buffer.from(`${prefix}-${i + j}`),
    }));
    const out = await client.send(
      new PutRecordsCommand({ StreamName: streamName, Records: entries }),
    );
    expect(out.FailedRecordCount ?? 0).toBe(0);
  }
  client.destroy();
}

/** Reads through `reader` until `expected` records arrived, returning every record handed over. */
async function readAll(
  reader: ShardReader,
  until: (records: RawKinesisRecord[]) => boolean,
  timeoutMs = 30_000,
): Promise<RawKinesisRecord[]> {
  const records: RawKinesisRecord[] = [];
  const signal = AbortSignal.timeout(timeoutMs);
  while (!until(records)) {
    const batch = await reader.next(signal);
    records.push(...batch.records);
  }
  return records;
}

async function startRetrieval(
  streamName: string,
  streamArn: string,
  consumerName: string,
  extra: Record<string, unknown> = {},
): Promise<Retrieval> {
  const retrieval = createFanoutRetrieval({
    mode: 'fanout',
    consumerName,
    kinesisClient: fanoutClient(),
    ...extra,
  });
  await retrieval.start({
    kinesisClient: kinesisClient(),
    streamName,
    streamArn,
    logger,
    signal: new AbortController().signal,
  });
  return retrieval;
}

describe('enhanced fan-out retrieval against kinesis-local', () => {
  it('two retrievals registering at once end up with the one consumer', async () => {
    const streamName = uniqueName('efo-register');
    const { streamArn } = await createStream(streamName, 1);
    const consumerName = uniqueName('c');
    const [a, b] = await Promise.all([
      startRetrieval(streamName, streamArn, consumerName),
      startRetrieval(streamName, streamArn, consumerName),
    ]);
    const out = await kinesisClient().send(
      new ListStreamConsumersCommand({ StreamARN: streamArn }),
    );
    expect(
      (out.Consumers ?? [])
        .filter((c) => c.ConsumerName === consumerName)
        .map((c) => c.ConsumerStatus),
    ).toEqual(['ACTIVE']);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('a reader reads a shard end to end, in order, through forced renewals, without gaps or duplicates', async () => {
    const streamName = uniqueName('efo-read');
    const { streamArn } = await createStream(streamName, 1);
    const [shardId] = await listShardIds(streamName);
    await putRecords(streamName, 300, 'a');
    const retrieval = await startRetrieval(streamName, streamArn, uniqueName('c'), {
      subscriptionRenewalMs: 800,
    });
    const reader = retrieval.createReader(shardId!, { type: 'TRIM_HORIZON' });
    const subscriptions = () => (reader as unknown as { subscriptions: number }).subscriptions;
    const handed = await readAll(reader, (r) => r.length >= 300);
    // Keep putting and reading until the reader has renewed its subscription several times.
    let sent = 300;
    for (let round = 0; subscriptions() < 4; round++) {
      expect(round, 'rounds before 3 renewals').toBeLessThan(30);
      await putRecords(streamName, 20, `b${round}`);
      sent += 20;
      handed.push(...(await readAll(reader, (r) => handed.length + r.length >= sent)));
    }
    const ids = handed.map((r) => Buffer.from(r.data).toString());
    expect(ids.length).toBe(sent);
    expect(new Set(ids).size).toBe(sent);
    const seqs = handed.map((r) => BigInt(r.sequenceNumber));
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
    await reader.close();
    await retrieval.stop();
  });

  it('a session torn down under live subscriptions: readers resubscribe on a new session, nothing lost or repeated', async () => {
    const info = backend();
    const handler = createFanoutHttpHandler({
      allowSelfSignedCertificate: info.emulator,
      pingIntervalMs: 0,
    });
    const client = new KinesisClient({
      region: info.region,
      ...(info.kinesisTlsEndpoint ? { endpoint: info.kinesisTlsEndpoint } : {}),
      ...(info.credentials ? { credentials: info.credentials } : {}),
      requestHandler: handler,
    });
    clients.push(client);
    const streamName = uniqueName('efo-reset');
    const { streamArn } = await createStream(streamName, 2);
    const shardIds = await listShardIds(streamName);
    await putRecords(streamName, 100, 'a');
    const retrieval = await startRetrieval(streamName, streamArn, uniqueName('c'), {
      kinesisClient: client,
    });
    const readers = shardIds.map((id) => retrieval.createReader(id, { type: 'TRIM_HORIZON' }));
    const handed = new Map<string, RawKinesisRecord[]>(shardIds.map((id) => [id, []]));
    const total = () => [...handed.values()].reduce((n, r) => n + r.length, 0);
    const readUntil = async (count: number) => {
      const signal = AbortSignal.timeout(30_000);
      await Promise.all(
        readers.map(async (reader) => {
          // Each subscription yields an event about once a second, empty or not, so this loop turns.
          while (total() < count)
            handed.get(reader.shardId)!.push(...(await reader.next(signal)).records);
        }),
      );
    };
    await readUntil(100);
    // Both subscriptions share one session; kill it as a dead peer or a reset connection would.
    expect(handler.openSessions).toBe(1);
    const sessions = (handler as unknown as { sessions: Set<{ destroy: (e: Error) => void }> })
      .sessions;
    for (const session of sessions) session.destroy(new Error('connection reset (test)'));
    await putRecords(streamName, 100, 'b');
    await readUntil(200);
    const ids = [...handed.values()].flat().map((r) => Buffer.from(r.data).toString());
    expect(ids.sort()).toEqual(
      [
        ...Array.from({ length: 100 }, (_, i) => `a-${i}`),
        ...Array.from({ length: 100 }, (_, i) => `b-${i}`),
      ].sort(),
    );
    // Every reader lost its subscription with the session and opened another.
    expect(readers.map((r) => (r as unknown as { subscriptions: number }).subscriptions)).toEqual(
      readers.map(() => 2),
    );
    await retrieval.stop();
  });

  it('the built-in client reaches the TLS endpoint given as `endpoint`, and deregisterOnStop removes the consumer', async () => {
    const info = backend();
    const streamName = uniqueName('efo-endpoint');
    const { streamArn } = await createStream(streamName, 1);
    const [shardId] = await listShardIds(streamName);
    await putRecords(streamName, 20, 'e');
    const consumerName = uniqueName('c');
    const retrieval = createFanoutRetrieval({
      mode: 'fanout',
      consumerName,
      deregisterOnStop: true,
      allowSelfSignedCertificate: info.emulator,
      ...(info.kinesisTlsEndpoint ? { endpoint: info.kinesisTlsEndpoint } : {}),
    });
    await retrieval.start({
      kinesisClient: kinesisClient(),
      streamName,
      streamArn,
      logger,
      signal: new AbortController().signal,
    });
    const reader = retrieval.createReader(shardId!, { type: 'TRIM_HORIZON' });
    const records = await readAll(reader, (r) => r.length >= 20);
    expect(records.map((r) => Buffer.from(r.data).toString())).toEqual(
      Array.from({ length: 20 }, (_, i) => `e-${i}`),
    );
    await retrieval.stop();
    await waitFor(
      async () => {
        const out = await kinesisClient().send(
          new ListStreamConsumersCommand({ StreamARN: streamArn }),
        );
        return !(out.Consumers ?? []).some(
          (c) => c.ConsumerName === consumerName && c.ConsumerStatus === 'ACTIVE',
        );
      },
      { message: 'consumer deregistered' },
    );
  });
});

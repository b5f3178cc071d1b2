/**
 * The per-held-shard cost of one worker, in a child process of its own (so its heap and CPU are
 * the consumer's, its SDK clients' and nothing else's; the fake Kinesis and dynalite run in their
 * own processes). Forked by fleet.bench.ts with `--expose-gc` and these variables:
 *   COST_KINESIS, COST_DYNAMODB, COST_REGION, COST_CREDENTIALS (JSON): the backends;
 *   COST_STREAM, COST_SHARDS: an existing stream of that many shards on the fake;
 *   COST_MODE: `polling` (default options: idleTimeBetweenReadsMillis 1000), `fanout` (default
 *   fan-out options: the retrieval builds its HTTP/2 client, here on the fake's h2c endpoint
 *   COST_KINESIS_HTTP2, all subscriptions on one session), `fanout-http1` (SubscribeToShard over
 *   the HTTP/1.1 client, one socket per subscription), or
 *   `sdk-floor`: no consumer, the same client reading every shard the way an idle polled shard is
 *   read (GetRecords, 1000 ms pause, again): what the AWS SDK alone costs per idle shard;
 *   `http-floor`: the same reads as plain unsigned HTTP POSTs (node:http, keep-alive, 50 sockets,
 *   the GetRecords JSON body, JSON.parse of the answer): what Node's own HTTP client costs per idle
 *   shard, below which no client written in JavaScript (the SDK's or a hand-written one) can go;
 *   COST_FAILOVER_MS: failoverTimeMillis (long, so renewals do not swamp dynalite: lease
 *   maintenance is counted with the table figures, not here);
 *   COST_WINDOW_MS: the CPU window.
 * The lease table is filled with one free lease per shard before the consumer starts (one
 * BatchWriteItem per 25), so the worker takes them all in its first balancing pass instead of
 * creating them one by one. Replies one JSON line on stdout (`CostResult`).
 *
 * Baseline: the same process with the same modules loaded and its SDK clients built and used
 * once, before the consumer starts; after GC. Loaded: after every shard is processing and has
 * read at least twice since, after GC. (Loaded − baseline) / shards = live heap per held shard.
 */
import { Agent, request } from 'node:http';
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { fakeKinesisClient } from '@shardline/fake-kinesis';
import { Consumer } from '@shardline/consumer';
import { listAllShards } from '@shardline/common/list-shards';
import { leaseToItem } from '../../src/leases/lease';
import { LeaseTable } from '../../src/leases/lease-table';
import { leasesForNewShards } from '../../src/shard-sync';

export interface CostResult {
  mode: Mode;
  shards: number;
  heapBaselineBytes: number;
  heapLoadedBytes: number;
  heapPerShardBytes: number;
  /** CPU (user + system) over the window / window, as a fraction of one core. */
  cpuFraction: number;
  windowMs: number;
  /** Kinesis requests per second in the window, by operation. */
  kinesisPerS: Record<string, number>;
  /** DynamoDB requests in the window. */
  dynamoRequests: number;
  /** From consumer.start() to every shard processing and read. */
  takeMs: number;
  rssBytes: number;
}

const env = (name: string) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const settledHeap = async () => {
  // Twice, with a pause: weak refs and finalizers let go of more on the second pass.
  gc();
  await sleep(300);
  gc();
  return process.memoryUsage().heapUsed;
};

const shards = Number(env('COST_SHARDS'));
export type Mode = 'polling' | 'fanout' | 'fanout-http1' | 'sdk-floor' | 'http-floor';
const mode = (process.env.COST_MODE ?? 'polling') as Mode;
const stream = env('COST_STREAM');
const app = `${stream}-${mode}-app`;
const region = env('COST_REGION');
const workerId = `cost-${mode}`;

const counted = new Map<string, number>();
const count = (client: KinesisClient | DynamoDBClient, prefix: string) =>
  (client as KinesisClient).middlewareStack.add(
    (next, context) => (args) => {
      const name = `${prefix}${(context.commandName ?? '?').replace(/Command$/, '')}`;
      counted.set(name, (counted.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'shardCostCounter' },
  );

const kinesis = fakeKinesisClient(env('COST_KINESIS'), { region });
// Over HTTP/1.1 every subscription holds a socket: the pool must hold every shard's at once.
const subscribe =
  mode === 'fanout-http1'
    ? fakeKinesisClient(env('COST_KINESIS'), { region, maxSockets: shards + 50 })
    : undefined;
const dynamo = new DynamoDBClient({
  endpoint: env('COST_DYNAMODB'),
  region,
  credentials: JSON.parse(env('COST_CREDENTIALS')) as {
    accessKeyId: string;
    secretAccessKey: string;
  },
});
count(kinesis, '');
if (subscribe) count(subscribe, '');
count(dynamo, 'ddb:');

// The table, with one free lease per shard.
const table = new LeaseTable(dynamo, app);
await table.ensure();
const listed = await listAllShards(kinesis, { streamName: stream });
const ids = listed.map((s) => s.ShardId!);
if (ids.length !== shards)
  throw new Error(`stream ${stream} has ${ids.length} shards, not ${shards}`);
// The leases shard sync would create (free, at LATEST), written 25 at a time.
const fresh = leasesForNewShards(listed, new Set(), 'LATEST');
for (let i = 0; i < fresh.length; i += 25) {
  let items: Record<string, unknown>[] = fresh.slice(i, i + 25).map((lease) => ({
    PutRequest: { Item: leaseToItem(lease) },
  }));
  while (items.length > 0) {
    const out = await dynamo.send(
      new BatchWriteItemCommand({ RequestItems: { [app]: items as never } }),
    );
    items = (out.UnprocessedItems?.[app] ?? []) as Record<string, unknown>[];
  }
}

const heapBaselineBytes = await settledHeap();
const started = Date.now();
const run =
  mode === 'sdk-floor' || mode === 'http-floor'
    ? await floorLoop(mode === 'http-floor')
    : await consumerRun();
const takeMs = run.readingAt - started;
// Past the start-up's one-off work (first iterators, first subscriptions) into the idle rhythm.
await sleep(Number(process.env.COST_SETTLE_MS ?? 10_000));

const windowMs = Number(env('COST_WINDOW_MS'));
counted.clear();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await sleep(windowMs);
const cpu = process.cpuUsage(cpu0);
const elapsed = performance.now() - t0;
const heapLoadedBytes = await settledHeap();
const kinesisPerS: Record<string, number> = {};
let dynamoRequests = 0;
for (const [name, n] of counted) {
  if (name.startsWith('ddb:')) dynamoRequests += n;
  else kinesisPerS[name] = Math.round((n / elapsed) * 10_000) / 10;
}
const result: CostResult = {
  mode,
  shards,
  heapBaselineBytes,
  heapLoadedBytes,
  heapPerShardBytes: (heapLoadedBytes - heapBaselineBytes) / shards,
  cpuFraction: (cpu.user + cpu.system) / 1000 / elapsed,
  windowMs: Math.round(elapsed),
  kinesisPerS,
  dynamoRequests,
  takeMs,
  rssBytes: process.memoryUsage().rss,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
await run.stop();
kinesis.destroy();
subscribe?.destroy();
dynamo.destroy();
process.exit(0);

/** The consumer under test; resolves once every shard is processing and has read twice. */
async function consumerRun(): Promise<{ readingAt: number; stop: () => Promise<void> }> {
  const consumer = new Consumer({
    streamName: stream,
    applicationName: app,
    workerId,
    kinesisClient: kinesis,
    dynamoDBClient: dynamo,
    initialPosition: 'LATEST',
    failoverTimeMillis: Number(env('COST_FAILOVER_MS')),
    ...(mode === 'fanout'
      ? {
          retrieval: {
            mode: 'fanout' as const,
            consumerName: 'cost',
            endpoint: env('COST_KINESIS_HTTP2'),
          },
        }
      : {}),
    ...(subscribe
      ? { retrieval: { mode: 'fanout' as const, consumerName: 'cost', kinesisClient: subscribe } }
      : {}),
    processor: { processRecords() {} },
  });
  const from = Date.now();
  await consumer.start();
  let allReadAt: number | undefined;
  for (;;) {
    const h = consumer.health().shards;
    const reading = h.filter((s) => s.state === 'processing' && s.lastReadAt !== undefined);
    if (reading.length === shards) {
      allReadAt ??= Date.now();
      if (reading.every((s) => s.lastReadAt! > allReadAt! + 1)) break;
    }
    if (Date.now() - from > Number(process.env.COST_READY_TIMEOUT_MS ?? 300_000)) {
      const states: Record<string, number> = {};
      for (const s of h) states[s.state] = (states[s.state] ?? 0) + 1;
      throw new Error(
        `only ${reading.length} of ${shards} shards processing and read: ${JSON.stringify({ states, errors: h.filter((s) => s.lastError !== undefined).length, stalls: h.reduce((a, s) => a + s.stalls, 0), requests: Object.fromEntries(counted) })}`,
      );
    }
    await sleep(250);
  }
  return {
    readingAt: allReadAt!,
    stop: () => consumer.stop({ timeoutMs: 10_000 }).catch(() => {}),
  };
}

/**
 * No consumer: every shard read in a loop as an idle polled shard is, by the same SDK client, or
 * (`plain`) by unsigned node:http POSTs of the same GetRecords body (the fake checks no signature).
 */
async function floorLoop(
  plain: boolean,
): Promise<{ readingAt: number; stop: () => Promise<void> }> {
  let running = true;
  let reading = 0;
  const url = new URL(env('COST_KINESIS'));
  const agent = new Agent({ keepAlive: true, maxSockets: 50 });
  const post = (body: string) =>
    new Promise<{ NextShardIterator?: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/',
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': 'Kinesis_20131202.GetRecords',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            } catch (error) {
              reject(error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const getRecords = async (iterator: string) => {
    if (!plain)
      return (await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator })))
        .NextShardIterator;
    counted.set('GetRecords', (counted.get('GetRecords') ?? 0) + 1);
    return (await post(JSON.stringify({ ShardIterator: iterator }))).NextShardIterator;
  };
  const loops = ids.map(async (shardId) => {
    const first = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: shardId,
        ShardIteratorType: 'LATEST',
      }),
    );
    let iterator = first.ShardIterator;
    reading++;
    while (running && iterator) {
      iterator = await getRecords(iterator);
      await sleep(1000);
    }
  });
  while (reading < shards) await sleep(100);
  return {
    readingAt: Date.now(),
    stop: async () => {
      running = false;
      await Promise.allSettled(loops);
      agent.destroy();
    },
  };
}

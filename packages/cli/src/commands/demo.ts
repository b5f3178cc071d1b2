import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Consumer, type RecordBatch } from '@shardline/consumer';
import { createKinesisClient, startLocalBackend, type LocalBackend } from '@shardline/local';
import { Producer, type ProducerRecord } from '@shardline/producer';
import type { DemoArgs } from '../args';
import { cliLogger, sleep, type CliIo } from '../io';
import { makePayload, newRunId, parsePayload } from '../record-source';
import { putAll } from '../put-loop';
import { formatDemoSummary, percentiles, rates, round, type DemoSummary } from '../summary';

/** What the demo's readers saw, checked against what was sent. */
export class DeliveryLedger {
  private readonly digests: (Buffer | undefined)[];
  private readonly seen: Uint8Array;
  received = 0;
  duplicates = 0;
  corrupted = 0;
  /** Records that were not this run's (another run's stream, or unreadable). */
  foreign = 0;
  readonly latencies: number[] = [];

  constructor(
    readonly runId: string,
    readonly total: number,
  ) {
    this.digests = new Array<Buffer | undefined>(total);
    this.seen = new Uint8Array(total);
  }

  /** Remembers a sent payload's digest, to compare what arrives with it. */
  sent(index: number, payload: string): void {
    this.digests[index] = digest(payload);
  }

  /** Checks one delivered record: first delivery, duplicate, corrupted or foreign. */
  delivered(data: Uint8Array, now: number): void {
    const parsed = parsePayload(data);
    if (!parsed || parsed.runId !== this.runId || parsed.index >= this.total) {
      this.foreign++;
      return;
    }
    if (this.seen[parsed.index] === 1) {
      this.duplicates++;
      return;
    }
    this.seen[parsed.index] = 1;
    this.received++;
    const expected = this.digests[parsed.index];
    if (!expected || !expected.equals(digest(data))) this.corrupted++;
    this.latencies.push(Math.max(0, now - parsed.sentAt));
  }

  /** Sent (digest known) and not received. */
  missing(): number {
    let missing = 0;
    for (let i = 0; i < this.total; i++)
      if (this.digests[i] !== undefined && this.seen[i] === 0) missing++;
    return missing;
  }

  /** Every record that arrived carries the bytes that were sent, and nothing else came. */
  checksumOk(): boolean {
    return this.corrupted === 0 && this.foreign === 0;
  }
}

function digest(data: string | Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

/** Counts lease acquisitions and the ones that moved a shard from one worker to another. */
export class LeaseMoves {
  acquisitions = 0;
  moves = 0;
  private readonly owners = new Map<string, string>();

  acquired(shardId: string, worker: string): void {
    this.acquisitions++;
    const previous = this.owners.get(shardId);
    if (previous !== undefined && previous !== worker) this.moves++;
    this.owners.set(shardId, worker);
  }
}

/**
 * `shardline demo`: embedded backend → stream → producer (aggregation + compression) → several
 * consumer workers sharing leases → verification (count, duplicates, per-record checksum) → summary.
 * The first worker starts alone and the others join while records flow, so leases move between
 * workers as they would in a deployment scaling out. Exit code 0 only when every record arrived
 * intact; 1 otherwise; 130 when interrupted.
 */
export async function runDemo(args: DemoArgs, io: CliIo): Promise<number> {
  const t0 = Date.now();
  const say = (text: string) => {
    if (!args.json) io.stderr.write(text + '\n');
  };
  const streamName = `shardline-demo-${newRunId()}`;
  say(
    `starting the embedded backend (kinesis-local + dynalite) with ${streamName}, ${args.shards} shards...`,
  );
  const backend = await startLocalBackend({ streams: [{ name: streamName, shards: args.shards }] });
  try {
    const summary = await runAgainst(backend, streamName, args, io, say);
    summary.seconds = round((Date.now() - t0) / 1000, 3);
    if (args.json) io.stdout.write(JSON.stringify(summary) + '\n');
    else io.stdout.write(formatDemoSummary(summary));
    if (summary.interrupted) return 130;
    return summary.ok ? 0 : 1;
  } finally {
    say('stopping the embedded backend...');
    await backend.stop();
  }
}

async function runAgainst(
  backend: LocalBackend,
  streamName: string,
  args: DemoArgs,
  io: CliIo,
  say: (text: string) => void,
): Promise<DemoSummary> {
  const region = backend.region;
  const credentials = backend.credentials;
  const kinesis = createKinesisClient({ endpoint: backend.kinesisEndpoint, region, credentials });
  const dynamodb = new DynamoDBClient({
    endpoint: backend.dynamodbEndpoint,
    region,
    credentials: { ...credentials },
  });
  const logger = cliLogger(args.logLevel);
  const runId = newRunId();
  const ledger = new DeliveryLedger(runId, args.records);
  const leases = new LeaseMoves();
  const applicationName = `${streamName}-app`;
  const workers: Consumer[] = [];
  let allReceived: (() => void) | undefined;
  const everything = new Promise<void>((resolve) => (allReceived = resolve));

  const startWorker = async (n: number) => {
    const workerId = `worker-${n}`;
    const consumer = new Consumer({
      streamName,
      applicationName,
      kinesisClient: kinesis,
      dynamoDBClient: dynamodb,
      workerId,
      initialPosition: 'TRIM_HORIZON',
      // Short timings so leases balance within seconds on a laptop; production keeps the defaults.
      failoverTimeMillis: 3000,
      idleTimeBetweenReadsMillis: 200,
      shardSyncIntervalMillis: 2000,
      ...(args.fanout
        ? {
            retrieval: {
              mode: 'fanout' as const,
              consumerName: 'shardline-demo',
              endpoint: backend.kinesisTlsEndpoint,
              allowSelfSignedCertificate: true,
            },
          }
        : {}),
      logger,
      processor: {
        processRecords(batch: RecordBatch) {
          const now = Date.now();
          for (const record of batch.records) ledger.delivered(record.data, now);
          if (ledger.received >= args.records) allReceived?.();
        },
      },
    });
    // A steal is a graceful hand-off (leaseStealRequested on the taker); an expired lease taken over is a leaseAcquired.
    consumer.on('leaseAcquired', (e: { shardId: string }) => leases.acquired(e.shardId, workerId));
    consumer.on('leaseStealRequested', (e: { shardId: string }) =>
      leases.acquired(e.shardId, workerId),
    );
    workers.push(consumer);
    await consumer.start();
  };

  const stopped = new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  let produceSeconds = 0;
  let consumeSeconds = 0;
  let producerStats: ReturnType<Producer['stats']> | undefined;
  let sent = 0;
  let failed = 0;
  try {
    say(`starting worker-1 of ${args.workers}...`);
    await startWorker(1);
    await waitForBalance(workers, args.shards, io.signal, 30_000);
    const tProduce = Date.now();
    const producer = new Producer({
      streamName,
      kinesisClient: kinesis,
      aggregation: true,
      compression: { codec: args.compress },
      logger,
    });
    // Half the records go to worker-1 alone; then the others join and take leases from it while
    // the second half flows, as a deployment scaling out would.
    const half = args.workers > 1 ? Math.floor(args.records / 2) : args.records;
    say(
      `producing ${args.records.toLocaleString('en-US')} records (aggregated, ${args.compress})...`,
    );
    const first = await putAll(producer, demoRecords(0, half, args.size, runId, ledger), {
      signal: io.signal,
    });
    if (args.workers > 1 && !io.signal.aborted) {
      say(`workers 2..${args.workers} joining; waiting for the leases to balance...`);
      for (let n = 2; n <= args.workers && !io.signal.aborted; n++) await startWorker(n);
      await waitForBalance(workers, args.shards, io.signal, 30_000);
    }
    const second = await putAll(
      producer,
      demoRecords(half, args.records, args.size, runId, ledger),
      { signal: io.signal },
    );
    await producer.close();
    producerStats = producer.stats();
    sent = first.counts.sent + second.counts.sent;
    failed = first.counts.failed + second.counts.failed;
    produceSeconds = (Date.now() - tProduce) / 1000;
    say(
      `produced ${sent.toLocaleString('en-US')} records in ${produceSeconds.toFixed(1)} s; waiting for the workers to read them all...`,
    );
    const deadline = sleep(args.timeoutMs, io.signal);
    await Promise.race([everything, stopped, deadline]);
    consumeSeconds = (Date.now() - tProduce) / 1000;
    // A moment more for duplicates that a lease move would cause to show up; bounded and short.
    if (!io.signal.aborted) await sleep(500, io.signal);
    if (io.signal.aborted)
      say('interrupted: stopping workers gracefully (checkpointing, releasing leases)...');
  } finally {
    await Promise.all(workers.map((w) => w.stop({ timeoutMs: 10_000 })));
    kinesis.destroy();
    dynamodb.destroy();
  }
  const missing = ledger.missing();
  const [p50 = 0, p95 = 0, p99 = 0, max = 0] = percentiles(ledger.latencies, [50, 95, 99, 100]);
  const checksumOk = ledger.checksumOk();
  return {
    ok: !io.signal.aborted && sent === args.records && failed === 0 && missing === 0 && checksumOk,
    records: args.records,
    shards: args.shards,
    workers: args.workers,
    retrieval: args.fanout ? 'fanout' : 'polling',
    compression: args.compress,
    sent,
    failed,
    received: ledger.received,
    duplicates: ledger.duplicates,
    missing,
    checksumOk,
    seconds: 0,
    produceSeconds: round(produceSeconds, 3),
    consumeSeconds: round(consumeSeconds, 3),
    producedPerSecond: rates(sent, 0, produceSeconds).recordsPerSecond,
    consumedPerSecond: rates(ledger.received, 0, consumeSeconds).recordsPerSecond,
    latencyMs: { p50, p95, p99, max },
    retries: (producerStats?.entryRetries ?? 0) + (producerStats?.putRecordsErrors ?? 0),
    throttles: producerStats?.throttles ?? 0,
    kinesisRecords: producerStats?.kinesisRecordsSent ?? 0,
    leaseAcquisitions: leases.acquisitions,
    leaseMoves: leases.moves,
    interrupted: io.signal.aborted,
  };
}

/**
 * Resolves once every shard is held and every worker (up to one per shard) holds some, or at
 * the deadline (the demo then reports the moves that did happen rather than failing).
 */
async function waitForBalance(
  workers: Consumer[],
  shards: number,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const target = Math.min(shards, workers.length);
  while (Date.now() < deadline && !signal.aborted) {
    const owned = workers.map((w) => w.ownedShards().length);
    const busy = owned.filter((n) => n > 0).length;
    if (owned.reduce((a, b) => a + b, 0) === shards && busy === target) return;
    await sleep(100, signal);
  }
}

function* demoRecords(
  from: number,
  to: number,
  size: number,
  runId: string,
  ledger: DeliveryLedger,
): Generator<ProducerRecord> {
  for (let i = from; i < to; i++) {
    const payload = makePayload(runId, i, Date.now(), size);
    ledger.sent(i, payload);
    yield { partitionKey: `key-${i % 1000}`, data: payload };
  }
}

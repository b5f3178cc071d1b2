import { Consumer, type ConsumerRecord, type RecordBatch } from '@shardline/consumer';
import type { ConsumeArgs } from '../args';
import { dynamoDBClientFor, kinesisClientFor, resolveAwsConfig } from '../aws-config';
import { UsageError } from '../errors';
import { cliLogger, sleep, type CliIo } from '../io';
import { backendError, checkStream } from '../preflight';
import { formatCount } from '../progress';
import { round } from '../summary';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A record as `--print --json` writes it: text data when it is UTF-8, base64 otherwise. */
export function recordLine(shardId: string, record: ConsumerRecord, json: boolean): string {
  let text: string | undefined;
  try {
    text = utf8.decode(record.data);
  } catch {
    text = undefined;
  }
  if (json) {
    return JSON.stringify({
      type: 'record',
      shardId,
      sequenceNumber: record.sequenceNumber,
      subSequenceNumber: record.subSequenceNumber,
      partitionKey: record.partitionKey,
      ...(text !== undefined
        ? { data: text }
        : { dataBase64: Buffer.from(record.data).toString('base64') }),
    });
  }
  const data =
    text !== undefined
      ? JSON.stringify(text)
      : `base64:${Buffer.from(record.data).toString('base64')}`;
  return `${shardId} ${record.sequenceNumber}/${record.subSequenceNumber} ${record.partitionKey} ${data}`;
}

/**
 * `shardline consume`: one worker of application `--app` (leases and checkpoints in the DynamoDB
 * table named after it). Prints records (`--print`) or per-shard lag, until Ctrl-C, `--max-records`
 * or `--duration`; then stops gracefully: finishes the batch in hand, checkpoints, releases its
 * leases. Exit code 0 after a graceful stop.
 */
export async function runConsume(args: ConsumeArgs, io: CliIo): Promise<number> {
  const config = resolveAwsConfig(args.aws, io.env);
  if (
    args.fanout !== undefined &&
    config.kinesisEndpoint !== undefined &&
    config.kinesisTlsEndpoint === undefined
  ) {
    throw new UsageError(
      'consume: --fanout needs an https Kinesis endpoint (HTTP/2): set KINESIS_TLS_ENDPOINT or pass an https --kinesis-endpoint',
    );
  }
  const kinesis = kinesisClientFor(config);
  const dynamodb = dynamoDBClientFor(config);
  const started = Date.now();
  const perShard = new Map<string, { records: number; millisBehindLatest: number | undefined }>();
  let received = 0;
  const done = new AbortController();
  const stopWhen = AbortSignal.any([io.signal, done.signal]);
  try {
    await checkStream(kinesis, args.stream, config);
    const consumer = new Consumer({
      streamName: args.stream,
      applicationName: args.app,
      kinesisClient: kinesis,
      dynamoDBClient: dynamodb,
      initialPosition: args.from,
      // Enhanced fan-out: SubscribeToShard goes over HTTP/2 to the TLS endpoint, on a client the
      // retrieval builds; the self-signed certificate is accepted for a loopback emulator only.
      ...(args.fanout !== undefined
        ? {
            retrieval: {
              mode: 'fanout' as const,
              consumerName: args.fanout,
              ...(config.kinesisTlsEndpoint ? { endpoint: config.kinesisTlsEndpoint } : {}),
              allowSelfSignedCertificate: config.emulator,
            },
          }
        : {}),
      logger: cliLogger(args.logLevel),
      processor: {
        processRecords(batch: RecordBatch) {
          const shard = perShard.get(batch.shardId) ?? {
            records: 0,
            millisBehindLatest: undefined,
          };
          shard.records += batch.records.length;
          shard.millisBehindLatest = batch.millisBehindLatest;
          perShard.set(batch.shardId, shard);
          if (args.print) {
            let out = '';
            for (const record of batch.records)
              out += recordLine(batch.shardId, record, args.json) + '\n';
            if (out) io.stdout.write(out);
          }
          received += batch.records.length;
          if (args.maxRecords !== undefined && received >= args.maxRecords) done.abort();
        },
      },
    });
    consumer.on('leaseAcquired', (e: { shardId: string }) => {
      if (!args.json) io.stderr.write(`lease acquired: ${e.shardId}\n`);
    });
    consumer.on('leaseLost', (e: { shardId: string }) => {
      if (!args.json) io.stderr.write(`lease lost: ${e.shardId}\n`);
    });
    try {
      await consumer.start();
    } catch (error) {
      await consumer.stop().catch(() => {});
      throw backendError(error, `the consumer of ${args.stream} (lease table ${args.app})`, config);
    }
    if (!args.json)
      io.stderr.write(
        `consuming ${args.stream} as ${args.app} (worker ${consumer.workerId}); Ctrl-C stops gracefully\n`,
      );

    const lagTimer = args.print
      ? undefined
      : setInterval(() => {
          const shards = consumer.health().shards.map((s) => ({
            shardId: s.shardId,
            state: s.state,
            millisBehindLatest: s.millisBehindLatest ?? null,
            records: perShard.get(s.shardId)?.records ?? 0,
          }));
          if (args.json) io.stdout.write(JSON.stringify({ type: 'lag', received, shards }) + '\n');
          else io.stdout.write(formatLag(received, shards));
        }, args.lagIntervalMs);
    if (args.durationMs !== undefined) await sleep(args.durationMs, stopWhen);
    else await waitAbort(stopWhen);
    if (lagTimer) clearInterval(lagTimer);
    if (io.signal.aborted && !args.json)
      io.stderr.write('stopping: finishing batches, checkpointing, releasing leases...\n');
    await consumer.stop();
    const seconds = round((Date.now() - started) / 1000, 3);
    const summary = {
      type: 'summary',
      stream: args.stream,
      app: args.app,
      received,
      seconds,
      interrupted: io.signal.aborted,
      shards: Object.fromEntries(perShard),
    };
    if (args.json) io.stdout.write(JSON.stringify(summary) + '\n');
    else
      io.stderr.write(
        `stopped gracefully: ${formatCount(received)} records in ${seconds.toFixed(1)} s, checkpoints written, leases released\n`,
      );
    return 0;
  } finally {
    kinesis.destroy();
    dynamodb.destroy();
  }
}

function waitAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Per-shard lag as a small table. */
export function formatLag(
  received: number,
  shards: { shardId: string; state: string; millisBehindLatest: number | null; records: number }[],
): string {
  const lines = shards.map(
    (s) =>
      `  ${s.shardId.padEnd(22)} ${s.state.padEnd(20)} ${s.millisBehindLatest === null ? '-' : `${formatCount(s.millisBehindLatest)} ms behind`}  ${formatCount(s.records)} records`,
  );
  return `received ${formatCount(received)} records; ${shards.length} shard(s) held\n${lines.join('\n')}${lines.length ? '\n' : ''}`;
}

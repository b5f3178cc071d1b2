import { Producer } from '@shardline/producer';
import type { ProduceArgs } from '../args';
import { kinesisClientFor, resolveAwsConfig } from '../aws-config';
import { cliLogger, type CliIo } from '../io';
import { putAll, type PutCounts } from '../put-loop';
import { checkStream } from '../preflight';
import { createProgressReporter, silentProgress, type ProgressReporter } from '../progress';
import { newRunId, recordSource } from '../record-source';
import { formatProduceSummary, rates, round, type ProduceSummary } from '../summary';

/**
 * `shardline produce`: sends generated or piped records through a Producer, shows progress and a
 * summary. On Ctrl-C it stops reading input, flushes what the producer holds and reports every
 * record's outcome. Exit code 0 when nothing failed, 1 when some record failed, 130 interrupted.
 */
export async function runProduce(args: ProduceArgs, io: CliIo): Promise<number> {
  const config = resolveAwsConfig(args.aws, io.env);
  const kinesis = kinesisClientFor(config);
  try {
    await checkStream(kinesis, args.stream, config);
    const producer = new Producer({
      streamName: args.stream,
      kinesisClient: kinesis,
      aggregation: args.aggregate,
      ...(args.compress ? { compression: { codec: args.compress } } : {}),
      logger: cliLogger(args.logLevel),
    });
    const progress: ProgressReporter = args.quiet
      ? silentProgress
      : createProgressReporter(
          io.stderr,
          io.stderr.isTTY === true ? {} : { intervalMs: args.progressIntervalMs },
        );
    const { summary, readError } = await pump(args, io, producer, progress);
    if (args.json) io.stdout.write(JSON.stringify(summary) + '\n');
    else io.stdout.write(formatProduceSummary(summary));
    // The summary first: records sent before a bad input line still deserve their report.
    if (readError) throw readError;
    if (summary.interrupted) return 130;
    return summary.failed > 0 ? 1 : 0;
  } finally {
    kinesis.destroy();
  }
}

async function pump(
  args: ProduceArgs,
  io: CliIo,
  producer: Producer,
  progress: ProgressReporter,
): Promise<{ summary: ProduceSummary; readError: unknown }> {
  const started = Date.now();
  const total = args.input.kind === 'generated' ? args.input.count : undefined;
  let counts: PutCounts = { offered: 0, sent: 0, failed: 0, bytes: 0, failuresByCode: {} };
  const snapshot = () => {
    const stats = producer.stats();
    return {
      sent: counts.sent,
      failed: counts.failed,
      bytes: counts.bytes,
      retries: stats.entryRetries + stats.putRecordsErrors,
      elapsedMs: Date.now() - started,
      total,
    };
  };
  // Redraw while waiting on slow inputs or a rate limit too, not only when records finish.
  const ticker = setInterval(() => progress.update(snapshot()), 250);
  const source = recordSource(args.input, {
    signal: io.signal,
    stdin: io.stdin,
    runId: newRunId(),
  });
  const result = await putAll(producer, source, {
    signal: io.signal,
    rate: args.rate,
    onOutcome: (c) => {
      counts = c;
      progress.update(snapshot());
    },
  });
  counts = result.counts;
  // Every record handed over already has its outcome; close releases timers and sockets.
  await producer.close();
  clearInterval(ticker);
  progress.done(snapshot());
  const stats = producer.stats();
  const seconds = round((Date.now() - started) / 1000, 3);
  const summary: ProduceSummary = {
    stream: args.stream,
    sent: counts.sent,
    failed: counts.failed,
    seconds,
    bytes: counts.bytes,
    ...rates(counts.sent, counts.bytes, seconds),
    retries: stats.entryRetries + stats.putRecordsErrors,
    throttles: stats.throttles,
    kinesisRecords: stats.kinesisRecordsSent,
    putRecordsCalls: stats.putRecordsCalls,
    failuresByCode: counts.failuresByCode,
    interrupted: io.signal.aborted,
  };
  return { summary, readError: result.readError };
}

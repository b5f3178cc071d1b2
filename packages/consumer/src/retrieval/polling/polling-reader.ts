import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import { RetrievalError } from '../../errors';
import { toChildShard, toRawRecord } from '../from-sdk';
import { abortableSleep, errorName, isFatalReadError, jitter } from '../backoff';
import type { RawKinesisRecord, RetrievedBatch, ShardReader, StartPosition } from '../types';

export interface PollingReaderOptions {
  client: KinesisClient;
  streamName: string | undefined;
  streamArn: string | undefined;
  shardId: string;
  position: StartPosition;
  maxRecords: number;
  idleTimeBetweenReadsMillis: number;
  /**
   * After a read whose `MillisBehindLatest` is below this, the next read waits until this long
   * after that read returned (the longest of this and the other waits), as the KCL's
   * `KinesisSleepTimeController` does with `millisBehindLatestThresholdForReducedTps`. Default 0:
   * off (no `MillisBehindLatest` is below 0).
   */
  millisBehindLatestThresholdForReducedTps?: number;
  logger: Logger;
  onReadError?: (code: string) => void;
  /** Least time between two GetRecords on the shard: Kinesis allows 5 per second per shard. Default 200. */
  minReadIntervalMillis?: number;
}

/**
 * Reads one shard with GetShardIterator/GetRecords: at most 5 reads a second (shared by every
 * reader of the shard, so the budget is the floor), an idle wait after empty reads, an optional
 * longer wait after reads of a caught-up shard (`millisBehindLatestThresholdForReducedTps`),
 * backoff on throttling and transient errors, and an expired iterator renewed from the last
 * record read.
 */
export class PollingReader implements ShardReader {
  readonly shardId: string;
  private iterator: string | undefined;
  private lastSequenceNumber: string | undefined;
  private nextReadAt = 0;
  private closed = false;
  private ended = false;

  constructor(private readonly o: PollingReaderOptions) {
    this.shardId = o.shardId;
  }

  async next(signal: AbortSignal): Promise<RetrievedBatch> {
    if (this.ended) return { records: [], shardEnded: true };
    let attempt = 0;
    for (;;) {
      if (this.closed)
        throw new RetrievalError(this.shardId, 'ReaderClosed', 'the reader was closed');
      const wait = this.nextReadAt - Date.now();
      if (wait > 0) await abortableSleep(wait, signal);
      try {
        this.iterator ??= await this.getIterator(signal);
        const out = await this.o.client.send(
          new GetRecordsCommand({
            ShardIterator: this.iterator,
            Limit: this.o.maxRecords,
            // As the KCL's KinesisDataFetcher does: reads go where the iterator request went.
            ...(this.o.streamArn ? { StreamARN: this.o.streamArn } : {}),
          }),
          { abortSignal: signal },
        );
        const records: RawKinesisRecord[] = (out.Records ?? []).map(toRawRecord);
        if (records.length > 0)
          this.lastSequenceNumber = records[records.length - 1]!.sequenceNumber;
        this.iterator = out.NextShardIterator ?? undefined;
        const minInterval = this.o.minReadIntervalMillis ?? 200;
        let gap =
          records.length === 0
            ? Math.max(minInterval, this.o.idleTimeBetweenReadsMillis)
            : minInterval;
        // A caught-up shard (even one getting a trickle of records, whose reads are never empty)
        // is read at most once per threshold; one behind is still read at full speed.
        const threshold = this.o.millisBehindLatestThresholdForReducedTps ?? 0;
        if (out.MillisBehindLatest !== undefined && out.MillisBehindLatest < threshold)
          gap = Math.max(gap, threshold);
        this.nextReadAt = Date.now() + gap;
        const batch: RetrievedBatch = { records, shardEnded: false };
        if (out.MillisBehindLatest !== undefined) batch.millisBehindLatest = out.MillisBehindLatest;
        if (this.lastSequenceNumber) batch.continuationSequenceNumber = this.lastSequenceNumber;
        if (!out.NextShardIterator) {
          this.ended = true;
          batch.shardEnded = true;
          batch.childShards = (out.ChildShards ?? []).map(toChildShard);
        }
        return batch;
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const code = errorName(error);
        this.o.onReadError?.(code);
        if (code === 'ExpiredIteratorException') {
          // Resume from the last record read, not from the start position.
          this.iterator = undefined;
          continue;
        }
        if (isFatalReadError(code))
          throw new RetrievalError(this.shardId, code, (error as Error).message, { cause: error });
        attempt++;
        this.o.logger.debug(
          { shardId: this.shardId, code, attempt },
          'GetRecords failed; backing off',
        );
        await abortableSleep(
          jitter(attempt, 200, code.includes('Throughput') ? 5000 : 2000) + 50,
          signal,
        );
      }
    }
  }

  private async getIterator(signal: AbortSignal): Promise<string> {
    const input: GetShardIteratorCommandInput = {
      ShardId: this.shardId,
      ...(this.o.streamName ? { StreamName: this.o.streamName } : {}),
      ...(this.o.streamArn ? { StreamARN: this.o.streamArn } : {}),
      ...positionInput(
        this.lastSequenceNumber
          ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.lastSequenceNumber }
          : this.o.position,
      ),
    };
    const out = await this.o.client.send(new GetShardIteratorCommand(input), {
      abortSignal: signal,
    });
    if (!out.ShardIterator)
      throw new RetrievalError(this.shardId, 'NoIterator', 'GetShardIterator returned no iterator');
    return out.ShardIterator;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function positionInput(
  position: StartPosition,
): Pick<
  GetShardIteratorCommandInput,
  'ShardIteratorType' | 'StartingSequenceNumber' | 'Timestamp'
> {
  switch (position.type) {
    case 'TRIM_HORIZON':
    case 'LATEST':
      return { ShardIteratorType: position.type };
    case 'AT_TIMESTAMP':
      return { ShardIteratorType: 'AT_TIMESTAMP', Timestamp: position.timestamp };
    case 'AT_SEQUENCE_NUMBER':
    case 'AFTER_SEQUENCE_NUMBER':
      return { ShardIteratorType: position.type, StartingSequenceNumber: position.sequenceNumber };
  }
}

import type { Retrieval, RetrievalContext, ShardReader, StartPosition } from '../types';
import { PollingReader } from './polling-reader';
import { ReadAheadReader } from './read-ahead';
import type { ReadAheadLimits } from './read-ahead-buffer';

export { PollingReader } from './polling-reader';
export { ReadAheadReader } from './read-ahead';
export { READ_AHEAD_DEFAULTS, type ReadAheadLimits } from './read-ahead-buffer';

export interface PollingRetrievalOptions {
  maxRecords: number;
  idleTimeBetweenReadsMillis: number;
  /** The wait after a read of a caught-up shard (see `PollingReader`). Default 0: off. */
  millisBehindLatestThresholdForReducedTps?: number;
  onReadError?: (shardId: string, code: string) => void;
  /** Bounds of reading ahead of the processor, or false to read only when asked. Default: off. */
  readAhead?: ReadAheadLimits | false;
}

/** Polling retrieval (GetRecords), the default. */
export function createPollingRetrieval(options: PollingRetrievalOptions): Retrieval {
  let context: RetrievalContext | undefined;
  return {
    mode: 'polling',
    async start(ctx) {
      context = ctx;
    },
    createReader(shardId: string, position: StartPosition): ShardReader {
      if (!context) throw new Error('polling retrieval used before start');
      const byArn = context.target?.streamArn;
      const reader = new PollingReader({
        client: context.kinesisClient,
        streamName: byArn ? undefined : context.streamName,
        streamArn: byArn,
        shardId,
        position,
        maxRecords: options.maxRecords,
        idleTimeBetweenReadsMillis: options.idleTimeBetweenReadsMillis,
        millisBehindLatestThresholdForReducedTps: options.millisBehindLatestThresholdForReducedTps,
        logger: context.logger,
        onReadError: (code) => options.onReadError?.(shardId, code),
      });
      return options.readAhead ? new ReadAheadReader(reader, options.readAhead) : reader;
    },
    async stop() {},
  };
}

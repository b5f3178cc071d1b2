import type { Retrieval, RetrievalContext, ShardReader, StartPosition } from '../types';
import { PollingReader } from './polling-reader';

export { PollingReader } from './polling-reader';

export interface PollingRetrievalOptions {
  maxRecords: number;
  idleTimeBetweenReadsMillis: number;
  onReadError?: (shardId: string, code: string) => void;
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
      return new PollingReader({
        client: context.kinesisClient,
        streamName: context.streamName,
        streamArn: undefined,
        shardId,
        position,
        maxRecords: options.maxRecords,
        idleTimeBetweenReadsMillis: options.idleTimeBetweenReadsMillis,
        logger: context.logger,
        onReadError: (code) => options.onReadError?.(shardId, code),
      });
    },
    async stop() {},
  };
}

import { REDACT_PATHS } from '@shardline/aggregation';
import { silentLogger } from '@shardline/common';
import type { Logger } from 'pino';

/** Paths redacted from every consumer log line (the shared list). */
export const CONSUMER_REDACT_PATHS = REDACT_PATHS;

export function consumerLogger(logger: Logger | undefined, workerId: string): Logger {
  return (logger ?? silentLogger()).child(
    { component: 'shardline-consumer', workerId },
    { redact: [...REDACT_PATHS] },
  );
}

import { REDACT_PATHS } from '@shardline/aggregation';
import pino, { type Logger } from 'pino';

/** Paths redacted from every consumer log line (the shared list). */
export const CONSUMER_REDACT_PATHS = REDACT_PATHS;

export function consumerLogger(logger: Logger | undefined, workerId: string): Logger {
  return (logger ?? pino({ level: 'silent' })).child(
    { component: 'shardline-consumer', workerId },
    { redact: [...REDACT_PATHS] },
  );
}

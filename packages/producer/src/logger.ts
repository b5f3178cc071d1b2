import { REDACT_PATHS } from '@shardline/aggregation';
import { silentLogger } from '@shardline/common';
import type { Logger } from 'pino';

export { REDACT_PATHS };

/** The logger a producer uses: a child of the caller's with our redaction added, or a silent one. */
export function producerLogger(logger: Logger | undefined): Logger {
  return (logger ?? silentLogger()).child(
    { component: 'shardline-producer' },
    { redact: [...REDACT_PATHS] },
  );
}

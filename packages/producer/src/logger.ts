import pino, { type Logger } from 'pino';

/**
 * Paths redacted from every log line, whatever the level: record payloads and anything that looks
 * like a credential. Shardline itself never logs payloads; this catches what a caller's bindings
 * or an SDK error might carry.
 */
export const REDACT_PATHS = [
  'data',
  '*.data',
  'Data',
  '*.Data',
  'records[*].data',
  'credentials',
  '*.credentials',
  'secretAccessKey',
  '*.secretAccessKey',
  'sessionToken',
  '*.sessionToken',
  'accessKeyId',
  '*.accessKeyId',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
];

/** The logger a producer uses: a child of the caller's with our redaction added, or a silent one. */
export function producerLogger(logger: Logger | undefined): Logger {
  return (logger ?? pino({ level: 'silent' })).child({ component: 'shardline-producer' }, { redact: REDACT_PATHS });
}

import pino, { type Logger } from 'pino';

/** Paths redacted from every log line: payloads and anything credential-like. */
export const CONSUMER_REDACT_PATHS = [
  'data',
  '*.data',
  'Data',
  '*.Data',
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
];

export function consumerLogger(logger: Logger | undefined, workerId: string): Logger {
  return (logger ?? pino({ level: 'silent' })).child({ component: 'shardline-consumer', workerId }, { redact: CONSUMER_REDACT_PATHS });
}

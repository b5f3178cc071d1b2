import type { Readable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { TextSink } from './progress';

/** Everything a command touches outside itself, so commands run in tests without a process. */
export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  /** Aborted on the first Ctrl-C / SIGTERM: the command stops gracefully. */
  signal: AbortSignal;
}

/**
 * A pino logger on stderr at `level` (default `silent`). The producer and consumer add their own
 * redaction of payloads and credentials to the children they make of it.
 */
export function cliLogger(level: string): Logger {
  if (level === 'silent') return pino({ level: 'silent' });
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

import type { Logger } from 'pino';

const noop = (): void => {};

/**
 * The logger the packages use when the caller gives none: it writes nothing, as
 * `pino({ level: 'silent' })` would, without loading pino. pino is CommonJS and requires Node
 * built-ins at load, which an ES module bundle cannot serve, and a logger that writes nothing
 * has no reason to cost a bundle or a cold start anything.
 *
 * It implements the part of pino's `Logger` the packages call (the level methods, `child`,
 * `isLevelEnabled`, `bindings`, `flush`, `level`); callers that want output pass their own pino
 * logger, which the packages wrap with `child()` and their redaction paths.
 */
export function silentLogger(): Logger {
  const logger = {
    level: 'silent',
    levelVal: Infinity,
    fatal: noop,
    error: noop,
    warn: noop,
    info: noop,
    debug: noop,
    trace: noop,
    silent: noop,
    child: () => logger,
    bindings: () => ({}),
    setBindings: noop,
    isLevelEnabled: () => false,
    flush: (callback?: (error?: Error) => void) => callback?.(),
  };
  return logger as unknown as Logger;
}

/**
 * The logger methods the adapter calls. A pino `Logger` fits; so does any object with these four
 * methods. Typed structurally so the Lambda entry loads no logging library on a cold start.
 */
export interface LambdaLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

/** The default: logs nothing. */
export const silentLogger: LambdaLogger = { debug: noop, info: noop, warn: noop, error: noop };

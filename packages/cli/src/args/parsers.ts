import { UsageError } from '../errors';
import type { ValueParser } from './flags';
import type { ConsumeArgs } from './types';
import { parseBytes, parseDuration, parseFrom, positiveInt } from './values';

/** The value parsers as flags use them: the error names the flag as typed. */
export const count: ValueParser<number> = (raw, at) => positiveInt(raw, at.flag);
export const duration: ValueParser<number> = (raw, at) => parseDuration(raw, at.flag);
export const bytes: ValueParser<number> = (raw, at) => parseBytes(raw, at.flag);
export const text: ValueParser<string> = (raw) => raw;
/** `--from`, `--to`: a stream position. */
export const position: ValueParser<ConsumeArgs['from']> = (raw, at) => parseFrom(raw, at.flag);

/** `parse`, then a `UsageError` with `message` for a value `ok` refuses. */
export function checked<T, V extends T = T>(
  parse: ValueParser<T>,
  ok: ((value: T) => value is V) | ((value: T) => boolean),
  message: string | ((raw: string) => string),
): ValueParser<V> {
  return (raw, at) => {
    const value = parse(raw, at);
    if (!ok(value)) throw new UsageError(typeof message === 'string' ? message : message(raw));
    return value as V;
  };
}

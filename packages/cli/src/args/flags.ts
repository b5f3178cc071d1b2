import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors';
import { text } from './parsers';

/** Where a value is being read: for error messages that name the command and the flag. */
export interface FlagContext {
  /** `produce`, `leases`, ... */
  readonly command: string;
  /** `--count`, as typed. */
  readonly flag: string;
}

/** Turns the text given for a flag into its value, or throws a one-line `UsageError`. */
export type ValueParser<T> = (raw: string, at: FlagContext) => T;

/** What every flag can say of itself. */
interface FlagText {
  /** One-letter alias: `n` for `-n`. */
  readonly short?: string;
  /**
   * Its lines in the command's help, after the flag; `\n` starts a continuation line and
   * `{default}` stands for the default. Absent: the flag is listed elsewhere (the usage line, the
   * connection footer), not in the flag list.
   */
  readonly help?: string;
  /** The heading it is listed under in help (set with {@link section}). */
  readonly section?: string;
  /** Accepted only with this action of the command (`leases rewind`). */
  readonly action?: string;
}

/** One flag: how it is tokenised, read, defaulted and shown in help. */
export interface Flag<T> extends FlagText {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** How the value looks in help: `N`, `T`, `PATH|-`. */
  readonly placeholder?: string;
  /** The default as a user would type it: read by the flag's parser, shown in help. */
  readonly default?: string;
  /** The typed value from what the command line gave (undefined: not given). */
  readonly read: (raw: string | string[] | boolean | undefined, at: FlagContext) => T;
}

/** A command's flags by name (without `--`), in help order. */
export type FlagTable = Record<string, Flag<unknown>>;

/** The typed values a table reads. */
export type FlagValues<T extends FlagTable> = {
  [K in keyof T]: T[K] extends Flag<infer V> ? V : never;
};

/** A flag without a value; true when given. */
export function toggle(text: FlagText = {}): Flag<boolean> {
  return { ...text, type: 'boolean', read: (raw) => raw === true };
}

interface OptionSpec<T> extends FlagText {
  readonly placeholder: string;
  /** Default: the text as given. */
  readonly parse?: ValueParser<T>;
  readonly default?: string;
  /** Refuse a command line without it (or with it empty). */
  readonly required?: boolean;
}

/** A flag with one value. Its value is undefined when neither given, defaulted nor required. */
export function option<T = string>(spec: OptionSpec<T> & { default: string }): Flag<T>;
export function option<T = string>(spec: OptionSpec<T> & { required: true }): Flag<T>;
export function option<T = string>(spec: OptionSpec<T>): Flag<T | undefined>;
export function option<T>(spec: OptionSpec<T>): Flag<T | undefined> {
  const { parse = text as unknown as ValueParser<T>, required, ...rest } = spec;
  return {
    ...rest,
    type: 'string',
    read: (raw, at) => {
      if (typeof raw === 'string' && !(required && raw === '')) return parse(raw, at);
      if (required) throw new UsageError(`${at.command}: ${at.flag} is required`);
      return spec.default === undefined ? undefined : parse(spec.default, at);
    },
  };
}

/** A flag that may be given several times; its values in order, none when not given. */
export function repeated<T = string>(
  spec: FlagText & { placeholder: string; parse?: ValueParser<T> },
): Flag<T[]> {
  const { parse = text as unknown as ValueParser<T>, ...rest } = spec;
  return {
    ...rest,
    type: 'string',
    multiple: true,
    read: (raw, at) => (Array.isArray(raw) ? raw : []).map((v) => parse(String(v), at)),
  };
}

/**
 * The same flags, listed in help under `title`. `T` is unconstrained on purpose: a `FlagTable`
 * bound would type each flag in the literal as `Flag<unknown>` and lose its value type.
 */
export function section<T>(title: string, flags: T): T {
  return Object.fromEntries(
    Object.entries(flags as FlagTable).map(([name, flag]) => [name, { ...flag, section: title }]),
  ) as T;
}

/** What a command line gave: `--help`, or every flag's value and which flags were given. */
export type ReadResult<T extends FlagTable> =
  | { help: true }
  | { help: false; values: FlagValues<T>; given: ReadonlySet<keyof T & string> };

/**
 * Reads `args` against `table`: unknown flags, missing values and stray arguments are
 * `UsageError`s naming the command; `--help` wins over every other check.
 */
export function readFlags<T extends FlagTable>(
  command: string,
  table: T,
  args: readonly string[],
  action?: string,
): ReadResult<T> {
  const raw = tokenise(command, table, args);
  if (raw.help === true) return { help: true };
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(table))
    values[name] = flag.read(raw[name], { command, flag: `--${name}` });
  const given = new Set(Object.keys(raw).filter((name) => raw[name] !== undefined));
  for (const name of given) {
    const only = table[name]?.action;
    if (only !== undefined && only !== action)
      throw new UsageError(`${command}: --${name} is a flag of 'shardline ${command} ${only}'`);
  }
  return { help: false, values: values as FlagValues<T>, given };
}

type Raw = Record<string, string | string[] | boolean | undefined>;

function tokenise(command: string, table: FlagTable, args: readonly string[]): Raw {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, flag] of Object.entries(table)) {
    options[name] = {
      type: flag.type,
      ...(flag.short ? { short: flag.short } : {}),
      ...(flag.multiple ? { multiple: true } : {}),
    };
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length > 0)
      throw new UsageError(`${command}: unexpected argument ${JSON.stringify(positionals[0])}`);
    return values as Raw;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // node:util's messages are multi-line and mention "strict: false"; keep the first sentence.
    const message = (error as Error).message
      .split('\n')[0]!
      .replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(`${command}: ${message}`);
  }
}

import { readFlags, type FlagTable, type FlagValues } from './flags';
import { AWS_FLAGS, awsFlags, connectionHelp, HELP_FLAG } from './shared';
import type { AwsFlags, CliArgs } from './types';

/** What a command's builder gets besides the flag values. */
export interface BuildContext<T extends FlagTable> {
  /** The flags the command line gave (not defaulted). */
  readonly given: ReadonlySet<keyof T & string>;
  /** The action named by the first argument, for commands that have actions. */
  readonly action: string | undefined;
  /** The connection flags, for commands that connect. */
  readonly aws: AwsFlags;
}

/** Everything about one command's command line: its flags, its help, its checks. */
export interface CommandSpec<T extends FlagTable, A extends CliArgs> {
  readonly name: A['command'];
  /** Its line in the main help's command list. */
  readonly summary: string;
  /** Help before the flag list: usage lines and what the command does. */
  readonly intro: readonly string[];
  /** Its own flags, in help order; `--help` (and the connection flags) are added. */
  readonly flags: T;
  /** Help after the flag list. */
  readonly outro?: readonly string[];
  /** Takes the connection flags (region, endpoints, credentials). */
  readonly connects?: boolean;
  /** Actions named by the first argument; the first is the default. */
  readonly actions?: readonly string[];
  /** The parsed command, after the checks that involve several flags. */
  readonly build: (values: FlagValues<T>, context: BuildContext<T>) => A;
}

/** A command as the CLI uses it. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Every flag it takes, `--help` and connection flags included. */
  readonly flags: FlagTable;
  /** Parses what follows the command's name; `help` for `--help`. */
  parse(args: readonly string[]): CliArgs | 'help';
  /** Its `--help` text. */
  help(): string;
}

export function defineCommand<T extends FlagTable, A extends CliArgs>(
  spec: CommandSpec<T, A>,
): Command {
  const flags: FlagTable = { ...spec.flags, ...HELP_FLAG, ...(spec.connects ? AWS_FLAGS : {}) };
  return {
    name: spec.name,
    summary: spec.summary,
    flags,
    parse(args) {
      const named = spec.actions?.includes(args[0] ?? '') ? args[0] : undefined;
      const action = named ?? spec.actions?.[0];
      const read = readFlags(spec.name, flags, named ? args.slice(1) : args, action);
      if (read.help) return 'help';
      const aws = spec.connects ? awsFlags(read.values) : {};
      return spec.build(read.values as FlagValues<T>, {
        given: read.given as ReadonlySet<keyof T & string>,
        action,
        aws,
      });
    },
    help: () => renderHelp(spec),
  };
}

/** Flag column width: `  -n, --count N` and the like, then the description. */
const COLUMN = 25;

function renderHelp(
  spec: Pick<CommandSpec<FlagTable, CliArgs>, 'intro' | 'flags' | 'outro' | 'connects'>,
): string {
  const lines = [...spec.intro];
  let section: string | undefined;
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (flag.help === undefined) continue;
    if (flag.section !== section) {
      section = flag.section;
      if (section !== undefined) lines.push(section);
    }
    const [first, ...more] = flag.help.replaceAll('{default}', flag.default ?? '').split('\n');
    const label = `${flag.short ? `  -${flag.short}, ` : '      '}--${name}${flag.placeholder ? ` ${flag.placeholder}` : ''}`;
    lines.push(`${label.length < COLUMN ? label.padEnd(COLUMN) : `${label}  `}${first}`);
    for (const line of more) lines.push(`${' '.repeat(COLUMN)}${line}`);
  }
  lines.push(...(spec.outro ?? []), ...(spec.connects ? connectionHelp() : []));
  return `${lines.join('\n')}\n`;
}

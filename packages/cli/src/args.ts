import { UsageError } from './errors';
import { COMMANDS, COMMAND_SPECS } from './args/commands';
import type { CliArgs } from './args/types';

export { COMMANDS } from './args/commands';
export type * from './args/types';
export {
  isHttpUrl,
  parseBytes,
  parseDuration,
  parseFrom,
  parseRate,
  parseSequenceSpec,
  parseStreamSpec,
  positiveInt,
} from './args/values';

/**
 * Parses and checks a command line (without `node` and the script: `process.argv.slice(2)`).
 * Every problem is a `UsageError` whose message fits on one line.
 */
export function parseCli(argv: readonly string[]): CliArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    return { command: 'help', topic: first === 'help' ? rest[0] : undefined };
  }
  if (first === '--version' || first === '-v' || first === 'version') return { command: 'version' };
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(
      `unknown command ${JSON.stringify(first)}; expected one of ${COMMANDS.join(', ')}`,
    );
  }
  const command = first as (typeof COMMANDS)[number];
  const parsed = COMMAND_SPECS[command].parse(rest);
  return parsed === 'help' ? { command: 'help', topic: command } : parsed;
}

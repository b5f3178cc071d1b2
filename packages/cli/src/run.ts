import { ShardlineError } from '@shardline/aggregation';
import { parseCli, type CliArgs } from './args';
import { runConsume } from './commands/consume';
import { runDemo } from './commands/demo';
import { runLeases } from './commands/leases';
import { runLocal } from './commands/local';
import { runProduce } from './commands/produce';
import { UsageError } from './errors';
import { HELP } from './help';
import type { CliIo } from './io';
import packageJson from '../package.json';

/** Exit codes, stable for scripts. */
export const EXIT = {
  ok: 0,
  /** Records failed or missing, a backend error, bad input. */
  failure: 1,
  /** Bad command line. */
  usage: 2,
  /** Stopped by Ctrl-C / SIGTERM before the work was done (produce, demo, leases rewind). */
  interrupted: 130,
} as const;

/** The CLI's version: package.json's, bundled into the build. */
const VERSION: string = packageJson.version;

/**
 * Runs one command line to its exit code. Every error ends as one line on stderr; none escapes.
 * Credentials never appear in what it prints: errors name where credentials came from, not them.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCli(argv);
  } catch (error) {
    io.stderr.write(`shardline: ${(error as Error).message} (see shardline --help)\n`);
    return EXIT.usage;
  }
  try {
    switch (args.command) {
      case 'help':
        io.stdout.write(HELP[args.topic ?? 'main'] ?? HELP.main!);
        return EXIT.ok;
      case 'version':
        io.stdout.write(`${VERSION}\n`);
        return EXIT.ok;
      case 'produce':
        if (args.aws.profile) io.env.AWS_PROFILE = args.aws.profile;
        return await runProduce(args, io);
      case 'consume':
        if (args.aws.profile) io.env.AWS_PROFILE = args.aws.profile;
        return await runConsume(args, io);
      case 'leases':
        if (args.aws.profile) io.env.AWS_PROFILE = args.aws.profile;
        return await runLeases(args, io);
      case 'local':
        return await runLocal(args, io);
      case 'demo':
        return await runDemo(args, io);
    }
  } catch (error) {
    io.stderr.write(`shardline: ${oneLine(error)}\n`);
    return error instanceof UsageError ? EXIT.usage : EXIT.failure;
  }
}

/** `CODE: message`, first line only, for typed errors; the message for others. */
export function oneLine(error: unknown): string {
  if (error instanceof ShardlineError) return `${error.message.split('\n')[0]} [${error.code}]`;
  if (error instanceof Error) return (error.message || error.name).split('\n')[0]!;
  return String(error);
}

import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { parseCli, runCli, UsageError } from '../../src/index';

/** Runs a command line in process with `env`, capturing stdout and stderr. */
export async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from([]),
    env,
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

/** The `UsageError` (code USAGE, one line) that parsing `argv` must throw. */
export function usage(argv: string[]): UsageError {
  try {
    parseCli(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe('USAGE');
    expect((error as Error).message).not.toContain('\n');
    return error as UsageError;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
}

/**
 * `pnpm test`: vitest under a run id of its own, then the emulator guard. Every kinesis-local the
 * run starts carries the id in its environment (see @shardline/local), so the guard can tell this
 * run's leftovers from anything else on the machine. An id already set (by .ci/run) is kept.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { guardRun } from './emulator-guard';

const runId = (process.env.SHARDLINE_RUN_ID ||= `test-${process.pid}-${Date.now().toString(36)}`);
const vitest = join(
  dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
  'vitest.mjs',
);
const child = spawn(process.execPath, [vitest, 'run', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
// Ctrl-C reaches vitest through the terminal's process group; a SIGTERM sent to this process
// alone is passed on, so vitest can still run its teardown before the guard looks.
process.on('SIGTERM', () => child.kill('SIGTERM'));
process.on('SIGINT', () => {});
const code = await new Promise<number>((resolve) =>
  child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))),
);
const clean = await guardRun(runId);
process.exit(clean ? code : 1);

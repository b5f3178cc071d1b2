/**
 * `tsx scripts/emulator-guard.ts [RUN_ID]`: fails (exit 1), naming them, when emulator processes
 * started under the run id (default: $SHARDLINE_RUN_ID) are still alive, and kills them. Run at
 * the end of `pnpm test` (scripts/test-run.ts) and of `.ci/run`. SHARDLINE_GUARD_DEADLINE_MS: how
 * long exiting processes get (default 15,000).
 */
import { pathToFileURL } from 'node:url';
import { checkNoEmulatorsLeft, describeLeftovers } from '../packages/local/src/emulator-guard';

/** Prints the guard's verdict for `runId`; true when nothing of the run is left. */
export async function guardRun(runId: string): Promise<boolean> {
  const deadlineMs = Number(process.env.SHARDLINE_GUARD_DEADLINE_MS) || undefined;
  const { left } = await checkNoEmulatorsLeft({ runId, ...(deadlineMs ? { deadlineMs } : {}) });
  if (left.length === 0) {
    process.stdout.write(`emulator guard: no emulator process of run ${runId} is left\n`);
    return true;
  }
  console.error(
    `emulator guard: ${left.length} emulator process(es) started by run ${runId} outlived it (now killed):`,
  );
  for (const line of describeLeftovers(left)) console.error(`  ${line}`);
  return false;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const runId = process.argv[2] ?? process.env.SHARDLINE_RUN_ID;
  if (!runId) {
    console.error('emulator guard: no run id (pass one, or set SHARDLINE_RUN_ID)');
    process.exit(2);
  }
  process.exit((await guardRun(runId)) ? 0 : 1);
}

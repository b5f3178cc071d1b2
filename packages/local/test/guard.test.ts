import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkNoEmulatorsLeft, isProcessAlive, startLocalBackend } from '../src/index';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs the guard script as `pnpm test` and `.ci/run` do. */
function guard(runId: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/emulator-guard.ts', runId], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, SHARDLINE_GUARD_DEADLINE_MS: '300' },
  });
}

describe('the emulator guard', () => {
  it('fails naming an emulator of the run that is still alive, and kills it', async () => {
    const runId = `guard-test-${randomUUID()}`;
    const backend = await startLocalBackend({
      dynamodb: false,
      kinesisEnv: { SHARDLINE_RUN_ID: runId },
    });
    try {
      const result = guard(runId);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`pid ${backend.kinesisPid} `);
      expect(result.stderr).toContain('outlived it');
      // SIGKILL is delivered asynchronously: wait (bounded) for the process to be gone.
      const deadline = Date.now() + 10_000;
      while (isProcessAlive(backend.kinesisPid!) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(isProcessAlive(backend.kinesisPid!)).toBe(false);
    } finally {
      await backend.stop();
    }
  }, 120_000);

  it("passes when the run's emulators are gone, and ignores other runs' ones", async () => {
    const runId = `guard-test-${randomUUID()}`;
    const other = await startLocalBackend({
      dynamodb: false,
      kinesisEnv: { SHARDLINE_RUN_ID: `other-${runId}` },
    });
    try {
      const stopped = await startLocalBackend({
        dynamodb: false,
        kinesisEnv: { SHARDLINE_RUN_ID: runId },
      });
      await stopped.stop();
      const result = guard(runId);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toContain(`no emulator process of run ${runId} is left`);
      expect(isProcessAlive(other.kinesisPid!)).toBe(true);
      expect((await checkNoEmulatorsLeft({ runId, deadlineMs: 0 })).left).toEqual([]);
    } finally {
      await other.stop();
    }
  }, 120_000);
});

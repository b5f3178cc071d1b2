import { findEmulatorProcesses, isProcessAlive, type EmulatorProcess } from './emulator-processes';

export interface EmulatorGuardOptions {
  /** The run whose emulators are checked: the `SHARDLINE_RUN_ID` they were started under. */
  runId?: string;
  /** Further (or, without `runId`, the only) `SHARDLINE_*` environment entries to match. */
  match?: Record<string, string>;
  /** Emulator pids known beforehand, followed by pid whether or not they still match. */
  pids?: number[];
  /** How long processes that are already exiting get to finish. Default 15,000 ms. */
  deadlineMs?: number;
}

/** What the guard found. */
export interface EmulatorGuardResult {
  /** Emulators of the run still alive at the deadline (they were then killed). */
  readonly left: EmulatorProcess[];
}

/**
 * The test run's last check: every kinesis-local that was started under `runId` must be gone.
 * Whatever is still alive at the deadline is reported and then killed (SIGKILL), so that a
 * failure does not also leak the process into the next run. The run's own clean-up comes first;
 * this only catches what it missed.
 */
export async function checkNoEmulatorsLeft(
  options: EmulatorGuardOptions,
): Promise<EmulatorGuardResult> {
  const match = {
    ...(options.runId ? { SHARDLINE_RUN_ID: options.runId } : {}),
    ...options.match,
  };
  // An empty match would take every emulator on the machine, other runs' included, for ours.
  if (Object.keys(match).length === 0 && !options.pids?.length)
    throw new Error('checkNoEmulatorsLeft needs a runId, a match or pids');
  const deadline = Date.now() + (options.deadlineMs ?? 15_000);
  const seen = new Map<number, EmulatorProcess>();
  for (const pid of options.pids ?? []) seen.set(pid, { pid, env: {}, command: '' });
  for (;;) {
    if (Object.keys(match).length > 0)
      for (const found of findEmulatorProcesses(match)) seen.set(found.pid, found);
    const alive = [...seen.values()].filter((p) => isProcessAlive(p.pid));
    if (alive.length === 0) return { left: [] };
    if (Date.now() > deadline) {
      for (const p of alive) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      return { left: alive };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One line per leftover, for the guard's failure message. */
export function describeLeftovers(left: EmulatorProcess[]): string[] {
  return left.map(
    (p) =>
      `pid ${p.pid} (owner pid ${p.env.SHARDLINE_EMULATOR_OWNER ?? '?'}, ${p.env.SHARDLINE_EMULATOR}): ${p.command}`,
  );
}

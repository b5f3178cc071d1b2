import { readFileSync, readdirSync } from 'node:fs';
import { EMULATOR_MARKER } from './watchdog';

/** An emulator process found on this machine. */
export interface EmulatorProcess {
  readonly pid: number;
  /** The environment variables it was started with that Shardline set (`SHARDLINE_*`). */
  readonly env: Record<string, string>;
  /** Its command line, shortened. */
  readonly command: string;
}

/**
 * Every live kinesis-local started by `@shardline/local` on this machine whose environment holds
 * all of `match` (e.g. `{ SHARDLINE_RUN_ID: id }`): the test run's guard and the lifecycle tests
 * find "what did we leave behind" by it, whichever process started the emulator and whether or
 * not that process is still there. Reads `/proc`, so it answers on Linux; elsewhere it throws,
 * rather than claim that nothing is left.
 */
export function findEmulatorProcesses(match: Record<string, string> = {}): EmulatorProcess[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch (error) {
    throw new Error(`findEmulatorProcesses needs /proc (Linux): ${(error as Error).message}`);
  }
  const found: EmulatorProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: string;
    let cmdline: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    const env: Record<string, string> = {};
    for (const pair of environ.split('\0')) {
      const at = pair.indexOf('=');
      if (at > 0 && pair.startsWith('SHARDLINE_')) env[pair.slice(0, at)] = pair.slice(at + 1);
    }
    if (!env[EMULATOR_MARKER]) continue;
    if (!Object.entries(match).every(([key, value]) => env[key] === value)) continue;
    if (!isProcessAlive(Number(entry))) continue;
    const command = cmdline
      .split('\0')
      .filter(Boolean)
      .map((part) => part.split('\n')[0]);
    found.push({ pid: Number(entry), env, command: command.join(' ').slice(0, 200) });
  }
  return found;
}

/**
 * The process still runs or holds resources (its sockets among them). Ask this by pid of a process
 * found earlier: while a process exits, its environment becomes unreadable before its sockets
 * close, so a search by environment can miss one that still listens, for a moment. Every thread
 * counts: a main thread that has exited shows as a zombie while the process's other threads are
 * still tearing down and its listening sockets are still open.
 */
export function isProcessAlive(pid: number): boolean {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    tasks = [String(pid)];
  }
  return tasks.some((task) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return state !== 'Z' && state !== 'X';
    } catch {
      return false;
    }
  });
}

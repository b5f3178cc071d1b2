import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable, readRows } from './report';

const LAST_REPORT = fileURLToPath(
  new URL('../../test/reliability/last-report.md', import.meta.url),
);

/**
 * Global setup of the `reliability` project: gives the run a fresh rows file, and at the end prints
 * the table (scenario, sent, received, duplicates, lost, faults, result) and, after a run of every
 * scenario, keeps a copy in `integration/test/reliability/last-report.md` for the README.
 */
export default function setup(): () => void {
  const file = join(tmpdir(), `shardline-reliability-${process.pid}-${Date.now()}.jsonl`);
  rmSync(file, { force: true });
  process.env.SHARDLINE_RELIABILITY_ROWS = file;
  return () => {
    const rows = readRows(file);
    rmSync(file, { force: true });
    if (rows.length === 0) return;
    const table = formatTable(rows);
    process.stdout.write(`\nReliability report\n\n${table}\n`);
    // Only a run of every scenario replaces the kept report: a filtered run must not shrink it.
    const numbers = new Set(rows.map((row) => Number.parseInt(row.scenario, 10)));
    if (![1, 2, 3, 4, 5, 6, 7, 8].every((n) => numbers.has(n))) return;
    mkdirSync(dirname(LAST_REPORT), { recursive: true });
    writeFileSync(
      LAST_REPORT,
      `# Reliability report (last run)\n\nWritten by \`pnpm test:reliability\`.\n\n${table}\n`,
    );
  };
}

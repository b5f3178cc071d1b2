import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One line of the reliability report: what a scenario sent, got back, and injected. */
export interface ScenarioRow {
  scenario: string;
  sent: number;
  received: number;
  duplicates: number;
  lost: number;
  faultsInjected: number;
  result: 'pass' | 'fail';
}

/**
 * Where rows go for this run. The report global setup sets the variable before the test workers
 * start (they inherit the environment), so every file of the run appends to the same file.
 */
export function rowsFile(): string {
  return (
    process.env.SHARDLINE_RELIABILITY_ROWS ??
    join(tmpdir(), `shardline-reliability-${process.ppid}.jsonl`)
  );
}

/** Appends a scenario's row; call it from the test, after its assertions ran (pass) or failed. */
export function recordRow(row: ScenarioRow): void {
  appendFileSync(rowsFile(), JSON.stringify(row) + '\n');
}

/**
 * Runs `body`, then records its row with `result` from whether the body threw; rethrows. The row's
 * figures come from `figures`, read after the body ran, so a failing scenario still reports what it saw.
 */
export async function scenario(
  name: string,
  figures: () => Omit<ScenarioRow, 'scenario' | 'result'>,
  body: () => Promise<void>,
): Promise<void> {
  let result: ScenarioRow['result'] = 'pass';
  try {
    await body();
  } catch (error) {
    result = 'fail';
    throw error;
  } finally {
    recordRow({ scenario: name, ...figures(), result });
  }
}

/** Reads the rows recorded so far, in the order they were recorded. */
export function readRows(file = rowsFile()): ScenarioRow[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ScenarioRow);
}

const COLUMNS: [keyof ScenarioRow, string][] = [
  ['scenario', 'scenario'],
  ['sent', 'records sent'],
  ['received', 'received'],
  ['duplicates', 'duplicates'],
  ['lost', 'lost'],
  ['faultsInjected', 'faults injected'],
  ['result', 'result'],
];

/** The rows as one Markdown table (the same text goes to the terminal and the README). */
export function formatTable(rows: readonly ScenarioRow[]): string {
  // Files run in whatever order vitest picks; the table follows the numbering.
  const sorted = [...rows].sort((a, b) =>
    a.scenario.localeCompare(b.scenario, 'en', { numeric: true }),
  );
  const cells = [
    COLUMNS.map(([, title]) => title),
    ...sorted.map((row) => COLUMNS.map(([key]) => String(row[key]))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  const line = (values: string[]) =>
    `| ${values.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ')} |`;
  // Laid out as prettier lays out Markdown tables, so the written report passes format:check.
  const rule = line(widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)));
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)].join('\n');
}

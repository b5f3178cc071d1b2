import { formatCount, formatMB } from './progress';

/** What `produce` reports at the end (and prints as JSON with `--json`). */
export interface ProduceSummary {
  stream: string;
  /** Records Kinesis confirmed. */
  sent: number;
  /** Records that ended in a failure. */
  failed: number;
  seconds: number;
  bytes: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  retries: number;
  throttles: number;
  kinesisRecords: number;
  putRecordsCalls: number;
  /** Failures by error code, e.g. `{ "RECORD_EXPIRED": 3 }`. */
  failuresByCode: Record<string, number>;
  /** True when Ctrl-C (or SIGTERM) ended the run early. */
  interrupted: boolean;
}

/** Rates from totals; zero time counts as a millisecond so rates stay finite. */
export function rates(
  records: number,
  bytes: number,
  seconds: number,
): { recordsPerSecond: number; megabytesPerSecond: number } {
  const s = Math.max(seconds, 0.001);
  return { recordsPerSecond: round(records / s, 1), megabytesPerSecond: round(bytes / 1e6 / s, 3) };
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Human text for the end of `produce`. */
export function formatProduceSummary(s: ProduceSummary): string {
  const rows: [string, string][] = [
    ['stream', s.stream],
    [
      'sent',
      `${formatCount(s.sent)} records, ${formatMB(s.bytes)} MB in ${s.seconds.toFixed(1)} s`,
    ],
    [
      'throughput',
      `${formatCount(s.recordsPerSecond)} records/s, ${s.megabytesPerSecond.toFixed(2)} MB/s`,
    ],
    [
      'kinesis',
      `${formatCount(s.kinesisRecords)} Kinesis records in ${formatCount(s.putRecordsCalls)} PutRecords calls`,
    ],
    ['retries', `${formatCount(s.retries)} (throttled ${formatCount(s.throttles)})`],
    [
      'failed',
      s.failed === 0
        ? '0'
        : `${formatCount(s.failed)} (${Object.entries(s.failuresByCode)
            .map(([c, n]) => `${c}: ${n}`)
            .join(', ')})`,
    ],
  ];
  const head = s.interrupted
    ? 'produce interrupted: flushed what was buffered; every record below has its outcome\n'
    : '';
  return head + formatTable(rows);
}

/** Two aligned columns. */
export function formatTable(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

/** Percentiles of a sample (nearest rank); zeros for an empty one. */
export function percentiles(values: number[], ps: readonly number[]): number[] {
  if (values.length === 0) return ps.map(() => 0);
  const sorted = Float64Array.from(values).sort();
  return ps.map(
    (p) =>
      sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!,
  );
}

/** What `demo` reports (and prints as JSON with `--json`). */
export interface DemoSummary {
  ok: boolean;
  records: number;
  shards: number;
  workers: number;
  retrieval: 'polling' | 'fanout';
  compression: string;
  sent: number;
  failed: number;
  received: number;
  duplicates: number;
  missing: number;
  /** True when the data of every received record matches what was sent. */
  checksumOk: boolean;
  /** Whole run, backend start to backend stop. */
  seconds: number;
  produceSeconds: number;
  consumeSeconds: number;
  producedPerSecond: number;
  consumedPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  retries: number;
  throttles: number;
  kinesisRecords: number;
  leaseAcquisitions: number;
  /** Leases that went from one worker to another during the run. */
  leaseMoves: number;
  interrupted: boolean;
}

/** Human table for the end of `demo`. */
export function formatDemoSummary(s: DemoSummary): string {
  const rows: [string, string][] = [
    [
      'setup',
      `${formatCount(s.records)} records, ${s.shards} shards, ${s.workers} workers (${s.retrieval}), aggregation + ${s.compression}`,
    ],
    [
      'produced',
      `${formatCount(s.sent)} sent, ${formatCount(s.failed)} failed in ${s.produceSeconds.toFixed(1)} s (${formatCount(s.producedPerSecond)} records/s) as ${formatCount(s.kinesisRecords)} Kinesis records`,
    ],
    [
      'consumed',
      `${formatCount(s.received)} received in ${s.consumeSeconds.toFixed(1)} s (${formatCount(s.consumedPerSecond)} records/s)`,
    ],
    ['missing', formatCount(s.missing)],
    ['duplicates', formatCount(s.duplicates)],
    ['checksum', s.checksumOk ? 'ok' : 'MISMATCH'],
    [
      'latency',
      `p50 ${formatCount(s.latencyMs.p50)} ms, p95 ${formatCount(s.latencyMs.p95)} ms, p99 ${formatCount(s.latencyMs.p99)} ms, max ${formatCount(s.latencyMs.max)} ms`,
    ],
    ['retries', `${formatCount(s.retries)} (throttled ${formatCount(s.throttles)})`],
    [
      'leases',
      `${formatCount(s.leaseAcquisitions)} acquired, ${formatCount(s.leaseMoves)} moved between workers`,
    ],
    ['total', `${s.seconds.toFixed(1)} s`],
  ];
  const verdict = s.interrupted
    ? 'demo interrupted: stopped gracefully, results are partial\n'
    : s.ok
      ? 'demo passed: every record arrived intact\n'
      : 'demo FAILED: records are missing, failed or corrupted\n';
  return formatTable(rows) + verdict;
}

/** Where a produce run stands, as the progress display shows it. */
export interface ProgressSnapshot {
  /** Records Kinesis confirmed. */
  sent: number;
  failed: number;
  /** User data bytes confirmed. */
  bytes: number;
  retries: number;
  elapsedMs: number;
  /** Records to send in all, when known (`--count`). */
  total?: number | undefined;
}

/** Something a text line goes to: process.stderr, or a buffer in tests. */
export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Shows progress while a command runs. */
export interface ProgressReporter {
  /** Called often; draws at most every `intervalMs`. */
  update(snapshot: ProgressSnapshot): void;
  /** Draws the last state and leaves the line (TTY) clean for the summary. */
  done(snapshot: ProgressSnapshot): void;
}

const MB = 1_000_000;

/** `12,345 records  4,100 rec/s  retries 0  failed 0  1.2 MB  0.4 MB/s` */
export function formatProgressLine(s: ProgressSnapshot): string {
  const seconds = Math.max(s.elapsedMs, 1) / 1000;
  const of = s.total !== undefined ? `/${formatCount(s.total)}` : '';
  // Most telling first: on a narrow terminal the line is cut from the right.
  return (
    `${formatCount(s.sent)}${of} records  ${formatCount(Math.round(s.sent / seconds))} rec/s  ` +
    `retries ${formatCount(s.retries)}  failed ${formatCount(s.failed)}  ${formatMB(s.bytes)} MB  ${formatMB(s.bytes / seconds)} MB/s`
  );
}

/** `[#########...........]  45%  ` + the progress line, cut to `columns`. Without a total, a spinner-free line. */
export function formatProgressBar(s: ProgressSnapshot, columns = 80): string {
  const line = formatProgressLine(s);
  if (s.total === undefined || s.total <= 0) return line.slice(0, Math.max(columns - 1, 10));
  const fraction = Math.min((s.sent + s.failed) / s.total, 1);
  const width = 20;
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  `;
  return (bar + line).slice(0, Math.max(columns - 1, 10));
}

/** `1,234,567` */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Megabytes (10^6) with one decimal, two below 1. */
export function formatMB(bytes: number): string {
  const mb = bytes / MB;
  return mb < 1 ? mb.toFixed(2) : mb.toFixed(1);
}

/**
 * A bar redrawn in place on a terminal, or a plain line every `intervalMs` otherwise (CI logs,
 * pipes), so logs stay readable and terminals stay lively.
 */
export function createProgressReporter(
  sink: TextSink,
  options: { tty?: boolean; intervalMs?: number; now?: () => number } = {},
): ProgressReporter {
  const tty = options.tty ?? sink.isTTY === true;
  const intervalMs = options.intervalMs ?? (tty ? 200 : 5000);
  const now = options.now ?? Date.now;
  let last = now();
  let drawn = false;
  const draw = (s: ProgressSnapshot) => {
    if (tty) {
      sink.write(`\r${formatProgressBar(s, sink.columns || 80)}\x1b[K`);
    } else {
      sink.write(`progress: ${formatProgressLine(s)}\n`);
    }
    drawn = true;
  };
  return {
    update(s) {
      const t = now();
      if (t - last < intervalMs) return;
      last = t;
      draw(s);
    },
    done(s) {
      if (tty) {
        draw(s);
        sink.write('\n');
      } else if (drawn) {
        draw(s);
      }
    },
  };
}

/** A reporter that shows nothing (`--quiet`). */
export const silentProgress: ProgressReporter = { update() {}, done() {} };

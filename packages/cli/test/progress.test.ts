import { describe, expect, it } from 'vitest';
import { createProgressReporter, formatProgressBar, formatProgressLine } from '../src/progress';

const snap = { sent: 1500, failed: 2, bytes: 3_000_000, retries: 4, elapsedMs: 2000 };

describe('progress display', () => {
  it('a line names records, MB, rate, retries and failures', () => {
    expect(formatProgressLine(snap)).toBe(
      '1,500 records  750 rec/s  retries 4  failed 2  3.0 MB  1.5 MB/s',
    );
  });

  it('a bar shows the share done when the total is known, cut to the terminal width', () => {
    const bar = formatProgressBar({ ...snap, total: 3004 }, 200);
    expect(bar.startsWith('[##########..........]  50%  1,500/3,004 records')).toBe(true);
    expect(formatProgressBar({ ...snap, total: 3004 }, 30)).toHaveLength(29);
  });

  it('on a TTY redraws one line in place and ends it with a newline', () => {
    let out = '';
    let t = 0;
    const reporter = createProgressReporter(
      { write: (s: string) => (out += s), isTTY: true, columns: 120 },
      { now: () => t },
    );
    t = 300;
    reporter.update(snap);
    t = 350;
    reporter.update(snap); // within the interval: not drawn
    reporter.done(snap);
    expect(out.match(/\r/g)).toHaveLength(2);
    expect(out.endsWith('\n')).toBe(true);
    expect(out.split('\n')).toHaveLength(2);
  });

  it('elsewhere prints plain lines at the interval, no control characters', () => {
    let out = '';
    let t = 0;
    const reporter = createProgressReporter(
      { write: (s: string) => (out += s), isTTY: false },
      { intervalMs: 1000, now: () => t },
    );
    for (t = 0; t <= 3500; t += 100) reporter.update(snap);
    reporter.done(snap);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(4); // at 1000, 2000, 3000 and the final one
    expect(lines.every((l) => l.startsWith('progress: '))).toBe(true);
    expect(out.includes('\r') || out.includes('\u001b')).toBe(false);
  });

  it('a short run off a TTY prints no progress at all (the summary says it)', () => {
    let out = '';
    const reporter = createProgressReporter(
      { write: (s: string) => (out += s), isTTY: false },
      { intervalMs: 1000, now: () => 0 },
    );
    reporter.update(snap);
    reporter.done(snap);
    expect(out).toBe('');
  });
});

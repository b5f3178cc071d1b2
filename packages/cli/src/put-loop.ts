import type { Producer, ProducerRecord } from '@shardline/producer';
import { sleep } from './io';

/** Running counts of a put loop; `sent` and `failed` only move when a record has its outcome. */
export interface PutCounts {
  offered: number;
  sent: number;
  failed: number;
  /** User data bytes of the records sent. */
  bytes: number;
  failuresByCode: Record<string, number>;
}

/** Options of `putAll`. */
export interface PutLoopOptions {
  /** Stops taking records from the source; those already put still get their outcomes. */
  signal: AbortSignal;
  /** Records per second, paced against the start time; undefined: as fast as the producer takes them. */
  rate?: number | undefined;
  /** Most records put and not yet finished, bounding memory on endless sources. Default 20,000. */
  maxInFlight?: number;
  /** Called after each outcome. Must be cheap. */
  onOutcome?: (counts: PutCounts) => void;
}

/**
 * Puts every record of `source` and waits until each has its outcome, counting successes and
 * failures by code. A source that throws stops the loop; its error is returned beside the counts
 * so the caller can still report what was sent.
 */
export async function putAll(
  producer: Producer,
  source: AsyncIterable<ProducerRecord> | Iterable<ProducerRecord>,
  options: PutLoopOptions,
): Promise<{ counts: PutCounts; readError: unknown }> {
  const maxInFlight = options.maxInFlight ?? 20_000;
  const counts: PutCounts = { offered: 0, sent: 0, failed: 0, bytes: 0, failuresByCode: {} };
  const started = Date.now();
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const settle = () => {
    inFlight--;
    options.onOutcome?.(counts);
    if (wake && (inFlight < maxInFlight || inFlight === 0)) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  let readError: unknown;
  const iterator =
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  try {
    // Every wait happens before a record is taken from the source, so a record taken is always
    // put: Ctrl-C never leaves one read from the input and silently dropped.
    for (;;) {
      if (options.signal.aborted) break;
      if (options.rate !== undefined) {
        const wait = started + (counts.offered / options.rate) * 1000 - Date.now();
        if (wait > 5) await sleep(wait, options.signal);
        if (options.signal.aborted) break;
      }
      if (inFlight >= maxInFlight) await new Promise<void>((resolve) => (wake = resolve));
      if (options.signal.aborted) break;
      const next = await iterator.next();
      if (next.done) break;
      const record = next.value;
      const size =
        typeof record.data === 'string' ? Buffer.byteLength(record.data) : record.data.length;
      inFlight++;
      counts.offered++;
      producer.put(record).then(
        () => {
          counts.sent++;
          counts.bytes += size;
          settle();
        },
        (error: { code?: string; name?: string }) => {
          counts.failed++;
          const code = error?.code ?? error?.name ?? 'UNKNOWN';
          counts.failuresByCode[code] = (counts.failuresByCode[code] ?? 0) + 1;
          settle();
        },
      );
    }
  } catch (error) {
    readError = error;
  } finally {
    await iterator.return?.();
  }
  while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
  return { counts, readError };
}

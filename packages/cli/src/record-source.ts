import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { ProducerRecord } from '@shardline/producer';
import type { RecordInput } from './args';
import { InputError } from './errors';

/** Marks generated payloads so a consumer (and the demo) can tell them from other traffic. */
const PAYLOAD_PREFIX = 'shardline';

/**
 * A generated payload: `shardline <run> <index> <sentAtMs> ` padded with dots to `size` bytes (or
 * the header alone when it is longer than `size`). Carrying the index and the send time lets a
 * reader check completeness and measure end-to-end latency without a side channel.
 */
export function makePayload(runId: string, index: number, sentAt: number, size: number): string {
  const header = `${PAYLOAD_PREFIX} ${runId} ${index} ${sentAt} `;
  return header.length >= size ? header : header + '.'.repeat(size - header.length);
}

/** Reads back what `makePayload` wrote; undefined for any other payload. */
export function parsePayload(
  data: Uint8Array,
): { runId: string; index: number; sentAt: number } | undefined {
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.length, 96)).toString(
    'latin1',
  );
  const [prefix, runId, index, sentAt] = head.split(' ', 4);
  if (
    prefix !== PAYLOAD_PREFIX ||
    runId === undefined ||
    index === undefined ||
    sentAt === undefined
  )
    return undefined;
  const i = Number(index);
  const t = Number(sentAt);
  if (!Number.isSafeInteger(i) || !Number.isFinite(t)) return undefined;
  return { runId, index: i, sentAt: t };
}

/** A short random id that tells one run's records from another's. */
export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

/** What a source needs besides its input description. */
export interface SourceContext {
  /** Stops the source between records (Ctrl-C). */
  signal: AbortSignal;
  /** Standard input, for `--input -`. */
  stdin: Readable;
  runId: string;
  /** Clock, injectable for tests. */
  now?: () => number;
}

/** The records `produce` sends, one at a time, until the input ends or `signal` aborts. */
export function recordSource(
  input: RecordInput,
  context: SourceContext,
): AsyncIterable<ProducerRecord> {
  switch (input.kind) {
    case 'generated':
      return generatedRecords(input, context);
    case 'ndjson':
      return mapLines(openInput(input.path, context.stdin), context.signal, parseNdjsonLine);
    case 'lines': {
      const template = compileKeyTemplate(input.keyTemplate);
      return mapLines(openInput(input.path, context.stdin), context.signal, (line, n) => ({
        partitionKey: template(line, n),
        data: line,
      }));
    }
  }
}

/** Records keyed `key-<i mod keys>`, until `count` records or `durationMs` have passed, whichever first. */
export async function* generatedRecords(
  input: Extract<RecordInput, { kind: 'generated' }>,
  context: SourceContext,
): AsyncGenerator<ProducerRecord> {
  const now = context.now ?? Date.now;
  const deadline =
    input.durationMs === undefined ? Number.POSITIVE_INFINITY : now() + input.durationMs;
  const count = input.count ?? Number.POSITIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    if (context.signal.aborted) return;
    const t = now();
    if (t >= deadline) return;
    yield {
      partitionKey: `key-${i % input.keys}`,
      data: makePayload(context.runId, i, t, input.size),
    };
  }
}

function openInput(path: string, stdin: Readable): Readable {
  if (path === '-') return stdin;
  const stream = createReadStream(path);
  return stream;
}

async function* mapLines(
  input: Readable,
  signal: AbortSignal,
  map: (line: string, lineNumber: number) => ProducerRecord,
): AsyncGenerator<ProducerRecord> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (signal.aborted) return;
      if (line.trim() === '') continue;
      yield map(line, n);
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot read the input: ${(error as Error).message}`, { cause: error });
  } finally {
    lines.close();
  }
}

/**
 * One NDJSON line: `{"partitionKey": "...", "data": ...}` with an optional `explicitHashKey`.
 * String data is sent as UTF-8; any other JSON value as its JSON text.
 */
export function parseNdjsonLine(line: string, lineNumber: number): ProducerRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new InputError(`input line ${lineNumber} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(
      `input line ${lineNumber} must be an object like {"partitionKey":"k","data":"..."}`,
    );
  }
  const { partitionKey, data, explicitHashKey } = value as Record<string, unknown>;
  if (typeof partitionKey !== 'string')
    throw new InputError(`input line ${lineNumber} has no string "partitionKey"`);
  if (data === undefined) throw new InputError(`input line ${lineNumber} has no "data"`);
  if (explicitHashKey !== undefined && typeof explicitHashKey !== 'string')
    throw new InputError(`input line ${lineNumber}: "explicitHashKey" must be a decimal string`);
  return {
    partitionKey,
    data: typeof data === 'string' ? data : JSON.stringify(data),
    ...(explicitHashKey !== undefined ? { explicitHashKey } : {}),
  };
}

/**
 * Compiles a partition-key template for raw lines: `{n}` is the line number (from 1), `{line}` the
 * line itself (its first 256 characters), `{random}` 8 random hex digits. Other text is literal.
 */
export function compileKeyTemplate(template: string): (line: string, lineNumber: number) => string {
  const unknown = template.match(/\{(?!n\}|line\}|random\})[^}]*\}/);
  if (unknown)
    throw new InputError(
      `--key-template: unknown placeholder ${unknown[0]} (use {n}, {line} or {random})`,
    );
  return (line, n) =>
    template.replace(/\{(n|line|random)\}/g, (_, name: string) =>
      name === 'n'
        ? String(n)
        : name === 'line'
          ? line.slice(0, 256)
          : randomBytes(4).toString('hex'),
    );
}

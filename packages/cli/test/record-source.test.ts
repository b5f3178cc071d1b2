import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors';
import {
  compileKeyTemplate,
  makePayload,
  parseNdjsonLine,
  parsePayload,
  recordSource,
} from '../src/record-source';
import type { RecordInput } from '../src/args';

async function collect(
  input: RecordInput,
  options: { stdin?: Readable; now?: () => number; signal?: AbortSignal } = {},
) {
  const out = [];
  for await (const r of recordSource(input, {
    signal: options.signal ?? new AbortController().signal,
    stdin: options.stdin ?? Readable.from([]),
    runId: 'run1',
    ...(options.now ? { now: options.now } : {}),
  }))
    out.push(r);
  return out;
}

describe('generated records', () => {
  it('makes --count records over --keys keys, each --size bytes carrying its index and send time', async () => {
    const records = await collect(
      { kind: 'generated', count: 25, durationMs: undefined, size: 64, keys: 10 },
      { now: () => 1234 },
    );
    expect(records).toHaveLength(25);
    expect(new Set(records.map((r) => r.partitionKey)).size).toBe(10);
    for (const [i, r] of records.entries()) {
      expect(Buffer.byteLength(r.data as string)).toBe(64);
      expect(parsePayload(Buffer.from(r.data as string))).toEqual({
        runId: 'run1',
        index: i,
        sentAt: 1234,
      });
    }
  });

  it('stops at --duration by the clock', async () => {
    let t = 0;
    const records = await collect(
      { kind: 'generated', count: undefined, durationMs: 100, size: 10, keys: 1 },
      { now: () => (t += 10) },
    );
    expect(records.length).toBe(9);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const seen = [];
    for await (const r of recordSource(
      { kind: 'generated', count: undefined, durationMs: undefined, size: 10, keys: 1 },
      { signal: controller.signal, stdin: Readable.from([]), runId: 'r' },
    )) {
      seen.push(r);
      if (seen.length === 3) controller.abort();
    }
    expect(seen).toHaveLength(3);
  });

  it('parsePayload ignores payloads it did not write', () => {
    expect(parsePayload(Buffer.from('hello world'))).toBeUndefined();
    expect(parsePayload(Buffer.from(makePayload('abc', 7, 99, 5)))).toEqual({
      runId: 'abc',
      index: 7,
      sentAt: 99,
    });
  });
});

describe('NDJSON input', () => {
  it('reads {"partitionKey","data"} lines from stdin; JSON data goes as its text; blank lines skipped', async () => {
    const stdin = Readable.from([
      '{"partitionKey":"a","data":"x"}\n\n{"partitionKey":"b","data":{"n":1},',
      '"explicitHashKey":"42"}\n',
    ]);
    expect(await collect({ kind: 'ndjson', path: '-' }, { stdin })).toEqual([
      { partitionKey: 'a', data: 'x' },
      { partitionKey: 'b', data: '{"n":1}', explicitHashKey: '42' },
    ]);
  });

  it('names the line of a bad record', async () => {
    const stdin = Readable.from(['{"partitionKey":"a","data":"x"}\n{"data":"no key"}\n']);
    await expect(collect({ kind: 'ndjson', path: '-' }, { stdin })).rejects.toThrow(
      /input line 2 has no string "partitionKey"/,
    );
    expect(() => parseNdjsonLine('nope', 3)).toThrow(InputError);
    expect(() => parseNdjsonLine('[1]', 4)).toThrow(/line 4 must be an object/);
    expect(() => parseNdjsonLine('{"partitionKey":"k"}', 5)).toThrow(/no "data"/);
  });

  it('a missing file is an InputError', async () => {
    await expect(
      collect({ kind: 'ndjson', path: '/nonexistent/shardline-input.ndjson' }),
    ).rejects.toBeInstanceOf(InputError);
  });
});

describe('raw lines with a key template', () => {
  it('keys each line by the template', async () => {
    const stdin = Readable.from(['alpha\nbeta\n']);
    expect(
      await collect({ kind: 'lines', path: '-', keyTemplate: 'user-{n}:{line}' }, { stdin }),
    ).toEqual([
      { partitionKey: 'user-1:alpha', data: 'alpha' },
      { partitionKey: 'user-2:beta', data: 'beta' },
    ]);
  });

  it('{random} gives 8 hex digits; unknown placeholders are refused', () => {
    expect(compileKeyTemplate('k-{random}')('x', 1)).toMatch(/^k-[0-9a-f]{8}$/);
    expect(() => compileKeyTemplate('{id}')).toThrow(/unknown placeholder \{id\}/);
  });
});

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compress, decompress, snappyImplementation } from '../src/index';
import { loadNativeSnappy, selectCodec } from '../src/snappy';
import { jsSnappy, readSnappyPreamble, type SnappyCodec } from '../src/snappy-js';

const native = loadNativeSnappy();
const seed = process.env.FC_SEED === undefined ? 19 : Number(process.env.FC_SEED);

/**
 * Random data with something to compress: runs of random bytes and of a short chunk repeated, so
 * both literals and (overlapping and distant) copies occur, sized past snappy's 64 KiB fragments.
 */
const data = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 2000 }),
      fc
        .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3000 }))
        .map(([chunk, times]) => Buffer.concat(Array.from({ length: times }, () => chunk))),
    ),
    { maxLength: 12 },
  )
  .map((parts) => Buffer.concat(parts));

const fixed = [
  Buffer.alloc(0),
  Buffer.from('a'),
  randomBytes(65536),
  randomBytes(65537),
  Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(30_000)),
];

function roundTrip(writer: SnappyCodec, reader: SnappyCodec, input: Buffer): Buffer {
  return Buffer.from(reader.uncompress(writer.compress(input), input.length));
}

describe('snappy: native addon and pure-JS fallback read and write the same bytes', () => {
  it('starts from the two implementations it claims', () => {
    expect(native.name).toBe('native');
    expect(jsSnappy.name).toBe('js');
  });

  for (const [writer, reader] of [
    [native, jsSnappy],
    [jsSnappy, native],
    [jsSnappy, jsSnappy],
  ] as const) {
    it(`${reader.name} reads what ${writer.name} writes, on random inputs`, () => {
      for (const input of fixed) expect(roundTrip(writer, reader, input).equals(input)).toBe(true);
      fc.assert(
        fc.property(data, (input) => roundTrip(writer, reader, input).equals(input)),
        { seed, numRuns: 150 },
      );
    });
  }

  it('the pure-JS decoder agrees with the native one on corrupted blocks: same bytes or both refuse', () => {
    const corrupted = fc
      .tuple(
        data,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(),
      )
      .map(([input, flips, cut]) => {
        const block = Buffer.from(native.compress(input));
        for (const [at, byte] of flips) block[at % block.length] = byte;
        // Sometimes cut short, as a truncated record would be.
        return cut % 3 === 0 ? block.subarray(0, cut % (block.length + 1)) : block;
      });
    const decode = (codec: SnappyCodec, block: Buffer) => {
      // The envelope checks the preamble before either decoder runs; do the same here.
      const length = readLength(block);
      if (length === undefined) return 'refused';
      try {
        return Buffer.from(codec.uncompress(block, length)).toString('hex');
      } catch {
        return 'refused';
      }
    };
    fc.assert(
      fc.property(corrupted, (block) => decode(jsSnappy, block) === decode(native, block)),
      { seed, numRuns: 400 },
    );
  });

  // Inputs on which snappyjs's own decoder misbehaves; ours must refuse each at once.
  const hostile: [string, number[]][] = [
    [
      'a literal whose 32-bit length is negative (loops forever in snappyjs)',
      [0x05, 0xfc, 0xfa, 0xff, 0xff, 0xff],
    ],
    ['a block shorter than its preamble (zero-padded by snappyjs)', [0x0a, 0x04, 0x41, 0x42]],
    [
      'a copy longer than the preamble (truncated silently by snappyjs)',
      [0x03, 0x00, 0x41, 0x01, 0x01],
    ],
    ['a copy with no offset byte', [0x05, 0x00, 0x41, 0x01]],
    ['a copy from before the start', [0x05, 0x00, 0x41, 0x02, 0x09, 0x00]],
  ];
  for (const [what, bytes] of hostile) {
    it(`refuses ${what}`, () => {
      const block = Buffer.from(bytes);
      expect(() => jsSnappy.uncompress(block, readLength(block)!)).toThrow(/snappy/);
      expect(() => native.uncompress(block, readLength(block)!)).toThrow();
    });
  }
});

describe('snappy: which implementation is used', () => {
  const failing = () => {
    throw new Error("Cannot find module 'snappy'");
  };

  it('takes the native addon when it loads, the pure-JS one when it does not or when told to', () => {
    expect(selectCodec(undefined, () => native).name).toBe('native');
    expect(selectCodec(undefined, failing).name).toBe('js');
    expect(selectCodec('js', () => native).name).toBe('js');
  });

  // In a child process: the choice is made once per process, and the debug switch is read there.
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));
  const unloadable = fileURLToPath(new URL('./support/no-native-snappy.mjs', import.meta.url));
  const script = `
    import { createRequire } from 'node:module';
    import { compress, decompress, snappyImplementation } from ${JSON.stringify(entry)};
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => /[\\\\/]snappy[\\\\/]index\\.js$/.test(f));
    const seen = [loaded()];
    compress(Buffer.from('x'), 'gzip');
    seen.push(loaded());
    const written = compress(Buffer.from(process.env.PLAIN), 'snappy');
    seen.push(loaded());
    const read = Buffer.from(decompress(Buffer.from(process.env.ENVELOPE, 'hex'))).toString();
    console.log(JSON.stringify({ implementation: snappyImplementation(), seen, written: Buffer.from(written).toString('hex'), read }));
  `;
  const plain = 'snappy '.repeat(500) + randomBytes(200).toString('hex');

  function runChild(nodeArgs: string[], env: Record<string, string> = {}) {
    const child = spawnSync(
      process.execPath,
      // `source`: workspace packages this one imports (@shardline/common) resolve to their
      // TypeScript sources, as in the test runner, not to a build that may be stale or absent.
      [...nodeArgs, '--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: root,
        encoding: 'utf8',
        env: {
          ...process.env,
          NODE_DEBUG: 'shardline',
          PLAIN: plain,
          // Written with the native addon here, read by whichever implementation the child has.
          ENVELOPE: Buffer.from(compress(Buffer.from(plain), 'snappy')).toString('hex'),
          ...env,
        },
      },
    );
    expect(child.status, child.stderr).toBe(0);
    return { report: JSON.parse(child.stdout) as ChildReport, stderr: child.stderr };
  }

  /** The child read the native-written envelope, and what it wrote opens here with the addon. */
  function checkInterop(report: ChildReport) {
    expect(report.read).toBe(plain);
    expect(Buffer.from(decompress(Buffer.from(report.written, 'hex'))).toString()).toBe(plain);
  }

  it('this process uses the native addon, so the child results are checked against it', () => {
    expect(snappyImplementation()).toBe('native');
  });

  it('loads the native addon only when a snappy envelope is written, and logs it at debug', () => {
    const out = runChild([]);
    expect(out.report.implementation).toBe('native');
    expect(out.report.seen).toEqual([false, false, true]);
    expect(out.stderr).toMatch(/SHARDLINE \d+: snappy: native addon/);
    checkInterop(out.report);
  });

  it('falls back to pure JS, logged at debug, when the native addon cannot be loaded', () => {
    const out = runChild(['--import', unloadable]);
    expect(out.report.implementation).toBe('js');
    expect(out.report.seen).toEqual([false, false, false]);
    expect(out.stderr).toMatch(
      /SHARDLINE \d+: snappy: pure-JS implementation; the native addon did not load: Cannot find module 'snappy'/,
    );
    checkInterop(out.report);
  });

  it('uses pure JS when SHARDLINE_SNAPPY=js, without loading the addon', () => {
    const out = runChild([], { SHARDLINE_SNAPPY: 'js' });
    expect(out.report.implementation).toBe('js');
    expect(out.report.seen).toEqual([false, false, false]);
    expect(out.stderr).toMatch(
      /SHARDLINE \d+: snappy: pure-JS implementation \(SHARDLINE_SNAPPY=js\)/,
    );
    checkInterop(out.report);
  });
});

interface ChildReport {
  implementation: string;
  /** Whether the addon was loaded: after import, after a gzip envelope, after a snappy envelope. */
  seen: boolean[];
  written: string;
  read: string;
}

function readLength(block: Uint8Array): number | undefined {
  return readSnappyPreamble(block)?.length;
}

import { describe, expect, it } from 'vitest';
import { defineCommand } from '../src/args/command';
import { option, readFlags, repeated, section, toggle } from '../src/args/flags';
import { checked, count } from '../src/args/parsers';
import { UsageError } from '../src/errors';

const table = {
  name: option({ short: 'n', placeholder: 'N', required: true }),
  size: option({ placeholder: 'B', default: '7', parse: count, help: 'size (default {default})' }),
  tag: repeated({ placeholder: 'T', parse: (raw) => raw.toUpperCase() }),
  loud: toggle({ short: 'l' }),
  later: { ...toggle(), action: 'go' },
  help: toggle({ short: 'h' }),
};

const refused = (args: string[], action?: string): string => {
  try {
    readFlags('cmd', table, args, action);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).not.toContain('\n');
    return (error as Error).message;
  }
  throw new Error(`expected ${args.join(' ')} to be refused`);
};

describe('readFlags', () => {
  it('reads values, defaults, repeats and toggles, and says which flags were given', () => {
    const read = readFlags('cmd', table, ['-n', 'x', '--tag', 'a', '--tag', 'b', '-l']);
    expect(read).toEqual({
      help: false,
      values: { name: 'x', size: 7, tag: ['A', 'B'], loud: true, later: false, help: false },
      given: new Set(['name', 'tag', 'loud']),
    });
    const sized = readFlags('cmd', table, ['--name', 'x', '--size', '9']);
    expect(sized.help === false && sized.values.size).toBe(9);
  });

  it('refuses unknown flags, stray arguments, missing values and required flags, naming the command', () => {
    expect(refused(['-n', 'x', '--bogus'])).toBe("cmd: Unknown option '--bogus'");
    expect(refused(['-n', 'x', 'extra'])).toBe('cmd: unexpected argument "extra"');
    expect(refused(['-n', 'x', '--size'])).toMatch(/^cmd: .*--size/);
    expect(refused([])).toBe('cmd: --name is required');
    expect(refused(['--name', ''])).toBe('cmd: --name is required');
    expect(refused(['-n', 'x', '--size', '0'])).toContain('--size must be a positive integer');
  });

  it('refuses a flag of another action; --help wins over every check but unknown flags', () => {
    expect(refused(['-n', 'x', '--later'])).toBe("cmd: --later is a flag of 'shardline cmd go'");
    expect(readFlags('cmd', table, ['-n', 'x', '--later'], 'go').help).toBe(false);
    expect(readFlags('cmd', table, ['--size', '0', '-h'])).toEqual({ help: true });
    expect(refused(['--nope', '-h'])).toContain("'--nope'");
  });
});

describe('checked', () => {
  it('refuses what the check refuses, with its message', () => {
    const small = checked(
      count,
      (n) => n < 10,
      (raw) => `too big: ${raw}`,
    );
    expect(small('9', { command: 'c', flag: '--x' })).toBe(9);
    expect(() => small('10', { command: 'c', flag: '--x' })).toThrow('too big: 10');
    expect(() => small('ten', { command: 'c', flag: '--x' })).toThrow('--x must be');
  });
});

describe('defineCommand', () => {
  const demo = defineCommand({
    name: 'demo',
    summary: 'a test command',
    intro: ['Usage: shardline demo', ''],
    flags: {
      records: option({
        short: 'n',
        placeholder: 'N',
        default: '5',
        parse: count,
        help: 'records (default {default})',
      }),
      ...section('More:', {
        'a-rather-long-flag': option({ placeholder: 'T', help: 'first line\nsecond line' }),
        quiet: toggle({ help: 'say less' }),
      }),
      hidden: toggle(),
    },
    outro: ['The end.'],
    build: (v) => ({
      command: 'demo',
      records: v.records,
      shards: 1,
      workers: 1,
      fanout: v.quiet,
      compress: 'gzip',
      size: 100,
      timeoutMs: 1,
      json: v.hidden,
      logLevel: 'silent',
    }),
  });

  it('renders help from the table: labels, defaults, sections, continuation lines', () => {
    expect(demo.help()).toBe(
      [
        'Usage: shardline demo',
        '',
        '  -n, --records N        records (default 5)',
        'More:',
        '      --a-rather-long-flag T  first line',
        '                         second line',
        '      --quiet            say less',
        'The end.',
        '',
      ].join('\n'),
    );
  });

  it('parses with the same table, and takes --help', () => {
    expect(demo.parse(['-n', '9', '--quiet', '--hidden'])).toMatchObject({
      records: 9,
      fanout: true,
      json: true,
    });
    expect(demo.parse(['--help'])).toBe('help');
    expect(Object.keys(demo.flags)).toEqual([
      'records',
      'a-rather-long-flag',
      'quiet',
      'hidden',
      'help',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import {
  parseBytes,
  parseCli,
  parseDuration,
  parseFrom,
  parseRate,
  UsageError,
  type ConsumeArgs,
  type DemoArgs,
  type ProduceArgs,
} from '../src/index';
import { usage } from './support/cli';

describe('parseCli: produce', () => {
  it('fills the documented defaults', () => {
    const args = parseCli(['produce', '--stream', 'orders']) as ProduceArgs;
    expect(args).toMatchObject({
      command: 'produce',
      stream: 'orders',
      input: { kind: 'generated', count: 1000, durationMs: undefined, size: 100, keys: 1000 },
      rate: undefined,
      aggregate: true,
      compress: undefined,
      json: false,
      quiet: false,
      progressIntervalMs: 5000,
      logLevel: 'silent',
      aws: {},
    });
  });

  it('reads every generation and sending flag', () => {
    const args = parseCli([
      'produce',
      '-s',
      'orders',
      '--count',
      '20_000',
      '--duration',
      '2m',
      '--rate',
      '500/s',
      '--size',
      '4k',
      '--keys',
      '7',
      '--no-aggregate',
      '--compress',
      'snappy',
      '--json',
      '--region',
      'eu-west-1',
      '--endpoint',
      'http://localhost:4566',
    ]) as ProduceArgs;
    expect(args.input).toEqual({
      kind: 'generated',
      count: 20_000,
      durationMs: 120_000,
      size: 4096,
      keys: 7,
    });
    expect(args.rate).toBe(500);
    expect(args.aggregate).toBe(false);
    expect(args.compress).toBe('snappy');
    expect(args.json).toBe(true);
    expect(args.aws).toEqual({ region: 'eu-west-1', endpoint: 'http://localhost:4566' });
  });

  it('--duration alone generates without a count limit', () => {
    const args = parseCli(['produce', '--stream', 's', '--duration', '30s']) as ProduceArgs;
    expect(args.input).toMatchObject({ kind: 'generated', count: undefined, durationMs: 30_000 });
  });

  it('takes NDJSON or raw lines from a file or stdin', () => {
    expect((parseCli(['produce', '--stream', 's', '--input', '-']) as ProduceArgs).input).toEqual({
      kind: 'ndjson',
      path: '-',
    });
    expect(
      (
        parseCli([
          'produce',
          '--stream',
          's',
          '-i',
          'f.txt',
          '--format',
          'lines',
          '--key-template',
          'user-{n}',
        ]) as ProduceArgs
      ).input,
    ).toEqual({
      kind: 'lines',
      path: 'f.txt',
      keyTemplate: 'user-{n}',
    });
  });

  it('refuses bad flags with one line naming the flag', () => {
    expect(usage(['produce']).message).toContain('--stream is required');
    expect(usage(['produce', '--stream', 's', '--bogus']).message).toContain("'--bogus'");
    expect(usage(['produce', '--stream', 's', '--count', '0']).message).toContain('--count');
    expect(usage(['produce', '--stream', 's', '--count', '1.5']).message).toContain('--count');
    expect(usage(['produce', '--stream', 's', '--compress', 'zstd']).message).toContain(
      'gzip or snappy',
    );
    expect(usage(['produce', '--stream', 's', '--aggregate', '--no-aggregate']).message).toContain(
      'contradict',
    );
    expect(usage(['produce', '--stream', 'bad name']).message).toContain(
      'not a valid Kinesis stream name',
    );
    expect(usage(['produce', '--stream', 's', '--input', '-', '--count', '5']).message).toContain(
      '--count',
    );
    expect(usage(['produce', '--stream', 's', '--key-template', '{n}']).message).toContain(
      'need --input',
    );
    expect(usage(['produce', '--stream', 's', '--endpoint', 'localhost:4566']).message).toContain(
      'http:// or https://',
    );
    expect(usage(['produce', '--stream', 's', '--access-key-id', 'AKIA']).message).toContain(
      'go together',
    );
    expect(usage(['produce', '--stream', 's', 'extra']).message).toContain('unexpected argument');
    expect(usage(['produce', '--stream', 's', '--size', '2m']).message).toContain('1 MiB');
    expect(usage(['produce', '--stream', 's', '--log-level', 'loud']).message).toContain(
      '--log-level',
    );
  });
});

describe('parseCli: consume, local, demo, help', () => {
  it('consume: defaults and flags', () => {
    expect(parseCli(['consume', '--stream', 's', '--app', 'my-app'])).toMatchObject({
      command: 'consume',
      stream: 's',
      app: 'my-app',
      fanout: undefined,
      from: 'LATEST',
      print: false,
      json: false,
      maxRecords: undefined,
      lagIntervalMs: 5000,
    });
    const args = parseCli([
      'consume',
      '-s',
      's',
      '-a',
      'my-app',
      '--fanout',
      'c1',
      '--from',
      'trim-horizon',
      '--print',
      '--max-records',
      '10',
      '--duration',
      '5s',
    ]) as ConsumeArgs;
    expect(args).toMatchObject({
      fanout: 'c1',
      from: 'TRIM_HORIZON',
      print: true,
      maxRecords: 10,
      durationMs: 5000,
    });
    expect(usage(['consume', '--stream', 's']).message).toContain('--app is required');
    expect(usage(['consume', '--stream', 's', '--app', 'ab']).message).toContain('--app');
    expect(
      usage(['consume', '--stream', 's', '--app', 'app', '--from', 'yesterday']).message,
    ).toContain('--from');
  });

  it('local: repeatable --stream NAME[:SHARDS]', () => {
    expect(parseCli(['local', '--stream', 'a:4', '--stream', 'b'])).toEqual({
      command: 'local',
      streams: [
        { name: 'a', shards: 4 },
        { name: 'b', shards: 1 },
      ],
      json: false,
      logLevel: 'silent',
    });
    expect(usage(['local', '--stream', 'a:x']).message).toContain('shard count');
  });

  it('demo: defaults and limits', () => {
    expect(parseCli(['demo'])).toEqual({
      command: 'demo',
      records: 20_000,
      shards: 4,
      workers: 3,
      fanout: false,
      compress: 'gzip',
      size: 100,
      timeoutMs: 120_000,
      json: false,
      logLevel: 'silent',
    } satisfies DemoArgs);
    expect(
      parseCli(['demo', '--records', '500', '--workers', '2', '--fanout', '--json']),
    ).toMatchObject({ records: 500, workers: 2, fanout: true, json: true });
    expect(usage(['demo', '--workers', '0']).message).toContain('--workers');
    expect(usage(['demo', '--shards', '1000']).message).toContain('--shards');
  });

  it('help, version and unknown commands', () => {
    expect(parseCli([])).toEqual({ command: 'help', topic: undefined });
    expect(parseCli(['produce', '--help'])).toEqual({ command: 'help', topic: 'produce' });
    expect(parseCli(['--version'])).toEqual({ command: 'version' });
    expect(usage(['prodce']).message).toContain('unknown command "prodce"');
  });
});

describe('value parsers', () => {
  it('durations, sizes, rates, positions', () => {
    expect(parseDuration('500ms', 'x')).toBe(500);
    expect(parseDuration('1.5', 'x')).toBe(1500);
    expect(parseDuration('2h', 'x')).toBe(7_200_000);
    expect(() => parseDuration('soon', 'x')).toThrow(UsageError);
    expect(parseBytes('1KiB', 'x')).toBe(1024);
    expect(parseBytes('3m', 'x')).toBe(3 * 1024 * 1024);
    expect(() => parseBytes('1q', 'x')).toThrow(UsageError);
    expect(parseRate('30000/m')).toBe(500);
    expect(() => parseRate('0')).toThrow(UsageError);
    expect(parseFrom('latest')).toBe('LATEST');
    expect(parseFrom('2026-01-02T03:04:05Z')).toEqual({
      timestamp: new Date('2026-01-02T03:04:05Z'),
    });
    expect(parseFrom('1700000000')).toEqual({ timestamp: new Date(1_700_000_000_000) });
  });
});

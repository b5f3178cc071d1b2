import { UsageError } from '../errors';
import { defineCommand } from './command';
import { option, section, toggle } from './flags';
import { bytes, checked, count, duration, text } from './parsers';
import { json, logLevel, requiredStream } from './shared';
import type { ProduceArgs, RecordInput } from './types';
import { codec, parseRate } from './values';

const FLAGS = {
  stream: requiredStream(),
  ...section('Records (generated unless --input is given):', {
    count: option({
      short: 'n',
      placeholder: 'N',
      default: '1000',
      parse: count,
      help: 'records to generate (default {default}; unlimited with --duration alone)',
    }),
    duration: option({
      short: 'd',
      placeholder: 'T',
      parse: duration,
      help: 'generate for this long: 500ms, 30s, 2m (stops at --count or T, first)',
    }),
    size: option({
      placeholder: 'B',
      default: '100',
      parse: checked(
        bytes,
        (size) => size <= 1024 * 1024,
        'produce: --size must be at most 1 MiB (the Kinesis record limit)',
      ),
      help: 'bytes of generated data per record: 100, 4k, 1m (default {default})',
    }),
    keys: option({
      placeholder: 'K',
      default: '1000',
      parse: count,
      help: 'distinct partition keys key-0..key-(K-1) (default {default})',
    }),
    input: option({
      short: 'i',
      placeholder: 'PATH|-',
      help: 'read records from a file, or stdin with -',
    }),
    format: option({
      placeholder: 'F',
      default: 'ndjson',
      parse: checked(
        text,
        (format): format is 'ndjson' | 'lines' => format === 'ndjson' || format === 'lines',
        (raw) => `produce: --format must be ndjson or lines, got ${JSON.stringify(raw)}`,
      ),
      help:
        '{default} (default): {"partitionKey":..,"data":..,"explicitHashKey"?:..}\n' +
        'lines: each line is the data, keyed by --key-template',
    }),
    'key-template': option({
      placeholder: 'T',
      default: '{n}',
      help: 'partition key for --format lines: {n} line number, {line}, {random} (default {default})',
    }),
  }),
  ...section('Sending:', {
    rate: option({
      short: 'r',
      placeholder: 'R',
      parse: parseRate,
      help: 'records per second: 500 or 500/s or 30000/m (default: as fast as possible)',
    }),
    aggregate: toggle({ help: 'KPL aggregation (default)' }),
    'no-aggregate': toggle({ help: 'one Kinesis record per user record' }),
    compress: option({
      placeholder: 'C',
      parse: (raw, at) => codec(raw, at.command),
      help: 'gzip or snappy (default: none)',
    }),
  }),
  ...section('Output:', {
    json: json('one JSON summary object on stdout: sent, failed, seconds, ...'),
    quiet: toggle({ short: 'q', help: 'no progress display (progress goes to stderr)' }),
    'progress-interval': option({
      placeholder: 'T',
      default: '5s',
      parse: duration,
      help: 'how often plain progress lines are printed when stderr is not a TTY (default {default})',
    }),
    'log-level': logLevel(
      '{default} (default), error, warn, info, debug, trace: pino logs on stderr',
    ),
  }),
};

/** Flags that shape generated records, refused with --input. */
const GENERATING = ['count', 'duration', 'size', 'keys'] as const;

export const PRODUCE = defineCommand({
  name: 'produce',
  summary: 'send generated records, or NDJSON / raw lines from a file or stdin',
  intro: ['Usage: shardline produce --stream S [flags]', ''],
  flags: FLAGS,
  connects: true,
  build: (v, { given, aws }): ProduceArgs => {
    if (v.aggregate && v['no-aggregate'])
      throw new UsageError('produce: --aggregate and --no-aggregate contradict each other');
    let input: RecordInput;
    if (v.input !== undefined) {
      for (const flag of GENERATING) {
        if (given.has(flag))
          throw new UsageError(
            `produce: --${flag} generates records; it cannot be combined with --input`,
          );
      }
      if (v.format === 'lines') {
        input = { kind: 'lines', path: v.input, keyTemplate: v['key-template'] };
      } else {
        if (given.has('key-template'))
          throw new UsageError(
            'produce: --key-template applies to --format lines (NDJSON records carry their partitionKey)',
          );
        input = { kind: 'ndjson', path: v.input };
      }
    } else {
      if (given.has('format') || given.has('key-template'))
        throw new UsageError('produce: --format and --key-template need --input');
      input = {
        kind: 'generated',
        count: given.has('duration') && !given.has('count') ? undefined : v.count,
        durationMs: v.duration,
        size: v.size,
        keys: v.keys,
      };
    }
    return {
      command: 'produce',
      stream: v.stream,
      input,
      rate: v.rate,
      aggregate: !v['no-aggregate'],
      compress: v.compress,
      json: v.json,
      quiet: v.quiet,
      progressIntervalMs: v['progress-interval'],
      logLevel: v['log-level'],
      aws,
    };
  },
});

import { defineCommand } from './command';
import { option, toggle } from './flags';
import { bytes, checked, count, duration } from './parsers';
import { json, logLevel } from './shared';
import type { DemoArgs } from './types';
import { codec } from './values';

/** A positive integer no larger than `max`; `why` is the message past it. */
const upTo = (max: number, why: string) => checked(count, (n) => n <= max, why);

export const DEMO = defineCommand({
  name: 'demo',
  summary: 'embedded backend + producer + several workers, verified end to end',
  intro: [
    'Usage: shardline demo [flags]',
    '',
    'Starts the embedded backend, creates a stream, produces records with aggregation and compression,',
    'consumes them with several workers sharing leases, verifies every record arrived (count, checksum),',
    'prints a summary and exits non-zero if anything is missing.',
  ],
  flags: {
    records: option({
      short: 'n',
      placeholder: 'N',
      default: '20000',
      parse: count,
      help: 'records to send (default {default})',
    }),
    shards: option({
      placeholder: 'N',
      default: '4',
      parse: upTo(64, 'demo: --shards must be at most 64 (the embedded backend is one process)'),
      help: 'shards of the stream (default {default})',
    }),
    workers: option({
      short: 'w',
      placeholder: 'N',
      default: '3',
      parse: upTo(16, 'demo: --workers must be at most 16'),
      help: 'consumer workers sharing the leases (default {default})',
    }),
    fanout: toggle({ help: 'read with enhanced fan-out instead of polling' }),
    compress: option({
      placeholder: 'C',
      default: 'gzip',
      parse: (raw, at) => codec(raw, at.command),
      help: '{default} (default) or snappy',
    }),
    size: option({
      placeholder: 'B',
      default: '100',
      parse: checked(
        bytes,
        (size) => size >= 32 && size <= 64 * 1024,
        'demo: --size must be between 32 B and 64 KiB',
      ),
      help: 'bytes per record (default {default})',
    }),
    timeout: option({
      placeholder: 'T',
      default: '120s',
      parse: duration,
      help: 'how long to wait for every record to arrive (default {default})',
    }),
    json: json('one JSON object: sent, received, duplicates, missing, seconds, ...'),
    'log-level': logLevel('pino logs on stderr (default {default})'),
  },
  build: (v): DemoArgs => ({
    command: 'demo',
    records: v.records,
    shards: v.shards,
    workers: v.workers,
    fanout: v.fanout,
    compress: v.compress,
    size: v.size,
    timeoutMs: v.timeout,
    json: v.json,
    logLevel: v['log-level'],
  }),
});

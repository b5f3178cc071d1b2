import { UsageError } from '../errors';
import { defineCommand } from './command';
import { option, repeated, section, toggle } from './flags';
import { app, json, logLevel, optionalStream } from './shared';
import type { LeasesArgs } from './types';
import { duration, position } from './parsers';
import { parseSequenceSpec } from './values';

const rewind = <T>(flag: T): T => ({ ...flag, action: 'rewind' });

const FLAGS = {
  app: app('application name (names the lease table)'),
  'lease-table': option({
    placeholder: 'T',
    help: 'lease table, when not named after the application',
  }),
  stream: optionalStream("the application's stream: lag; needed by --to TIMESTAMP"),
  json: json('one JSON object on stdout'),
  'log-level': logLevel('pino logs on stderr (default {default})'),
  ...section('rewind:', {
    to: rewind(
      option({
        placeholder: 'P',
        parse: position,
        help: 'trim-horizon, latest, ISO 8601 timestamp or epoch seconds',
      }),
    ),
    shard: rewind(
      repeated({ placeholder: 'ID', help: 'only this shard (repeatable; default every lease)' }),
    ),
    sequence: rewind(
      repeated({
        placeholder: 'S=Q[/N]',
        parse: parseSequenceSpec,
        help: 'checkpoint shard S at sequence Q (sub-sequence N; -1 = before Q); repeatable',
      }),
    ),
    'failover-time': rewind(
      option({
        placeholder: 'T',
        default: '10s',
        parse: duration,
        help:
          "the application's failoverTimeMillis (default {default}): an owned lease is\n" +
          'watched this long; it is dead only if its counter never moved',
      }),
    ),
    force: rewind(
      toggle({
        help: 'rewind leases held by running workers: fences them (they stop the shard)',
      }),
    ),
    'dry-run': rewind(toggle({ help: 'say what would change, write nothing' })),
  }),
};

export const LEASES = defineCommand({
  name: 'leases',
  summary: "list an application's leases and checkpoints, or rewind its checkpoints",
  intro: [
    'Usage: shardline leases --app A [--stream S] [--json]',
    '       shardline leases rewind --app A --to P [--shard ID]... [--force] [--dry-run] [flags]',
    '       shardline leases rewind --app A --sequence SHARD=SEQ[/SUB]... [flags]',
    '',
    'Lists the lease table of application A: shard, owner, leaseCounter, checkpoint/sub-sequence,',
    "parents, children; with --stream also each checkpoint's lag (one GetRecords after it per shard).",
  ],
  flags: FLAGS,
  outro: ['Refuses (exit 1, LEASES_IN_USE) while a running worker holds a lease it would change.'],
  connects: true,
  actions: ['list', 'rewind'],
  build: (v, { action, aws }): LeasesArgs => {
    const sequences = Object.fromEntries(v.sequence);
    if (action === 'rewind') {
      if (v.to === undefined && v.sequence.length === 0)
        throw new UsageError('leases rewind: give --to or --sequence SHARD=SEQ');
      if (v.to === undefined && v.shard.length > 0)
        throw new UsageError('leases rewind: --shard selects the shards --to applies to');
      if (typeof v.to === 'object' && v.stream === undefined)
        throw new UsageError('leases rewind: --to TIMESTAMP reads the stream: give --stream');
    }
    return {
      command: 'leases',
      action: action === 'rewind' ? 'rewind' : 'list',
      app: v.app,
      leaseTable: v['lease-table'],
      stream: v.stream,
      to: v.to,
      shards: v.shard,
      sequences,
      force: v.force,
      dryRun: v['dry-run'],
      failoverTimeMs: v['failover-time'],
      json: v.json,
      logLevel: v['log-level'],
      aws,
    };
  },
});

import { defineCommand } from './command';
import { option, toggle } from './flags';
import { checked, count, duration, position, text } from './parsers';
import { app, json, logLevel, requiredStream } from './shared';
import type { ConsumeArgs } from './types';

const FLAGS = {
  stream: requiredStream(),
  app: app('application name; names the DynamoDB lease table'),
  fanout: option({
    placeholder: 'NAME',
    parse: checked(
      text,
      (name) => /^[a-zA-Z0-9_.-]{1,128}$/.test(name),
      'consume: --fanout must be 1-128 characters of [a-zA-Z0-9_.-]',
    ),
    help: 'enhanced fan-out through stream consumer NAME (default: polling)',
  }),
  from: option({
    placeholder: 'P',
    default: 'latest',
    parse: position,
    help: 'trim-horizon, {default} (default), ISO 8601 timestamp or epoch seconds',
  }),
  print: toggle({
    short: 'p',
    help: 'print every record (else per-shard lag every --lag-interval)',
  }),
  json: json('JSON lines on stdout: records, lag, and a final summary'),
  'max-records': option({
    placeholder: 'N',
    parse: count,
    help: 'stop gracefully after N records',
  }),
  duration: option({
    short: 'd',
    placeholder: 'T',
    parse: duration,
    help: 'stop gracefully after T (30s, 2m, ...)',
  }),
  'lag-interval': option({
    placeholder: 'T',
    default: '5s',
    parse: duration,
    help: 'how often lag is printed (default {default})',
  }),
  'log-level': logLevel('pino logs on stderr (default {default})'),
};

export const CONSUME = defineCommand({
  name: 'consume',
  summary: 'run a consumer worker (leases + checkpoints) and print records or per-shard lag',
  intro: ['Usage: shardline consume --stream S --app A [flags]', ''],
  flags: FLAGS,
  outro: [
    'Ctrl-C stops gracefully: the batch in hand finishes, checkpoints are written, leases released.',
  ],
  connects: true,
  build: (v, { aws }): ConsumeArgs => ({
    command: 'consume',
    stream: v.stream,
    app: v.app,
    fanout: v.fanout,
    from: v.from,
    print: v.print,
    json: v.json,
    maxRecords: v['max-records'],
    durationMs: v.duration,
    lagIntervalMs: v['lag-interval'],
    logLevel: v['log-level'],
    aws,
  }),
});

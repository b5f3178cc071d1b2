import { defineCommand } from './command';
import { repeated } from './flags';
import { json, logLevel } from './shared';
import type { LocalArgs } from './types';
import { parseStreamSpec } from './values';

export const LOCAL = defineCommand({
  name: 'local',
  summary: 'start the embedded Kinesis + DynamoDB backend and print its endpoints',
  intro: [
    'Usage: shardline local [--stream NAME[:SHARDS]]... [--json]',
    '',
    'Starts kinesis-local and dynalite on free 127.0.0.1 ports (no Docker), creates the streams asked',
    'for, prints endpoints and environment variables to paste, and runs until Ctrl-C.',
  ],
  flags: {
    stream: repeated({
      short: 's',
      placeholder: 'NAME[:N]',
      parse: parseStreamSpec,
      help: 'create stream NAME with N shards (default 1); repeatable',
    }),
    json: json('one JSON object with endpoints, region and env'),
    'log-level': logLevel('pino logs on stderr (default {default})'),
  },
  build: (v): LocalArgs => ({
    command: 'local',
    streams: v.stream,
    json: v.json,
    logLevel: v['log-level'],
  }),
});

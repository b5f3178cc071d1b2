import { COMMANDS, COMMAND_SPECS } from './args/commands';

const MAIN = `shardline: Kinesis producer and consumer tools for Node.js

Usage: shardline <command> [flags]

Commands:
${COMMANDS.map((name) => `  ${name.padEnd(10)}${COMMAND_SPECS[name].summary}`).join('\n')}

Run 'shardline <command> --help' for a command's flags.
Endpoint, region and credentials come from flags or the standard AWS environment
(AWS_REGION, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_KINESIS, KINESIS_ENDPOINT, ...).
`;

/** Usage text, per command (from its flag table) and for the whole CLI. */
export const HELP: Record<string, string> = {
  main: MAIN,
  ...Object.fromEntries(COMMANDS.map((name) => [name, COMMAND_SPECS[name].help()])),
};

import { describe, expect, it } from 'vitest';
import { COMMAND_SPECS, COMMANDS } from '../src/args/commands';
import { HELP } from '../src/help';
import { parseCli } from '../src/index';

describe('the command flag tables', () => {
  for (const name of COMMANDS) {
    const command = COMMAND_SPECS[name];
    const help = HELP[name]!;

    it(`${name}: every flag is in its help, with its alias and default`, () => {
      for (const [flag, spec] of Object.entries(command.flags)) {
        // --help is announced once, in the main help.
        if (flag === 'help') continue;
        expect(help, `--${flag}`).toMatch(new RegExp(`--${flag}\\b`));
        if (spec.help === undefined) continue;
        // The flag's own line: the label at the start, the description after it.
        const label = new RegExp(`^ {2}(-\\w, | {4})--${flag}( |$)`);
        const line = help.split('\n').find((l) => label.test(l));
        expect(line, `--${flag}`).toBeDefined();
        if (spec.short) expect(line).toContain(`-${spec.short}, --${flag}`);
        if (spec.default !== undefined) expect(line).toContain(spec.default);
      }
    });

    it(`${name}: every flag is known to the parser, and --help, --json, --log-level are taken`, () => {
      for (const [flag, spec] of Object.entries(command.flags)) {
        const args = spec.type === 'boolean' ? [`--${flag}`] : [`--${flag}`, 'x'];
        let message = '';
        try {
          parseCli([name, ...args]);
        } catch (error) {
          message = (error as Error).message;
        }
        expect(message, `--${flag}`).not.toMatch(/Unknown option|unexpected argument/);
      }
      expect(Object.keys(command.flags)).toEqual(
        expect.arrayContaining(['help', 'json', 'log-level']),
      );
    });
  }

  it('the main help lists every command with its summary', () => {
    for (const name of COMMANDS)
      expect(HELP.main).toContain(`  ${name.padEnd(10)}${COMMAND_SPECS[name].summary}`);
    expect(HELP.main).toContain("Run 'shardline <command> --help'");
  });

  it('networked commands name every connection flag in their help', () => {
    for (const name of ['produce', 'consume', 'leases'] as const)
      for (const flag of ['region', 'endpoint', 'kinesis-endpoint', 'session-token'])
        expect(HELP[name]).toContain(`--${flag}`);
  });
});

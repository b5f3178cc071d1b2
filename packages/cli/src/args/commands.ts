import type { Command } from './command';
import { CONSUME } from './consume';
import { DEMO } from './demo';
import { LEASES } from './leases';
import { LOCAL } from './local';
import { PRODUCE } from './produce';

/** Commands the CLI knows, in help order. */
export const COMMANDS = ['produce', 'consume', 'leases', 'local', 'demo'] as const;

/** Each command's flags, checks and help. */
export const COMMAND_SPECS: Record<(typeof COMMANDS)[number], Command> = {
  produce: PRODUCE,
  consume: CONSUME,
  leases: LEASES,
  local: LOCAL,
  demo: DEMO,
};

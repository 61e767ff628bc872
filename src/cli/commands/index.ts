import type { CommandEntry } from '../command.js';

/**
 * Every `myt` command, in the order `myt --help` lists them. Each module is imported only when its
 * command runs (the infrastructure libraries alone take seconds to load). Add a command here.
 */
export const commands: readonly CommandEntry[] = [
  {
    name: 'validate',
    summary: 'check platform declarations and report every problem with its file and line',
    load: async () => (await import('./validate.js')).validateCommand,
  },
];

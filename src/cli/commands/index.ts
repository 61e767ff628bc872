import type { Command } from '../command.js';
import { validateCommand } from './validate.js';

/** Every `myt` command, in the order `myt --help` lists them. Add a command by adding its module here. */
export const commands: readonly Command[] = [validateCommand];

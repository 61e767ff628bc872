import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, messageOf } from '../errors.js';
import type { CliContext } from './context.js';

/** An entry of `myt --help`; the command's module is imported only when it runs, so start-up stays fast. */
export interface CommandEntry {
  readonly name: string;
  /** One line, shown in `myt --help`. */
  readonly summary: string;
  load(): Promise<Command>;
}

export interface Command {
  readonly name: string;
  /** The full `--help` text. */
  readonly help: string;
  /** Returns the exit code: 0 success, 1 failure, 2 usage error. */
  run(args: string[], ctx: CliContext): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a command's arguments, the one place that does: unknown options and bad values become a
 * UsageError naming the command, and `--help`/`-h` is recognised everywhere.
 */
export function parseCommandArgs<O extends Options>(command: string, args: string[], options: O) {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${command}: ${messageOf(err)}`);
  }
}

/** Reads a string option that must be one of a few values. */
export function oneOf<T extends string>(command: string, option: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${command}: --${option} must be one of ${allowed.join(', ')} (got '${value}')`);
}

import { readFileSync } from 'node:fs';
import { MytError, UsageError, messageOf } from '../errors.js';
import { maskSecrets } from '../secrets/masking.js';
import type { CommandEntry } from './command.js';
import { commands } from './commands/index.js';
import { processContext, type CliContext } from './context.js';

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'myt: own your IoT data platform, declared in YAML.',
    '',
    'Usage: myt <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'myt <command> --help' for a command's options, 'myt --version' for the version.",
    '',
  ].join('\n');
}

/** This package's version, from its package.json (two folders up from both src/cli and dist/cli). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Runs one CLI invocation and returns its exit code. Bad input never escapes as a stack trace. */
export async function runCli(argv: string[], ctx: CliContext = processContext(), registry: readonly CommandEntry[] = commands): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    ctx.stdout(`${version()}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? ctx.stderr : ctx.stdout)(overview());
    return name === undefined ? 2 : 0;
  }
  const entry = registry.find((c) => c.name === name);
  if (!entry) {
    ctx.stderr(`myt: unknown command '${name}'\n\n${overview()}`);
    return 2;
  }
  try {
    const command = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      ctx.stdout(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
      return 0;
    }
    return await command.run(rest, ctx);
  } catch (err) {
    reportFailure(name, err, ctx);
    return err instanceof UsageError ? 2 : 1;
  }
}

/**
 * Prints why a command failed. Every line goes through the secrets mask: an error raised deep in a
 * library could quote a value the process decrypted, and that must not reach a terminal or a log.
 */
function reportFailure(name: string, err: unknown, ctx: CliContext): void {
  const stderr = (text: string) => ctx.stderr(maskSecrets(text));
  if (err instanceof UsageError) return stderr(`myt ${err.message}\nRun 'myt ${name} --help' for usage.\n`);
  if (err instanceof MytError) return stderr(`myt ${name}: error: ${err.message}\n`);
  // A bug, not bad input: say so plainly, and show the stack only on request.
  stderr(`myt ${name}: internal error: ${messageOf(err)}\n`);
  if (ctx.env.MYT_DEBUG && err instanceof Error && err.stack) stderr(`${err.stack}\n`);
  else stderr('Set MYT_DEBUG=1 to see the stack trace, and please report it.\n');
}

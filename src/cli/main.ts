import { MytError, UsageError, messageOf } from '../errors.js';
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
    "Run 'myt <command> --help' for a command's options.",
    '',
  ].join('\n');
}

/** Runs one CLI invocation and returns its exit code. Bad input never escapes as a stack trace. */
export async function runCli(argv: string[], ctx: CliContext = processContext()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? ctx.stderr : ctx.stdout)(overview());
    return name === undefined ? 2 : 0;
  }
  const entry = commands.find((c) => c.name === name);
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
    if (err instanceof UsageError) {
      ctx.stderr(`myt ${err.message}\nRun 'myt ${name} --help' for usage.\n`);
      return 2;
    }
    if (err instanceof MytError) {
      ctx.stderr(`myt ${name}: error: ${err.message}\n`);
      return 1;
    }
    // A bug, not bad input: say so plainly, and show the stack only on request.
    ctx.stderr(`myt ${name}: internal error: ${messageOf(err)}\n`);
    if (ctx.env.MYT_DEBUG && err instanceof Error && err.stack) ctx.stderr(`${err.stack}\n`);
    else ctx.stderr('Set MYT_DEBUG=1 to see the stack trace, and please report it.\n');
    return 1;
  }
}

import { spawn as nodeSpawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { findRepoRoot, requireMytRepository } from '../../config/find-root.js';
import { resolveRepoFile } from '../../config/repo-path.js';
import type { Platform } from '../../config/repository.js';
import { MytError, UsageError } from '../../errors.js';
import { bundleProcessor } from '../../processor/bundle.js';
import { processorNodeFlags } from '../../processor/node-flags.js';
import { withoutAgeKeys } from '../../secrets/age-keys.js';
import { validateRepository } from '../../validation/index.js';
import { parseCommandArgs, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { formatProblem } from './validate.js';

/** Local services `myt dev` talks to unless told otherwise (the ones .ci/services.sh starts). */
export const LOCAL_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const LOCAL_DB_URLS: Readonly<Record<Platform['spec']['database']['engine'], string>> = {
  influxdb: 'http://127.0.0.1:8086/MyTData',
  mongodb: 'mongodb://127.0.0.1:27017/MyTData',
  timescaledb: 'postgres://postgres@127.0.0.1:5432/MyTData',
  mysql: 'mysql://root@127.0.0.1:3306/MyTData',
};

const HELP = `Usage: myt dev <platform> [options]

Runs the platform's processor here, against local services, with its processing script bundled as
it will be on the VM (spec.processor.script and its npm packages), until Ctrl-C. Devices or test
scripts publish to the fanout exchange 'data' of the local RabbitMQ; rows land in the local database.

Options:
  --amqp-url URL      broker (default: ${LOCAL_AMQP_URL})
  --db-url URL        database, its path naming the database (default per engine:
                      ${Object.entries(LOCAL_DB_URLS).map(([e, u]) => `${e} ${u}`).join('\n                      ')})
  --packages DIR      folder where the script's npm packages are installed (default: they are
                      installed into .myt/dev/<platform>/packages with npm)
  --metrics-port N    port of /healthz and /metrics (default: 9464)
  --root DIR          repository root (default: the nearest folder upwards with myt.yaml,
                      platforms/ or .git)
  -h, --help          show this help

Processor tuning variables set in your shell (MYT_BATCH_SIZE, MYT_STREAM, MYT_EXCHANGE, …) are
passed on; see the processor section of the README.

Exit status: the processor's (0 after a clean Ctrl-C), 1 when the repository is invalid,
2 usage error.
`;

export interface DevDeps {
  /** Starts the processor process. Default: node's spawn. */
  readonly spawn?: (command: string, args: string[], env: NodeJS.ProcessEnv) => ChildProcess;
  /** Calls `stop` on Ctrl-C (or SIGTERM); returns a function that removes the handlers. */
  readonly onStop?: (stop: () => void) => () => void;
  /** Installs npm packages (name@range) into a folder, with the environment given. Default: npm install. */
  readonly install?: (dir: string, specs: string[], env: NodeJS.ProcessEnv) => Promise<void>;
}

/** Optional processor settings a developer may set in their shell (see processor/src/config.ts). */
const PASSED_ON = new Set([
  'MYT_BATCH_SIZE',
  'MYT_BATCH_MS',
  'MYT_PREFETCH',
  'MYT_CONCURRENCY',
  'MYT_DRAIN_MS',
  'MYT_RETRY_MAX_MS',
  'MYT_EXCHANGE',
  'MYT_SPREAD_EXCHANGE',
  'MYT_STREAM',
  'MYT_STREAM_MAX_AGE',
  'MYT_STREAM_MAX_BYTES',
  'MYT_DEAD_EXCHANGE',
  'MYT_DEAD_QUEUE',
  'MYT_MAX_MESSAGE_BYTES',
  'MYT_METRICS_HOST',
]);

const defaultSpawn = (command: string, args: string[], env: NodeJS.ProcessEnv) => nodeSpawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });

function defaultOnStop(stop: () => void): () => void {
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
}

/**
 * npm install, with our environment minus the age key: npm and the packages it fetches have no use
 * for it. A failure is npm's to explain: its error lines are passed on.
 */
async function npmInstall(dir: string, specs: string[], env: NodeJS.ProcessEnv): Promise<void> {
  // Argument array, no shell: names and ranges come from YAML (checked by myt validate, and here).
  try {
    await promisify(execFile)('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', dir, ...specs], { timeout: 300_000, env: withoutAgeKeys(env) });
  } catch (err) {
    const e = err as { code?: string | number; stderr?: string; killed?: boolean };
    if (e.code === 'ENOENT') throw new MytError("npm was not found on the PATH: install Node.js with npm, or pass --packages DIR with the script's packages installed");
    const said = (e.stderr ?? '').split('\n').filter((l) => /^npm (error|ERR!)/.test(l)).slice(0, 8);
    throw new MytError(`npm could not install ${specs.join(' ')}${e.killed ? ' (it ran out of time)' : ''}${said.length ? `:\n  ${said.join('\n  ')}` : ''}`);
  }
}

/** The processor's environment for a platform: the contract of processor/src/config.ts. */
export function devEnvironment(platform: Platform, urls: { amqp: string; db: string }, metricsPort: number): NodeJS.ProcessEnv {
  const { database, processor } = platform.spec;
  return {
    MYT_AMQP_URL: urls.amqp,
    MYT_DB_ENGINE: database.engine,
    MYT_DB_URL: urls.db,
    ...('tables' in database ? { MYT_SCHEMA: JSON.stringify(database.tables) } : {}),
    MYT_METRICS_PORT: String(metricsPort),
    ...(processor?.timeoutMs !== undefined ? { MYT_SCRIPT_TIMEOUT_MS: String(processor.timeoutMs) } : {}),
  };
}

export function makeDevCommand(deps: DevDeps = {}): Command {
  return {
    name: 'dev',
    help: HELP,
    async run(args: string[], ctx: CliContext): Promise<number> {
      const { values, positionals } = parseCommandArgs('dev', args, {
        'amqp-url': { type: 'string' },
        'db-url': { type: 'string' },
        packages: { type: 'string' },
        'metrics-port': { type: 'string' },
        root: { type: 'string' },
      });
      if (positionals.length !== 1) throw new UsageError('dev: name exactly one platform');
      const name = positionals[0]!;
      const port = values['metrics-port'] ?? '9464';
      if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535) throw new UsageError(`dev: --metrics-port must be a port number (got '${port}')`);
      const root = findRepoRoot(ctx.cwd, values.root);
      requireMytRepository(root);

      // Online anyway (npm install follows): a package that does not exist is named at its line, before npm runs.
      // Not type-checked here (loading the compiler takes seconds at every start): validate and the pull-request check do it.
      const repo = await validateRepository(root, { env: ctx.env, registry: true });
      for (const note of repo.notes) ctx.stderr(`note: ${note}\n`);
      if (repo.problems.length > 0) {
        for (const p of repo.problems) ctx.stderr(`${formatProblem(p)}\n`);
        throw new MytError(`the repository has ${repo.problems.length} problem(s); fix them before running the processor`);
      }
      const declared = repo.platforms.find((p) => p.doc.metadata.name === name);
      if (!declared) {
        const known = repo.platforms.map((p) => p.doc.metadata.name).join(', ') || 'none';
        throw new MytError(`no platform named '${name}' (platforms: ${known})`);
      }
      const platform = declared.doc;
      const engine = platform.spec.database.engine;
      const work = join(root, '.myt', 'dev', name);
      mkdirSync(work, { recursive: true });

      let script: string | undefined;
      let packagesDir = values.packages === undefined ? undefined : resolve(ctx.cwd, values.packages);
      const written = platform.spec.processor?.script;
      if (written !== undefined) {
        const resolved = resolveRepoFile(root, written);
        if (!resolved.ok) throw new MytError(`${declared.file}: spec.processor.script: ${resolved.message}`);
        script = resolved.absolute;
        const packages = Object.entries(platform.spec.processor?.packages ?? {});
        if (packagesDir === undefined && packages.length > 0) {
          packagesDir = join(work, 'packages');
          ctx.stderr(`installing ${packages.map(([n]) => n).join(', ')} into ${packagesDir}\n`);
          await (deps.install ?? npmInstall)(packagesDir, packages.map(([n, range]) => `${n}@${range}`), ctx.env);
        }
      }
      const outfile = join(work, 'processor.mjs');
      const { warnings } = await bundleProcessor({ outfile, script, scriptName: written, packagesDir });
      for (const w of warnings) ctx.stderr(`warning: ${w}\n`);

      const urls = { amqp: values['amqp-url'] ?? LOCAL_AMQP_URL, db: values['db-url'] ?? LOCAL_DB_URLS[engine] };
      // Tuning variables already in the environment (MYT_BATCH_SIZE, MYT_STREAM, …) are passed on.
      const tuning = Object.fromEntries(Object.entries(ctx.env).filter(([k]) => PASSED_ON.has(k)));
      const env = { PATH: ctx.env.PATH, ...tuning, ...devEnvironment(platform, urls, Number(port)) };
      ctx.stderr(`running the ${name} processor (${engine}${script ? `, script ${written}` : ''}); /healthz and /metrics on port ${port}; Ctrl-C stops it\n`);
      const child = (deps.spawn ?? defaultSpawn)(process.execPath, [...processorNodeFlags(script !== undefined), outfile], env);
      child.stdout?.on('data', (d: Buffer) => ctx.stdout(d.toString()));
      child.stderr?.on('data', (d: Buffer) => ctx.stderr(d.toString()));
      const exited = new Promise<number>((done) => {
        child.once('error', (err) => {
          ctx.stderr(`myt dev: could not start the processor: ${err.message}\n`);
          done(1);
        });
        child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
      });
      // Ctrl-C reaches the whole process group; forwarding SIGTERM as well makes stopping explicit
      // (and works when only myt got the signal), so the processor drains and exits on its own.
      const removeHandlers = (deps.onStop ?? defaultOnStop)(() => {
        if (child.exitCode === null) child.kill('SIGTERM');
      });
      try {
        return await exited;
      } finally {
        removeHandlers();
      }
    },
  };
}

export const devCommand = makeDevCommand();

// The deploy step's front: what `myt deploy`, `myt redeploy` and the GitHub Actions call. It reads
// the declaration and secrets, finds the host (a cloud platform's stack is applied first), renders
// the bundle and hands the host to provision.ts. Every line of progress and every error is masked.
import { existsSync, readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { renderBundle } from '../bundle/bundle.js';
import { dataDirectories } from '../bundle/compose.js';
import { processorService } from '../bundle/processor.js';
import { secretsDir } from '../bundle/layout.js';
import { parseGenerated } from '../bundle/secret-files.js';
import type { PackageInstaller } from '../bundle/processor-files.js';
import { resolvePlatform, type ResolvedPlatform } from '../config/defaults.js';
import type { Declared, Platform } from '../config/repository.js';
import { MytError, messageOf } from '../errors.js';
import { loadSecretsModule, type SecretsModule } from '../infra/secrets-reader.js';
import { appendAudit } from './audit.js';
import { deploySecretFiles } from './deploy-secrets.js';
import type { DumpResult } from './dump.js';
import type { PlatformStatus } from './status.js';
import { defaultLayout, Host, hostPath, q, type HostLayout } from './host.js';
import { forceReleaseLock } from './lock.js';
import { provision, redeployProcessor, type ProvisionResult } from './provision.js';
import { HostKeyMismatchError, SshSession, hostLabel } from './ssh.js';
import { resolveTarget, type ResolvedTarget, type StackOutputs } from './target.js';

export interface DeployOptions {
  /** Repository root. */
  readonly root: string;
  /** Name of the platform to deploy. */
  readonly platform: string;
  /** The commit being deployed, written to the audit log on the host. */
  readonly commit?: string;
  /** Who deploys, written to the audit log on the host. Default: the local user. */
  readonly actor?: string;
  /** Progress, one line per step (already masked). */
  readonly onProgress?: (line: string) => void;
  /** Stops the deploy at the next step (and a host that does not answer yet from being retried). */
  readonly signal?: AbortSignal;
  /** Where SOPS keys are read from. Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait for SSH to answer (a VM still booting). Default 120 s. */
  readonly sshWaitMs?: number;
  /** Seconds `docker compose up --wait` may take. Default 300 for deploy, 60 for redeploy. */
  readonly waitSeconds?: number;
  /**
   * A cloud platform's stack: 'apply' (default; `myt apply` of this platform first, which changes
   * nothing when nothing changed) or its outputs from an apply that already ran.
   */
  readonly stack?: 'apply' | StackOutputs;
  /** Where the platform lives on the host; default /opt/myt/<platform>, as root (sudo unless root). */
  readonly layout?: Partial<HostLayout>;
  /** Side effects, for tests. */
  readonly secrets?: SecretsModule;
  readonly install?: PackageInstaller;
}

export interface DeployResult {
  readonly platform: string;
  /** The host deployed to (`user@host:port`). */
  readonly host: string;
  /** False when the host already ran exactly this release ("nothing changed"). */
  readonly changed: boolean;
  /** One line for people: what was done. */
  readonly summary: string;
  /** The release now current on the host. */
  readonly release: string;
  /** Files that changed: `+path` added, `~path` changed, `-path` removed. */
  readonly changes: readonly string[];
}

/** The repository's declaration of `name`, validated; a clear error when it is not declared or not valid. */
export async function declaredPlatform(root: string, name: string, env: NodeJS.ProcessEnv): Promise<Declared<Platform>> {
  const { validateRepository } = await import('../validation/index.js');
  const repo = await validateRepository(root, { env });
  const found = repo.platforms.find((p) => p.doc.metadata.name === name);
  if (!found) {
    const known = repo.platforms.map((p) => p.doc.metadata.name);
    throw new MytError(`no platform named '${name}' is declared${known.length ? ` (declared: ${known.join(', ')})` : ''}`);
  }
  const problems = repo.problems.filter((p) => p.file === found.file);
  if (problems.length) throw new MytError(`the declaration of ${name} is not valid (run 'myt validate'):\n${problems.map((p) => `  ${p.file}:${p.line}:${p.col}: ${p.message}`).join('\n')}`);
  return found;
}

interface Connected {
  readonly platform: ResolvedPlatform;
  readonly declared: Declared<Platform>;
  readonly resolved: ResolvedTarget;
  readonly host: Host;
  readonly secrets: SecretsModule;
  readonly progress: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

/** The steps every command on a platform's host starts with: declaration, host, keys, connection. */
export async function connectPlatform<T>(options: DeployOptions, fn: (c: Connected) => Promise<T>): Promise<T> {
  const env = options.env ?? process.env;
  const secrets = options.secrets ?? (await loadSecretsModule());
  // Progress lines mark the steps: an abort takes effect at the next one (a step under way finishes,
  // and the lock is released on the way out).
  const progress = (line: string) => {
    options.signal?.throwIfAborted();
    options.onProgress?.(secrets.maskSecrets(line));
  };
  const declared = await declaredPlatform(options.root, options.platform, env);
  const platform = resolvePlatform(declared.doc);
  let outputs: StackOutputs | undefined;
  if (platform.spec.cloud.provider !== 'ssh') outputs = options.stack === undefined || options.stack === 'apply' ? await applyStack(options, secrets, progress) : options.stack;
  const resolved = await resolveTarget(options.root, platform, secrets.readSecrets, env, outputs);
  secrets.registerSecret(resolved.target.privateKey);
  const label = hostLabel(resolved.target);
  progress(`connect: ${label} (host key ${resolved.target.hostKey.split(/\s+/)[0]} as declared)`);
  const session = await SshSession.connect(resolved.target, { waitMs: options.sshWaitMs, signal: options.signal, onWait: progress }).catch((err: unknown) => {
    if (err instanceof HostKeyMismatchError && platform.spec.cloud.provider !== 'ssh') {
      err.message +=
        ` A cloud VM keeps the host key it was created with: after 'myt keys generate ${options.platform} --force' or '--add-host-key' ` +
        'on a VM that existed already, it still has its earlier key (cloud-init installs keys only when a VM is made).';
    }
    throw err;
  });
  try {
    const host = new Host(session, { ...defaultLayout(platform.metadata.name, resolved.target.user), ...options.layout }, secrets.maskSecrets);
    await registerHostSecrets(host, platform.metadata.name, secrets);
    return await fn({ platform, declared, resolved, host, secrets, progress, env });
  } catch (err) {
    if (err instanceof Error) err.message = secrets.maskSecrets(err.message);
    throw err;
  } finally {
    session.dispose();
  }
}

/**
 * The passwords MyT generated for the platform live only on its host (generated.json): they are read
 * and registered for masking before any command runs there, so a service's output that quotes one
 * (a URL with its password) is masked in every command, not only after a deploy read them.
 */
async function registerHostSecrets(host: Host, platform: string, secrets: SecretsModule): Promise<void> {
  const r = await host.exec(`cat ${q(hostPath(host.layout, platform, `${secretsDir(platform)}/generated.json`))} 2>/dev/null`);
  if (r.code !== 0 || r.stdout.trim() === '') return; // nothing deployed yet
  try {
    for (const v of Object.values(parseGenerated(r.stdout)) as string[]) secrets.registerSecret(v);
  } catch {
    // a generated.json MyT did not write: the deploy's own reading of it says so
  }
}

/** `myt apply` of one cloud platform (its Space first), returning its stack's outputs. */
async function applyStack(options: DeployOptions, secrets: SecretsModule, progress: (line: string) => void): Promise<StackOutputs> {
  const env = options.env ?? process.env;
  const { prepareStacks, DEFAULT_OUT_DIR } = await import('../infra/workspace.js');
  const { runStacks } = await import('../infra/run-stacks.js');
  const { findTerraform } = await import('../infra/terraform/find-binary.js');
  const { describeRun } = await import('../infra/apply-stack.js');
  progress(`apply: the infrastructure of ${options.platform} (Terraform)`);
  const binary = findTerraform(env);
  const prepared = await prepareStacks({ root: options.root, outDir: DEFAULT_OUT_DIR, readSecrets: secrets.readSecrets, env, only: [options.platform] });
  const results = await runStacks({
    root: options.root,
    stacks: prepared.stacks,
    folders: prepared.folders,
    backend: prepared.config.state,
    binary,
    secrets,
    env,
    log: progress,
    onResult: (stack, r) => progress(`apply: ${stack.name} ${describeRun(r)}`),
  });
  const index = prepared.stacks.findIndex((s) => s.name === options.platform);
  return (results[index]?.outputs ?? {});
}

function actorOf(options: DeployOptions): string {
  if (options.actor) return options.actor;
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return hostname();
  }
}

function result(options: DeployOptions, c: Connected, r: ProvisionResult): DeployResult {
  return { platform: options.platform, host: c.host.label, changed: r.changed, summary: r.summary, release: r.release, changes: r.changes };
}

async function bundleOf(options: DeployOptions, c: Connected) {
  c.progress(`render: the bundle of ${options.platform}`);
  return renderBundle(c.declared, { root: options.root, install: options.install, writeLock: false });
}

function processorServices(platform: ResolvedPlatform): string[] {
  return Array.from({ length: platform.spec.processor.replicas }, (_, i) => processorService(i));
}

/** `myt deploy`: provision the platform's host and bring the release up. */
export async function deploy(options: DeployOptions): Promise<DeployResult> {
  return connectPlatform(options, async (c) => {
    const bundle = await bundleOf(options, c);
    const r = await provision({
      host: c.host,
      platform: options.platform,
      files: bundle.files,
      secretFiles: (readBack) => deploySecretFiles({ root: options.root, platform: c.platform, address: c.resolved.target.host, secrets: c.secrets, env: c.env, progress: c.progress }, readBack),
      dataDirs: dataDirectories(c.platform),
      processorServices: processorServices(c.platform),
      commit: options.commit,
      actor: actorOf(options),
      progress: c.progress,
      waitSeconds: options.waitSeconds,
      dataDevice: c.resolved.dataDevice,
    });
    return result(options, c, r);
  });
}

/** `myt redeploy`: upload only the processor and restart it; roll back when it is not healthy. */
export async function redeploy(options: DeployOptions): Promise<DeployResult> {
  // A redeploy never applies infrastructure: the stack's outputs are read as they are.
  return connectPlatform({ ...options, stack: options.stack === 'apply' || options.stack === undefined ? await lastOutputs(options) : options.stack }, async (c) => {
    const bundle = await bundleOf(options, c);
    const r = await redeployProcessor({
      host: c.host,
      platform: options.platform,
      files: bundle.files,
      processorServices: processorServices(c.platform),
      commit: options.commit,
      actor: actorOf(options),
      progress: c.progress,
      waitSeconds: options.waitSeconds,
    });
    return result(options, c, r);
  });
}

/** `myt deploy --release-lock`: removes the host's deploy lock, whoever holds it. */
export async function releaseLock(options: DeployOptions): Promise<string> {
  return connectPlatform({ ...options, stack: options.stack === 'apply' || options.stack === undefined ? await lastOutputs(options) : options.stack }, async (c) => {
    const held = await forceReleaseLock(c.host);
    if (!held) return 'there was no lock';
    await appendAudit(c.host, { at: new Date().toISOString(), command: 'release-lock', actor: actorOf(options), from: hostname(), commit: options.commit, outcome: 'released the lock', detail: held });
    return `released the lock held by ${held}`;
  });
}

/** A cloud platform's outputs from its last apply (outputs.json beside its stack), without running Terraform. */
async function lastOutputs(options: DeployOptions): Promise<StackOutputs> {
  const { DEFAULT_OUT_DIR } = await import('../infra/workspace.js');
  const { OUTPUTS_FILE } = await import('../infra/apply-stack.js');
  const file = join(options.root, DEFAULT_OUT_DIR, options.platform, OUTPUTS_FILE);
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StackOutputs;
  } catch (err) {
    throw new MytError(`${file}: not readable (${messageOf(err)}): run 'myt apply ${options.platform}' again`);
  }
}

export interface DumpOptions extends DeployOptions {
  /** The local file to write; default <platform>-<engine>-<time>.<ext> in the current folder. */
  readonly out?: string;
  /** The folder the default file name goes in. */
  readonly cwd?: string;
  /** The database to dump; default MyTData, the platform's. */
  readonly database?: string;
  /** Replace the file when it exists. */
  readonly overwrite?: boolean;
}

/** `myt dump`: the engine's native dump, compressed on the host, streamed into a local file. */
export async function dump(options: DumpOptions): Promise<DumpResult & { platform: string; host: string }> {
  const { dumpDatabase, dumpFileName } = await import('./dump.js');
  return connectPlatform({ ...options, stack: options.stack === 'apply' || options.stack === undefined ? await lastOutputs(options) : options.stack }, async (c) => {
    const engine = c.platform.spec.database.engine;
    const file = resolve(options.cwd ?? process.cwd(), options.out ?? dumpFileName(options.platform, engine));
    const r = await dumpDatabase({ host: c.host, engine, file, database: options.database, overwrite: options.overwrite, progress: c.progress });
    return { ...r, platform: options.platform, host: c.host.label };
  });
}

export interface StatusOptions extends Omit<DeployOptions, 'platform' | 'commit' | 'actor'> {
  /** Default: every declared platform. */
  readonly platforms?: readonly string[];
}

/**
 * How long `myt status` keeps trying a host that does not answer: status reads running hosts, so one
 * that is down is reported as such instead of waited for as a booting VM is (the deploy's bound).
 */
const STATUS_SSH_WAIT_MS = 10_000;

/** `myt status`: each platform's host, read over SSH; a platform that cannot be reached says why. */
export async function status(options: StatusOptions): Promise<(PlatformStatus | { platform: string; healthy: false; error: string })[]> {
  const { platformStatus } = await import('./status.js');
  let names = options.platforms;
  if (names === undefined || names.length === 0) {
    const { loadRepository } = await import('../config/repository.js');
    names = (await loadRepository(options.root)).platforms.map((p) => p.doc.metadata.name);
  }
  const out: (PlatformStatus | { platform: string; healthy: false; error: string })[] = [];
  for (const platform of names) {
    try {
      const o: DeployOptions = { ...options, sshWaitMs: options.sshWaitMs ?? STATUS_SSH_WAIT_MS, platform };
      out.push(
        await connectPlatform({ ...o, stack: options.stack === 'apply' || options.stack === undefined ? await lastOutputs(o) : options.stack }, (c) =>
          platformStatus(c.host, platform, c.platform.spec.processor.replicas, c.platform.spec.broker.tls, {
            engine: c.platform.spec.database.engine,
            tables: 'tables' in c.platform.spec.database ? Object.keys(c.platform.spec.database.tables) : [],
          }),
        ),
      );
    } catch (err) {
      out.push({ platform, healthy: false, error: messageOf(err) });
    }
  }
  return out;
}

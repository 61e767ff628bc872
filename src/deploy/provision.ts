// What `myt deploy` and `myt redeploy` do on a connected host, step by step: bootstrap (once), lock,
// upload a release, switch `current` atomically, `docker compose up --wait`, keep 5 releases, audit.
// A release whose files and secrets are those of the running one changes nothing and says so.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { SecretFile } from '../bundle/layout.js';
import type { BundleFile } from '../bundle/render.js';
import { MytError, messageOf } from '../errors.js';
import { appendAudit, type AuditEntry } from './audit.js';
import { composePs, isHealthy, unhealthyReport, upCommand } from './compose-cli.js';
import { hostPath, q, StepError, type Host } from './host.js';
import { acquireLock, describeHolder } from './lock.js';
import { tarArchive, type TarEntry } from './tar.js';

/** How many releases stay on the host (the current one among them). */
export const KEEP_RELEASES = 5;
const MANIFEST = 'release.json';

/** What a release records about itself (release.json); no secret value, only a digest of them all. */
export interface ReleaseManifest {
  readonly id: string;
  readonly files: Record<string, string>;
  readonly secrets: string;
  readonly commit?: string;
  readonly actor?: string;
  readonly at: string;
}

export interface ProvisionInput {
  readonly host: Host;
  readonly platform: string;
  /** The rendered bundle (src/bundle). */
  readonly files: readonly BundleFile[];
  /** The secret files, given what the host already holds (generated passwords, the broker's certificate). */
  readonly secretFiles: (readBack: (bundlePath: string) => Promise<string | undefined>) => Promise<SecretFile[]>;
  /** Data directories to create on the data volume (bundle paths) and their owners. */
  readonly dataDirs: readonly { readonly path: string; readonly uid?: number }[];
  /** The compose services that run the processor. */
  readonly processorServices: readonly string[];
  readonly commit?: string;
  readonly actor?: string;
  readonly progress: (line: string) => void;
  /** Seconds `docker compose up --wait` may take. Default 300 (deploy), 60 (redeploy). */
  readonly waitSeconds?: number;
  /** The data volume's block device, when the VM has one (cloud); formatted only when it has no filesystem. */
  readonly dataDevice?: string;
  /** How long the data volume's device may take to appear (a disk still attaching). Default 120 s. */
  readonly dataDeviceWaitSeconds?: number;
  /** A fixed clock for release ids in tests. */
  readonly now?: () => Date;
}

export interface ProvisionResult {
  readonly changed: boolean;
  readonly release: string;
  readonly summary: string;
  readonly changes: readonly string[];
}

/**
 * Progress that an abort no longer interrupts: for what follows a finished start (pruning, the audit:
 * the release runs, so the deploy is done) and for a rollback, which always runs to its end.
 */
function unstoppable(progress: (line: string) => void): (line: string) => void {
  return (line) => {
    try {
      progress(line);
    } catch {
      /* goes on */
    }
  };
}

const sha = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

function fileDigests(files: readonly BundleFile[]): Record<string, string> {
  const entries: [string, string][] = files.map((f) => [f.path, `${sha(f.content)}:${(f.mode ?? 0o644).toString(8)}`]);
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}

function secretsDigest(files: readonly SecretFile[]): string {
  return sha(JSON.stringify(files.map((f) => [f.path, f.mode, f.uid, sha(f.content)]).sort()));
}

function releaseId(now: Date, digest: string): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${digest.slice(0, 12)}`;
}

/** Which files differ between two releases, as `+path`, `~path`, `-path`. */
export function fileChanges(before: Record<string, string> | undefined, after: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [p, d] of Object.entries(after)) if (before?.[p] === undefined) out.push(`+${p}`);
  else if (before[p] !== d) out.push(`~${p}`);
  for (const p of Object.keys(before ?? {})) if (after[p] === undefined) out.push(`-${p}`);
  return out;
}

/** The services whose mounted files changed: compose sees the same paths, so it would not recreate them. */
function touchedServices(changes: readonly string[], processorServices: readonly string[], secretsChanged: boolean): string[] {
  const s = new Set<string>();
  for (const c of changes) {
    const path = c.slice(1);
    if (path.startsWith('processor/')) processorServices.forEach((p) => s.add(p));
    else if (path.startsWith('rabbitmq/')) s.add('rabbitmq');
    else if (path.startsWith('grafana/')) s.add('grafana');
  }
  if (secretsChanged) ['rabbitmq', 'grafana'].forEach((x) => s.add(x));
  return [...s];
}

async function readManifest(host: Host, dir: string): Promise<ReleaseManifest | undefined> {
  const r = await host.exec(`cat ${q(`${host.layout.home}/${dir}/${MANIFEST}`)} 2>/dev/null`);
  if (r.code !== 0 || r.stdout.trim() === '') return undefined;
  try {
    return JSON.parse(r.stdout) as ReleaseManifest;
  } catch {
    return undefined;
  }
}

const readCurrentManifest = (host: Host) => readManifest(host, 'current');

/**
 * The release whose `docker compose up` last finished (the `started` file beside `current`). It
 * differs from the current one when a deploy stopped between the switch and the end of its start
 * (an abort, a dropped connection): the containers then still run what `started` names, so that,
 * not `current`, is what the next deploy compares with.
 */
async function readStarted(host: Host): Promise<string | undefined> {
  const r = await host.exec(`cat ${q(`${host.layout.home}/started`)} 2>/dev/null`);
  return r.code === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
}

async function writeStarted(host: Host, id: string): Promise<void> {
  const file = `${host.layout.home}/started`;
  await host.run('record the started release', `printf '%s\\n' ${q(id)} > ${q(`${file}.new`)} && mv ${q(`${file}.new`)} ${q(file)}`);
}

/** Docker Engine and the compose plugin from the distribution's packages, unless present. */
async function bootstrap(host: Host, input: ProvisionInput): Promise<void> {
  const probe = await host.exec('command -v docker >/dev/null 2>&1 && docker compose version');
  if (probe.code === 0) {
    input.progress(`bootstrap: skipped, ${probe.stdout.trim() || 'Docker Compose is present'}`);
  } else {
    input.progress('bootstrap: installing Docker Engine and the compose plugin from the distribution');
    await host.run(
      'bootstrap (install Docker)',
      'export DEBIAN_FRONTEND=noninteractive; command -v apt-get >/dev/null || { echo "only Debian and Ubuntu hosts are supported (no apt-get)" >&2; exit 1; }; ' +
        'apt-get update -q && apt-get install -y -q docker.io docker-compose-v2 && systemctl enable --now docker',
      { timeoutMs: 900_000 },
    );
  }
  if (input.dataDevice !== undefined) {
    // The device name comes from the stack's outputs: it reaches the script only as the quoted
    // value of a variable, never spliced into the script's text (not even into a message).
    const wait = Math.max(1, Math.ceil((input.dataDeviceWaitSeconds ?? 120) / 2));
    // Format only a device with no filesystem signature at all (blkid -p probes the device itself:
    // exit 2 means it found nothing), then mount by UUID: device names change between boots, UUIDs do not.
    const r = await host.run(
      'bootstrap (data volume)',
      [
        `dev=${q(input.dataDevice)}; root=${q(host.layout.dataRoot)}; fstab=${q(host.layout.fstab)}`,
        `for i in $(seq 1 ${wait}); do [ -b "$dev" ] && break; sleep 2; done; [ -b "$dev" ] || { echo "the data volume $dev did not appear" >&2; exit 1; }`,
        `blkid -p "$dev" >/dev/null 2>&1; probe=$?`,
        `if [ $probe -eq 2 ]; then echo "formatting the empty data volume $dev (ext4)"; mkfs.ext4 -q -L myt-data "$dev" || exit 1;`,
        `elif [ $probe -ne 0 ]; then echo "cannot tell whether $dev holds data (blkid -p exit $probe): not touching it" >&2; exit 1;`,
        `else echo "the data volume $dev has a filesystem: kept as it is"; fi`,
        `uuid=$(blkid -p -s UUID -o value "$dev"); [ -n "$uuid" ] || { echo "no filesystem UUID on $dev" >&2; exit 1; }`,
        `mkdir -p "$root"`,
        `grep -q "^UUID=$uuid " "$fstab" 2>/dev/null || echo "UUID=$uuid $root auto defaults,nofail 0 2" >> "$fstab"`,
        `if mountpoint -q "$root"; then echo "mounted at $root"; else mount UUID="$uuid" "$root" && echo "mounted at $root by UUID $uuid"; fi`,
      ].join('\n'),
    );
    for (const line of r.stdout.split('\n').filter(Boolean)) input.progress(`bootstrap: ${line}`);
  }
}

/** `myt deploy` on a connected host. */
export async function provision(input: ProvisionInput): Promise<ProvisionResult> {
  const { host, progress } = input;
  const home = host.layout.home;
  const now = (input.now ?? (() => new Date()))();
  const audit = (e: Omit<AuditEntry, 'at' | 'command' | 'actor' | 'from' | 'commit'>) =>
    appendAudit(host, { at: new Date().toISOString(), command: 'deploy', actor: input.actor ?? 'unknown', from: hostname(), commit: input.commit, ...e });

  progress(`lock: taking ${home}/lock`);
  const lock = await acquireLock(host, { actor: input.actor ?? 'unknown', commit: input.commit, since: now.toISOString(), from: hostname(), command: 'deploy' });
  try {
    await bootstrap(host, input);
    if (lock.tookOver) {
      progress(`lock: took over a stale lock (${describeHolder(lock.tookOver)}; its connection is gone)`);
      await audit({ outcome: 'took over a stale lock', detail: describeHolder(lock.tookOver) });
    }
    const current = await readCurrentManifest(host);
    const started = await readStarted(host);
    // What the containers run: the current release, unless its start never finished.
    const running = current && started === current.id ? current : started !== undefined ? await readManifest(host, `releases/${started}`) : undefined;
    const readBack = async (bundlePath: string) => {
      const r = await host.exec(`cat ${q(hostPath(host.layout, input.platform, bundlePath))} 2>/dev/null`);
      return r.code === 0 ? r.stdout : undefined;
    };
    const secrets = await input.secretFiles(readBack);
    const files = fileDigests(input.files);
    const secretSum = secretsDigest(secrets);
    const changes = fileChanges(current?.files, files);
    const secretsChanged = current?.secrets !== secretSum;

    if (current && changes.length === 0 && !secretsChanged && running !== current) {
      progress(`release ${current.id} is current, but its start did not finish: starting it`);
    } else if (current && changes.length === 0 && !secretsChanged) {
      const containers = await composePs(host);
      const down = containers.filter((c) => !isHealthy(c));
      if (containers.length > 0 && down.length === 0) {
        progress(`nothing changed: release ${current.id} is current and its ${containers.length} services are up`);
        await audit({ outcome: 'unchanged', release: current.id });
        return { changed: false, release: current.id, summary: `nothing changed (release ${current.id})`, changes: [] };
      }
      progress(`release ${current.id} is current, but ${down.length || 'all'} service(s) are not up: starting them`);
    }

    const digest = sha(JSON.stringify([files, secretSum]));
    const id = current && changes.length === 0 && !secretsChanged ? current.id : releaseId(now, digest);
    const manifest: ReleaseManifest = { id, files, secrets: secretSum, commit: input.commit, actor: input.actor, at: now.toISOString() };
    if (id !== current?.id) {
      progress(`upload: release ${id} (${input.files.length} files${changes.length ? `; ${changes.length} changed` : ''})`);
      await uploadRelease(host, id, [...input.files, { path: MANIFEST, content: `${JSON.stringify(manifest, null, 2)}\n` }]);
      progress(`upload: ${secrets.length} secret files (mode 0600)`);
      await uploadSecrets(host, input.platform, secrets);
      await host.run(
        'create data directories',
        input.dataDirs
          .map((d) => {
            const path = q(hostPath(host.layout, input.platform, d.path));
            return `mkdir -p ${path}${d.uid !== undefined && host.layout.chown ? ` && chown ${d.uid}:${d.uid} ${path}` : ''}`;
          })
          .join(' && ') || 'true',
      );
      progress(`switch: current -> releases/${id}`);
      await switchCurrent(host, id);
    }
    const wait = input.waitSeconds ?? 300;
    progress(`start: docker compose up --wait (at most ${wait} s)`);
    await composeUp(host, { waitSeconds: wait });
    // Compared with what the containers run; when that is unknown, every service with mounted files.
    const touched = current ? touchedServices(fileChanges(running?.files, files), input.processorServices, running?.secrets !== secretSum) : [];
    if (touched.length) {
      progress(`start: recreating ${touched.join(', ')} (their files changed)`);
      await composeUp(host, { waitSeconds: wait, services: touched, forceRecreate: true });
    }
    await writeStarted(host, id);
    const finish = unstoppable(progress);
    await prune(host, finish, current?.id);
    const what = changes.length ? `${changes.length} file(s) changed` : 'files unchanged';
    const summary = `deployed release ${id}: ${what}${secretsChanged && current ? ', secrets changed' : ''}`;
    await audit({ outcome: 'deployed', release: id, changes: [...changes, ...(secretsChanged ? ['secrets'] : [])] });
    finish(`done: ${summary}`);
    return { changed: true, release: id, summary, changes };
  } catch (err) {
    await audit({ outcome: 'failed', detail: host.mask(messageOf(err)).slice(0, 2000) }).catch(() => undefined);
    throw err;
  } finally {
    await lock.release().catch(() => undefined);
  }
}

async function composeUp(host: Host, opts: Parameters<typeof upCommand>[1]): Promise<void> {
  const r = await host.exec(upCommand(host, opts), { timeoutMs: (opts.waitSeconds + 120) * 1000 });
  if (r.code !== 0) {
    const report = await unhealthyReport(host, opts.services);
    throw new StepError('docker compose up', host.label, `exit status ${r.code}`, host.mask(`${r.stderr.trim().split('\n').slice(-10).map((l) => `  | ${l}`).join('\n')}${report ? `\n${report}` : ''}`));
  }
}

/** The release's files, as one tar stream, into releases/<id>.partial, then renamed: a release directory is whole or absent. */
async function uploadRelease(host: Host, id: string, files: readonly BundleFile[]): Promise<void> {
  const dir = `${host.layout.home}/releases/${id}`;
  const partial = `${dir}.partial`;
  const archive = tarArchive(files.map((f): TarEntry => ({ path: f.path, content: f.content, mode: f.mode ?? 0o644 })));
  await host.run('upload the release', `rm -rf ${q(partial)} && mkdir -p ${q(partial)} && tar -x --no-same-owner -f - -C ${q(partial)} && rm -rf ${q(dir)} && mv ${q(partial)} ${q(dir)}`, {
    stdin: archive,
  });
}

/** The secret files, in memory to the host's tar, into secrets.new/, then swapped in place of secrets/. */
async function uploadSecrets(host: Host, platform: string, files: readonly SecretFile[]): Promise<void> {
  const home = host.layout.home;
  const entries = files.map((f): TarEntry => {
    const path = hostPath(host.layout, platform, f.path);
    if (!path.startsWith(`${home}/secrets/`)) throw new MytError(`secret file outside the secrets folder: ${f.path}`);
    return { path: path.slice(`${home}/secrets/`.length), content: f.content, mode: 0o600, uid: f.uid };
  });
  const owner = host.layout.chown ? '--same-owner' : '--no-same-owner';
  const s = q(`${home}/secrets`);
  const n = q(`${home}/secrets.new`);
  const o = q(`${home}/secrets.old`);
  await host.run(
    'upload the secrets',
    `umask 077; rm -rf ${n} ${o} && mkdir -m 700 ${n} && tar -x ${owner} -p -f - -C ${n} && chmod 700 ${n} && { [ ! -e ${s} ] || mv ${s} ${o}; } && mv ${n} ${s} && rm -rf ${o}`,
    { stdin: tarArchive(entries, 0o700) },
  );
}

/** `current` -> releases/<id>, by renaming a new link over the old one (one rename: never absent, never half). */
async function switchCurrent(host: Host, id: string): Promise<void> {
  const home = host.layout.home;
  await host.run('switch the current release', `ln -sfn ${q(`releases/${id}`)} ${q(`${home}/current.new`)} && mv -T ${q(`${home}/current.new`)} ${q(`${home}/current`)}`);
}

/** The release `current` points at, and the releases on the host, oldest first. */
export async function listReleases(host: Host): Promise<{ current?: string; releases: string[] }> {
  const home = host.layout.home;
  const r = await host.exec(`readlink ${q(`${home}/current`)}; echo ---; ls -1 ${q(`${home}/releases`)} 2>/dev/null`);
  const [link = '', list = ''] = r.stdout.split('---\n');
  const current = link.trim().replace(/^releases\//, '') || undefined;
  return { current, releases: list.split('\n').filter((l) => l.trim() !== '' && !l.endsWith('.partial')).sort() };
}

/**
 * Keeps the newest KEEP_RELEASES releases, and never removes the current one or `previous` (the one
 * current before this deploy, what a rollback goes back to): release ids sort by the deploying
 * machine's clock, so a release made on a machine whose clock is behind can look like the oldest.
 */
async function prune(host: Host, progress: (l: string) => void, previous: string | undefined): Promise<void> {
  const { current, releases } = await listReleases(host);
  const old = releases.slice(0, Math.max(0, releases.length - KEEP_RELEASES)).filter((r) => r !== current && r !== previous);
  const partials = await host.exec(`ls -1d ${q(`${host.layout.home}/releases`)}/*.partial 2>/dev/null`);
  const leftovers = partials.stdout.split('\n').filter((l) => l.trim() !== '');
  if (!old.length && !leftovers.length) return;
  progress(`prune: removing ${old.length} old release(s)${leftovers.length ? ` and ${leftovers.length} unfinished upload(s)` : ''}; keeping ${KEEP_RELEASES}`);
  await host.run('remove old releases', ['true', ...old.map((r) => `rm -rf ${q(`${host.layout.home}/releases/${r}`)}`), ...leftovers.map((l) => `rm -rf ${q(l)}`)].join(' && '));
}

export type RedeployInput = Omit<ProvisionInput, 'secretFiles' | 'dataDirs' | 'dataDevice'>;

/**
 * `myt redeploy`: a release that differs from the current one only in processor/; only the processor
 * services are recreated. If they are not healthy within the bound, `current` goes back to the
 * previous release, the previous processor is started again, and the command fails saying so.
 * Devices keep publishing meanwhile: RabbitMQ holds the messages until a processor takes them, and a
 * processor acknowledges a message only once it is stored, so nothing is lost or stored twice.
 */
export async function redeployProcessor(input: RedeployInput): Promise<ProvisionResult> {
  const { host, progress } = input;
  const now = (input.now ?? (() => new Date()))();
  const audit = (e: Omit<AuditEntry, 'at' | 'command' | 'actor' | 'from' | 'commit'>) =>
    appendAudit(host, { at: new Date().toISOString(), command: 'redeploy', actor: input.actor ?? 'unknown', from: hostname(), commit: input.commit, ...e });
  progress(`lock: taking ${host.layout.home}/lock`);
  const lock = await acquireLock(host, { actor: input.actor ?? 'unknown', commit: input.commit, since: now.toISOString(), from: hostname(), command: 'redeploy' });
  let audited = false; // a rollback writes its own entry
  try {
    if (lock.tookOver) {
      progress(`lock: took over a stale lock (${describeHolder(lock.tookOver)}; its connection is gone)`);
      await audit({ outcome: 'took over a stale lock', detail: describeHolder(lock.tookOver) });
    }
    const current = await readCurrentManifest(host);
    if (!current) throw new MytError(`${host.label}: nothing is deployed there yet: run 'myt deploy ${input.platform}' first`);
    // A rollback goes back to the current release: it must be one that was started to the end.
    if ((await readStarted(host)) !== current.id) {
      throw new MytError(`${host.label}: release ${current.id} is current, but its start did not finish (a deploy failed or was stopped after switching to it): run 'myt deploy ${input.platform}'`);
    }
    const files = fileDigests(input.files);
    const changes = fileChanges(current.files, files);
    const other = changes.filter((c) => !c.slice(1).startsWith('processor/'));
    if (other.length) {
      throw new MytError(`more than the processor changed (${other.map((c) => c.slice(1)).join(', ')}): run 'myt deploy ${input.platform}', which applies the whole release`);
    }
    if (changes.length === 0) {
      progress(`nothing changed: the processor of release ${current.id} is current`);
      await audit({ outcome: 'unchanged', release: current.id });
      return { changed: false, release: current.id, summary: `nothing changed (release ${current.id})`, changes: [] };
    }
    const id = releaseId(now, sha(JSON.stringify([files, current.secrets])));
    const manifest: ReleaseManifest = { id, files, secrets: current.secrets, commit: input.commit, actor: input.actor, at: now.toISOString() };
    const home = host.layout.home;
    const dir = `${home}/releases/${id}`;
    progress(`upload: processor of release ${id} (${changes.length} file(s) changed)`);
    // The new release is the current one with a new processor/ folder.
    const processorFiles = input.files.filter((f) => f.path.startsWith('processor/'));
    const archive = tarArchive([...processorFiles.map((f) => ({ path: f.path, content: f.content, mode: f.mode ?? 0o644 })), { path: MANIFEST, content: `${JSON.stringify(manifest, null, 2)}\n` }]);
    await host.run(
      'upload the processor',
      `rm -rf ${q(`${dir}.partial`)} && cp -a ${q(`${home}/releases/${current.id}`)} ${q(`${dir}.partial`)} && rm -rf ${q(`${dir}.partial/processor`)} && ` +
        `tar -x --no-same-owner -f - -C ${q(`${dir}.partial`)} && rm -rf ${q(dir)} && mv ${q(`${dir}.partial`)} ${q(dir)}`,
      { stdin: archive },
    );
    progress(`switch: current -> releases/${id}`);
    await switchCurrent(host, id);
    const wait = input.waitSeconds ?? 60;
    progress(`start: ${input.processorServices.join(', ')} (healthy within ${wait} s)`);
    try {
      await composeUp(host, { waitSeconds: wait, services: input.processorServices, forceRecreate: true });
    } catch (err) {
      // The rollback runs to its end whatever happens to the caller's progress (an abort included).
      const tell = unstoppable(progress);
      tell(`rollback: the new processor is not healthy; switching back to release ${current.id}`);
      try {
        await switchCurrent(host, current.id);
      } catch (stuck) {
        audited = true;
        await audit({ outcome: 'failed', release: id, changes, detail: host.mask(`rollback failed: ${messageOf(stuck)}`).slice(0, 2000) }).catch(() => undefined);
        throw new MytError(
          `redeploy of ${input.platform} on ${host.label} failed, and switching back to release ${current.id} failed too: release ${id}, whose processor is not healthy, ` +
            `is still current (messages wait in the queue). Deploy a working processor with 'myt deploy ${input.platform}' once the host is fixed.\n${messageOf(stuck)}\n${messageOf(err)}`,
        );
      }
      let back = 'the previous processor is running again';
      try {
        // `started` still names it: it was checked above and is left as it was.
        await composeUp(host, { waitSeconds: wait, services: input.processorServices, forceRecreate: true });
      } catch (again) {
        back = `the previous processor did not become healthy either: ${messageOf(again)}`;
      }
      audited = true;
      await audit({ outcome: 'rolled back', release: current.id, changes, detail: host.mask(messageOf(err)).slice(0, 2000) });
      throw new MytError(
        `redeploy of ${input.platform} on ${host.label} failed and was rolled back to release ${current.id} (${back}); messages waited in the queue meanwhile.\n${messageOf(err)}`,
      );
    }
    await writeStarted(host, id);
    const finish = unstoppable(progress);
    await prune(host, finish, current.id);
    const summary = `redeployed the processor: release ${id} (${changes.map((c) => c.slice(1)).join(', ')})`;
    await audit({ outcome: 'deployed', release: id, changes });
    finish(`done: ${summary}`);
    return { changed: true, release: id, summary, changes };
  } catch (err) {
    if (!audited) await audit({ outcome: 'failed', detail: host.mask(messageOf(err)).slice(0, 2000) }).catch(() => undefined);
    throw err;
  } finally {
    await lock.release().catch(() => undefined);
  }
}

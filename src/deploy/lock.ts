// The deploy lock on the host: an atomic `mkdir` (Kamal's way) whose holder.json says who holds it,
// since when, for which commit. Unlike a bare directory, a lock also names its keeper: a process
// that lives exactly as long as the deploy's SSH connection (it reads the connection until it
// closes). A lock whose keeper is gone was left by a deploy whose connection dropped: the next
// deploy takes it over and says so, instead of stopping at a stale lock nobody remembers.
import { MytError } from '../errors.js';
import { q, type Host } from './host.js';

export interface LockHolder {
  readonly actor: string;
  readonly commit?: string;
  readonly since: string;
  /** Where the deploy ran from (the local machine's host name). */
  readonly from: string;
  readonly command: string;
}

export class LockHeldError extends MytError {
  override readonly name = 'LockHeldError';
}

export interface HeldLock {
  /** The holder of a stale lock that was taken over, if there was one. */
  readonly tookOver?: Partial<LockHolder>;
  release(): Promise<void>;
}

function describeHolder(h: Partial<LockHolder> & { pid?: number }): string {
  return `${h.command ?? 'a deploy'} by ${h.actor ?? 'someone'}${h.commit ? ` of commit ${h.commit}` : ''} from ${h.from ?? 'an unknown machine'}, since ${h.since ?? 'an unknown time'}`;
}

function parseHolder(text: string): Partial<LockHolder> & { pid?: number } {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' ? (v) : {};
  } catch {
    return {};
  }
}

/** Takes the platform's lock on `host`, or throws LockHeldError saying who holds it and how to release it. */
export async function acquireLock(host: Host, holder: LockHolder): Promise<HeldLock> {
  const home = host.layout.home;
  const lock = `${home}/lock`;
  const json = JSON.stringify(holder);
  // The keeper: this shell's pid is written into holder.json, then `exec cat` keeps that pid reading
  // the SSH channel; when the connection ends, cat sees end of input and exits.
  const script = [
    `mkdir -p ${q(home)} || exit 1`,
    `stale=`,
    `if ! mkdir ${q(lock)} 2>/dev/null; then`,
    `  old=$(cat ${q(`${lock}/holder.json`)} 2>/dev/null)`,
    `  pid=$(printf '%s' "$old" | sed -n 's/.*"pid":\\([0-9][0-9]*\\).*/\\1/p')`,
    `  if [ -n "$pid" ] && [ "$(cat /proc/$pid/comm 2>/dev/null)" = cat ]; then printf 'HELD %s\\n' "$old"; exit 0; fi`,
    // Renaming is atomic: of two deploys that both found the lock stale, one gets it.
    `  mv ${q(lock)} ${q(`${lock}.stale.`)}$$ 2>/dev/null && rm -rf ${q(`${lock}.stale.`)}$$`,
    `  mkdir ${q(lock)} 2>/dev/null || { printf 'HELD {}\\n'; exit 0; }`,
    `  stale=$old`,
    `fi`,
    `printf '%s' ${q(json.slice(0, -1))} > ${q(`${lock}/holder.json`)}`,
    `printf ',"pid":%s}\\n' $$ >> ${q(`${lock}/holder.json`)}`,
    `printf 'LOCKED %s %s\\n' $$ "$stale"`,
    `exec cat >/dev/null`,
  ].join('\n');
  const kept = await host.session.keep(host.command(script));
  const line = kept.firstLine;
  if (line.startsWith('HELD ')) {
    kept.stop();
    const h = parseHolder(line.slice(5));
    throw new LockHeldError(
      `${host.label}: another deploy holds the lock of this platform: ${describeHolder(h)}. Wait for it to finish. ` +
        `If you are sure none is running, release the lock with 'myt deploy --release-lock ${host.layout.home.split('/').pop()}' (or remove ${lock} on the host).`,
    );
  }
  if (!line.startsWith('LOCKED')) {
    kept.stop();
    const sudo = host.layout.sudo && /sudo/.test(line) ? ` (MyT runs its commands as root through 'sudo -n': the login user needs sudo without a password)` : '';
    throw new MytError(`${host.label}: could not take the deploy lock ${lock}: ${host.mask(line)}${sudo}`);
  }
  const [, pid = '', staleText = ''] = /^LOCKED (\d+) ?(.*)$/.exec(line) ?? [];
  return {
    tookOver: staleText ? parseHolder(staleText) : undefined,
    async release() {
      try {
        // Only while it is still this deploy's: after 'myt deploy --release-lock' another deploy may hold it.
        await host.exec(`grep -qF ${q(`"pid":${pid}}`)} ${q(`${lock}/holder.json`)} 2>/dev/null && rm -rf ${q(lock)}`);
      } finally {
        kept.stop();
      }
    },
  };
}

/** Removes the lock whoever holds it (`myt deploy --release-lock`); returns what it said, if anything. */
export async function forceReleaseLock(host: Host): Promise<string | undefined> {
  const lock = `${host.layout.home}/lock`;
  const r = await host.run('release the lock', `if [ -d ${q(lock)} ]; then cat ${q(`${lock}/holder.json`)} 2>/dev/null; echo; rm -rf ${q(lock)}; fi`);
  const text = r.stdout.trim();
  return text ? describeHolder(parseHolder(text)) : undefined;
}

export { describeHolder };

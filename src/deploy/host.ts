// A platform's host as the deploy steps see it: where its files live, how a command runs there (as
// root), and how a failed command becomes an error that names the step, the host and the (masked)
// remote output.
import { platformHome, DATA_MOUNT } from '../bundle/layout.js';
import { MytError } from '../errors.js';
import { ConnectionLostError, type ExecOptions, type ExecResult, type SshSession } from './ssh.js';

/** Where a platform lives on its host. The defaults are the bundle's (src/bundle/layout.ts). */
export interface HostLayout {
  /** `/opt/myt/<platform>`: releases/, current, lock, audit.log, secrets/. */
  readonly home: string;
  /** Where the data volume is mounted: `/var/lib/myt`. */
  readonly dataRoot: string;
  /** Run commands through `sudo -n` (the login user is not root). Default: when the user is not root. */
  readonly sudo: boolean;
  /** Owners of secret files and data directories are set (needs root). */
  readonly chown: boolean;
  /** Where the data volume's mount is recorded, so it comes back after a reboot. */
  readonly fstab: string;
}

export function defaultLayout(platform: string, user: string): HostLayout {
  return { home: platformHome(platform), dataRoot: DATA_MOUNT, sudo: user !== 'root', chown: true, fstab: '/etc/fstab' };
}

/** A path the bundle names under /opt/myt/<platform> or /var/lib/myt, moved to this layout. */
export function hostPath(layout: HostLayout, platform: string, bundlePath: string): string {
  const home = platformHome(platform);
  if (bundlePath === home || bundlePath.startsWith(`${home}/`)) return layout.home + bundlePath.slice(home.length);
  if (bundlePath.startsWith(`${DATA_MOUNT}/`)) return layout.dataRoot + bundlePath.slice(DATA_MOUNT.length);
  throw new Error(`not a platform path: ${bundlePath}`);
}

/** Quotes a value for a POSIX shell: every value MyT puts in a remote command goes through this. */
export function q(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A remote step failed: names the step, the host and the last lines of the remote output. */
export class StepError extends MytError {
  override readonly name = 'StepError';
  constructor(
    readonly step: string,
    readonly host: string,
    detail: string,
    readonly output = '',
  ) {
    super(`${step} on ${host} failed: ${detail}${output ? `\n${output}` : ''}`);
  }
}

/** The last `n` lines of a command's output, indented, for an error message. */
export function tail(text: string, n = 20): string {
  const lines = text.replace(/\s+$/, '').split('\n').filter((l) => l !== '');
  return lines.slice(-n).map((l) => `  | ${l}`).join('\n');
}

export class Host {
  constructor(
    readonly session: SshSession,
    readonly layout: HostLayout,
    readonly mask: (text: string) => string,
  ) {}

  get label(): string {
    return this.session.label;
  }

  /** The command line that runs `script` as root (`sudo -n` when the login user is not root). */
  command(script: string, shell: 'sh' | 'bash' = 'sh'): string {
    return `${this.layout.sudo ? 'sudo -n ' : ''}${shell} -c ${q(script)}`;
  }

  /** Runs `script`; its exit status is the caller's to judge. */
  async exec(script: string, opts: ExecOptions & { shell?: 'sh' | 'bash' } = {}): Promise<ExecResult> {
    return this.session.exec(this.command(script, opts.shell), opts);
  }

  /** Runs `script`; a non-zero exit becomes a StepError for `step`. */
  async run(step: string, script: string, opts: ExecOptions & { shell?: 'sh' | 'bash' } = {}): Promise<ExecResult> {
    let r: ExecResult;
    try {
      r = await this.exec(script, opts);
    } catch (err) {
      if (err instanceof ConnectionLostError) throw new StepError(step, this.label, err.message.replace(`${this.label}: `, ''));
      throw err;
    }
    if (r.code !== 0) throw new StepError(step, this.label, `exit status ${r.code}`, this.mask(tail(`${r.stdout}\n${r.stderr}`)));
    return r;
  }
}

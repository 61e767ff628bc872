// A real OpenSSH server on loopback for the deploy tests: /usr/sbin/sshd (installed by
// .ci/services.sh) on a random 127.0.0.1 port, with a throwaway user (useradd, unlocked with
// usermod -p '*', key login only) and an ed25519 host key made for the test. The user's PATH starts
// with a folder holding the stand-in `docker` command (tests/helpers/docker-stand-in.sh): Docker
// cannot run on this machine, so that script records what it is asked and answers as Docker
// documents its output.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { generateSshKeyPair, type SshKeyPair } from '../../src/secrets/ssh-keys.js';
import type { Need } from './needs.js';

export const SSHD = '/usr/sbin/sshd';

/** What the tests here need: sshd, running as root (to make the throwaway user), on Linux. */
export const SSHD_NEED: Need = {
  what: `${SSHD} and sudo, run as root (.ci/services.sh installs openssh-server and sudo)`,
  present: existsSync(SSHD) && existsSync('/usr/bin/sudo') && process.getuid?.() === 0,
};

export interface TestSshServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: string;
  readonly home: string;
  readonly uid: number;
  readonly login: SshKeyPair;
  readonly hostKey: SshKeyPair;
  /** The server's RSA host key line (`ssh-rsa AAAA…`), with the `rsaHostKey` option. */
  readonly rsaHostKey?: string;
  /** The stand-in's folder: calls.log (one line per call), and files that steer it. */
  readonly standIn: string;
  /** Every `docker` command line the stand-in was given, in order. */
  dockerCalls(): string[];
  /** Runs a shell command as the test user (to look at what the deploy left). */
  asUser(command: string): string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

async function listening(port: number, ms: number, child: ChildProcess): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`sshd exited (status ${child.exitCode})`);
    const ok = await new Promise<boolean>((res) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), res(true)));
      s.once('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port} within ${ms} ms`);
}

/** Starts sshd and makes its user; `stop()` ends sshd and removes the user and its home. */
/**
 * Starts sshd and makes its user; `stop()` ends sshd and removes the user and its home. With `sudo`,
 * the user may run anything as root without a password (as a platform's user must), with the
 * stand-in folder first on sudo's secure_path; `cleanup` names folders to remove at the end.
 */
export async function startSshServer(opts: { env?: Record<string, string>; sudo?: boolean; cleanup?: string[]; rsaHostKey?: boolean } = {}): Promise<TestSshServer> {
  const user = `myt${randomBytes(4).toString('hex')}`;
  run('useradd', ['-m', '-s', '/bin/sh', user]);
  run('usermod', ['-p', '*', user]); // no password, yet not locked: key login works
  const home = run('sh', ['-c', `getent passwd ${user} | cut -d: -f6`]).trim();
  const uid = Number(run('id', ['-u', user]).trim());
  const login = generateSshKeyPair('myt-test-login');
  const hostKey = generateSshKeyPair('myt-test-host');
  const conf = join(home, '.sshd');
  const standIn = join(home, 'stand-in');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  mkdirSync(conf, { recursive: true });
  mkdirSync(join(standIn, 'bin'), { recursive: true });
  mkdirSync('/run/sshd', { recursive: true });
  writeFileSync(join(home, '.ssh', 'authorized_keys'), `${login.publicKey}\n`);
  // The test server's own host key file (the deploy side keeps keys in memory; this is the server).
  writeFileSync(join(conf, 'host_ed25519'), hostKey.privateKey, { mode: 0o600 });
  // A second host key, RSA, as many existing servers have (made by ssh-keygen, as OpenSSH makes its own).
  if (opts.rsaHostKey) run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-C', 'myt-test-host-rsa', '-f', join(conf, 'host_rsa')]);
  const rsaHostKey = opts.rsaHostKey ? readFileSync(join(conf, 'host_rsa.pub'), 'utf8').trim() : undefined;
  const script = readFileSync(join(import.meta.dirname, 'docker-stand-in.sh'), 'utf8').replace('__STATE__', standIn);
  writeFileSync(join(standIn, 'bin', 'docker'), script, { mode: 0o755 });
  writeFileSync(join(standIn, 'calls.log'), '');
  writeFileSync(join(standIn, 'exec.env'), Object.entries(opts.env ?? {}).map(([k, v]) => `export ${k}='${v}'\n`).join(''));
  run('chown', ['-R', `${user}:${user}`, join(home, '.ssh'), standIn]);
  chmodSync(join(home, '.ssh'), 0o700);
  chownSync(home, uid, uid);
  const sudoers = `/etc/sudoers.d/${user}`;
  if (opts.sudo) {
    writeFileSync(
      sudoers,
      `Defaults:${user} secure_path="${join(standIn, 'bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n${user} ALL=(root) NOPASSWD: ALL\n`,
      { mode: 0o440 },
    );
  }
  const config = (port: number) =>
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(conf, 'host_ed25519')}`,
      ...(opts.rsaHostKey ? [`HostKey ${join(conf, 'host_rsa')}`] : []),
      `PidFile ${join(conf, 'sshd.pid')}`,
      `AllowUsers ${user}`,
      'AuthenticationMethods publickey',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin no',
      'AuthorizedKeysFile .ssh/authorized_keys',
      `SetEnv PATH=${join(standIn, 'bin')}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
      'MaxSessions 50',
      'MaxStartups 50',
      'LogLevel ERROR',
      '',
    ].join('\n');
  const removeUser = () => {
    spawnSync('sh', ['-c', `for p in $(ps -u ${user} -o pid=); do kill $p; done`]);
    spawnSync('userdel', ['-r', '-f', user]);
    if (opts.sudo) rmSync(sudoers, { force: true });
  };
  // A random port may be taken: a few tries, each bounded.
  let child: ChildProcess | undefined;
  let port = 0;
  const failures: string[] = [];
  for (let attempt = 0; attempt < 4 && child === undefined; attempt++) {
    port = 20000 + Math.floor(Math.random() * 40000);
    writeFileSync(join(conf, 'sshd_config'), config(port));
    const c = spawn(SSHD, ['-D', '-e', '-f', join(conf, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    c.stderr?.on('data', (b: Buffer) => (log += b.toString()));
    try {
      await listening(port, 15_000, c);
      child = c;
    } catch (err) {
      c.kill();
      failures.push(`${(err as Error).message}: ${log.trim()}`);
    }
  }
  if (child === undefined) {
    removeUser();
    throw new Error(`sshd did not start:\n${failures.join('\n')}`);
  }
  const running = child;
  return {
    host: '127.0.0.1',
    port,
    user,
    home,
    uid,
    login,
    hostKey,
    rsaHostKey,
    standIn,
    dockerCalls: () => readFileSync(join(standIn, 'calls.log'), 'utf8').split('\n').filter(Boolean),
    asUser: (command) => run('su', ['-s', '/bin/sh', user, '-c', command]),
    async stop() {
      running.kill('SIGTERM');
      await new Promise((r) => (running.exitCode !== null ? r(undefined) : running.once('exit', r)));
      // The user's sessions end with sshd's children; then the user and its home go.
      removeUser();
      for (const dir of opts.cleanup ?? []) rmSync(dir, { recursive: true, force: true });
    },
  };
}

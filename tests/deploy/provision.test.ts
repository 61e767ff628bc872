// The provisioning code against a real OpenSSH server on loopback (tests/helpers/ssh-server.ts), with
// a throwaway user and key. Docker cannot run here: the host's `docker` is a STAND-IN that records
// what it was asked and answers as Docker documents (tests/helpers/docker-stand-in.sh); the tests
// check the recorded commands.
import { createServer, connect, type Server } from 'node:net';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { composeFile, dataDirectories } from '../../src/bundle/compose.js';
import { renderConfigFiles, type BundleFile } from '../../src/bundle/render.js';
import { generateSecrets, renderSecretFiles } from '../../src/bundle/secret-files.js';
import { resolvePlatform, type ResolvedPlatform } from '../../src/config/defaults.js';
import { readAudit } from '../../src/deploy/audit.js';
import { Host, type HostLayout } from '../../src/deploy/host.js';
import { acquireLock, forceReleaseLock, LockHeldError } from '../../src/deploy/lock.js';
import { KEEP_RELEASES, listReleases, provision, redeployProcessor, type ProvisionInput } from '../../src/deploy/provision.js';
import { HostKeyMismatchError, SshSession, type SshTarget } from '../../src/deploy/ssh.js';
import { generateSshKeyPair } from '../../src/secrets/ssh-keys.js';
import { describeNeeding } from '../helpers/needs.js';
import { SSHD_NEED, startSshServer, type TestSshServer } from '../helpers/ssh-server.js';

const NAME = 'greenhouse';
const platform: ResolvedPlatform = resolvePlatform({
  apiVersion: 'myt/v1',
  kind: 'Platform',
  metadata: { name: NAME },
  spec: {
    cloud: { provider: 'ssh', host: '127.0.0.1', user: 'myt', key: 'secrets/ssh.enc.yaml' },
    database: { engine: 'timescaledb', tables: { climate: { temperature: 'double' } } },
    processor: { replicas: 2 },
  },
});
const processorServices = Object.keys(composeFile(platform).services).filter((s) => s.startsWith('processor-'));

let server: TestSshServer;
const generated = generateSecrets();

function bundle(processor = 'console.log("processor v1");\n', extra: BundleFile[] = []): BundleFile[] {
  return [...renderConfigFiles(platform), { path: 'processor/main.mjs', content: processor }, ...extra];
}

function target(over: Partial<SshTarget> = {}): SshTarget {
  return { host: server.host, port: server.port, user: server.user, privateKey: server.login.privateKey, hostKey: server.hostKey.publicKey, ...over };
}

function layout(): HostLayout {
  // The test user is not root: the platform lives in its home, and owners are not changed.
  return { home: `${server.home}/opt/myt/${NAME}`, dataRoot: `${server.home}/data`, sudo: false, chown: false, fstab: `${server.home}/fstab` };
}

async function withHost<T>(fn: (host: Host) => Promise<T>, t: SshTarget = target()): Promise<T> {
  const session = await SshSession.connect(t, { waitMs: 5_000 });
  try {
    return await fn(new Host(session, layout(), (s) => s));
  } finally {
    session.dispose();
  }
}

function input(host: Host, files: BundleFile[], lines: string[] = []): ProvisionInput {
  return {
    host,
    platform: NAME,
    files,
    secretFiles: () => Promise.resolve(renderSecretFiles(platform, { generated })),
    dataDirs: dataDirectories(platform),
    processorServices,
    commit: 'abc1234',
    actor: 'tester',
    progress: (l) => lines.push(l),
    waitSeconds: 30,
  };
}

/** The error a promise rejects with; the test fails when it resolves. */
async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure, but it succeeded');
}

/** Waits (bounded) until the lock's keeper process on the host has ended with its connection. */
async function keeperGone(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const holder = server.asUser(`cat ${layout().home}/lock/holder.json 2>/dev/null || true`);
    const pid = /"pid":(\d+)/.exec(holder)?.[1];
    if (pid === undefined || server.asUser(`cat /proc/${pid}/comm 2>/dev/null || true`).trim() !== 'cat') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the lock keeper did not end within 10 s of its connection');
}

const upCalls = () => server.dockerCalls().filter((c) => c.startsWith('compose up'));

describeNeeding(SSHD_NEED, 'provisioning over a real OpenSSH server on loopback (docker is a stand-in)', () => {
  beforeAll(async () => {
    server = await startSshServer({ rsaHostKey: true });
  }, 30_000);
  afterAll(async () => server?.stop());

  it('first deploy with the stand-in docker: skips the bootstrap, uploads a release, switches current, runs compose up --wait', async () => {
    const lines: string[] = [];
    const r = await withHost((h) => provision(input(h, bundle(), lines)));
    expect(r.changed).toBe(true);
    expect(lines.join('\n')).toMatch(/bootstrap: skipped, Docker Compose version v2\.29\.7/);
    const home = layout().home;
    expect(server.asUser(`readlink ${home}/current`).trim()).toBe(`releases/${r.release}`);
    expect(server.asUser(`cat ${home}/current/processor/main.mjs`)).toContain('processor v1');
    expect(server.asUser(`cat ${home}/current/compose.yaml`)).toContain(`name: myt-${NAME}`);
    // secret files: 0600 in a 0700 folder, outside the release
    expect(server.asUser(`stat -c '%a %n' ${home}/secrets ${home}/secrets/processor.env`).trim().split('\n')).toEqual([`700 ${home}/secrets`, `600 ${home}/secrets/processor.env`]);
    expect(server.asUser(`cat ${home}/secrets/generated.json`)).toContain(generated.dbAdmin);
    expect(server.asUser(`ls ${home}/current/`)).not.toContain('secrets');
    expect(server.asUser(`test -d ${server.home}/data/${NAME}/timescaledb && echo ok`).trim()).toBe('ok');
    // what Docker was asked, in order
    expect(server.dockerCalls()).toEqual(['compose version ', 'compose up -d --remove-orphans --wait --wait-timeout 30 ']);
    const audit = await withHost((h) => readAudit(h));
    expect(audit.at(-1)).toMatchObject({ command: 'deploy', outcome: 'deployed', actor: 'tester', commit: 'abc1234', release: r.release });
    expect(server.asUser(`test -d ${home}/lock || echo released`).trim()).toBe('released');
  });

  it('a second deploy with nothing changed changes nothing and says so (no compose up, no new release)', async () => {
    const before = await withHost(listReleases);
    const ups = upCalls().length;
    const lines: string[] = [];
    const r = await withHost((h) => provision(input(h, bundle(), lines)));
    expect(r.changed).toBe(false);
    expect(r.summary).toMatch(/^nothing changed/);
    expect(lines.at(-1)).toMatch(/nothing changed: release .* is current and its 5 services are up/);
    expect(upCalls().length).toBe(ups);
    expect(server.dockerCalls().at(-1)).toBe('compose ps --all --format json ');
    expect(await withHost(listReleases)).toEqual(before);
    expect((await withHost((h) => readAudit(h))).at(-1)).toMatchObject({ outcome: 'unchanged' });
  });

  it('a changed file makes a new release, recreates the service that mounts it, and keeps the last 5 releases', { timeout: 90_000 }, async () => {
    let last = '';
    for (let i = 0; i < KEEP_RELEASES + 2; i++) {
      const r = await withHost((h) => provision({ ...input(h, bundle(undefined, [{ path: 'rabbitmq/extra.conf', content: `# ${i}\n` }])), now: () => new Date(Date.UTC(2030, 0, 1, 0, 0, i)) }));
      expect(r.changed).toBe(true);
      last = r.release;
    }
    const { current, releases } = await withHost(listReleases);
    expect(current).toBe(last);
    expect(releases).toHaveLength(KEEP_RELEASES);
    expect(releases.at(-1)).toBe(last);
    expect(upCalls().at(-1)).toBe('compose up -d --no-deps --force-recreate --wait --wait-timeout 30 rabbitmq ');
  });

  it('redeploy with the stand-in docker: uploads only the processor and recreates only the processor services', async () => {
    const files = bundle(undefined, [{ path: 'rabbitmq/extra.conf', content: `# ${KEEP_RELEASES + 1}\n` }]);
    const before = await withHost(listReleases);
    const r = await withHost((h) => redeployProcessor({ ...input(h, files.map((f) => (f.path === 'processor/main.mjs' ? { ...f, content: 'console.log("processor v2");\n' } : f))) }));
    expect(r.changed).toBe(true);
    expect(r.changes).toEqual(['~processor/main.mjs']);
    expect(upCalls().at(-1)).toBe(`compose up -d --no-deps --force-recreate --wait --wait-timeout 30 ${processorServices.join(' ')} `);
    const home = layout().home;
    expect(server.asUser(`cat ${home}/current/processor/main.mjs`)).toContain('processor v2');
    expect(server.asUser(`cat ${home}/current/rabbitmq/extra.conf`)).toContain(`# ${KEEP_RELEASES + 1}`);
    expect((await withHost(listReleases)).current).not.toBe(before.current);
  });

  it('redeploy of an unhealthy processor (stand-in docker says so) switches back to the previous release and fails saying so', async () => {
    const files = bundle('// MYT_STAND_IN_UNHEALTHY\n', [{ path: 'rabbitmq/extra.conf', content: `# ${KEEP_RELEASES + 1}\n` }]);
    const before = await withHost(listReleases);
    const err = await failure(withHost((h) => redeployProcessor(input(h, files))));
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(new RegExp(`rolled back to release ${before.current}`));
    expect(err.message).toMatch(/the previous processor is running again/);
    expect(err.message).toMatch(/messages waited in the queue/);
    expect(err.message).toMatch(/container myt-greenhouse-processor-0-1 is unhealthy/);
    expect(err.message).toMatch(/TypeError: fetch failed/); // the health log
    expect(err.message).toMatch(/cannot reach the broker/); // the last output
    expect((await withHost(listReleases)).current).toBe(before.current);
    const ups = upCalls().slice(-2);
    expect(ups).toEqual([0, 1].map(() => `compose up -d --no-deps --force-recreate --wait --wait-timeout 30 ${processorServices.join(' ')} `));
    expect((await withHost((h) => readAudit(h))).at(-1)).toMatchObject({ command: 'redeploy', outcome: 'rolled back', release: before.current });
  });

  it('redeploy whose switch back fails too (stand-in docker blocks current.new): the error says which release is current and what to run', async () => {
    const home = layout().home;
    await withHost((h) => provision(input(h, bundle())));
    const before = await withHost(listReleases);
    const files = bundle('// MYT_STAND_IN_UNHEALTHY MYT_STAND_IN_BLOCK_SWITCH\n');
    try {
      const err = await failure(withHost((h) => redeployProcessor(input(h, files))));
      const now = (await withHost(listReleases)).current;
      expect(now).not.toBe(before.current);
      expect(err.message).toMatch(new RegExp(`^redeploy of greenhouse on \\S+ failed, and switching back to release ${before.current} failed too: release ${now}, whose processor is not healthy, is still current .* 'myt deploy greenhouse'`));
      expect(err.message).toMatch(/switch the current release on .* failed: exit status 1/);
      expect(err.message).toMatch(/container myt-greenhouse-processor-0-1 is unhealthy/);
      const last = (await withHost((h) => readAudit(h))).at(-1);
      expect(last).toMatchObject({ command: 'redeploy', outcome: 'failed', release: now });
      expect(last?.detail).toMatch(/^rollback failed: /);
    } finally {
      server.asUser(`rm -rf ${home}/current.new`);
    }
    // what the host was left with is put right by a deploy of the release before
    await withHost((h) => provision(input(h, bundle())));
  });

  it('redeploy refuses when more than the processor changed', async () => {
    const err = await failure(withHost((h) => redeployProcessor(input(h, bundle('x', [{ path: 'rabbitmq/extra.conf', content: 'other\n' }])))));
    expect(err.message).toMatch(/more than the processor changed \(rabbitmq\/extra\.conf\): run 'myt deploy greenhouse'/);
  });

  it('the lock: a second deploy stops naming who holds it and how to release it; a lock whose connection is gone is taken over', async () => {
    const session = await SshSession.connect(target());
    const holder = await acquireLock(new Host(session, layout(), (s) => s), { actor: 'alice', commit: 'feed123', since: '2030-01-01T00:00:00Z', from: 'laptop', command: 'deploy' });
    expect(holder.tookOver).toBeUndefined();
    const err = await failure(withHost((h) => provision(input(h, bundle()))));
    expect(err).toBeInstanceOf(LockHeldError);
    expect(err.message).toMatch(/another deploy holds the lock of this platform: deploy by alice of commit feed123 from laptop, since 2030-01-01T00:00:00Z/);
    expect(err.message).toMatch(/myt deploy --release-lock greenhouse/);
    // The holder's connection ends without releasing (a dropped deploy): its keeper process ends with it.
    session.dispose();
    const lines: string[] = [];
    await keeperGone();
    await withHost((h) => provision(input(h, bundle(), lines)));
    expect(lines.join('\n')).toMatch(/took over a stale lock \(deploy by alice of commit feed123/);
    expect((await withHost((h) => readAudit(h, 5))).map((e) => e.outcome)).toContain('took over a stale lock');
  });

  it("a deploy whose lock was released by force (myt deploy --release-lock) does not remove the next deploy's lock when it ends", async () => {
    const a = await SshSession.connect(target());
    const b = await SshSession.connect(target());
    try {
      const first = await acquireLock(new Host(a, layout(), (s) => s), { actor: 'alice', since: '2030-01-01T00:00:00Z', from: 'laptop', command: 'deploy' });
      expect(await withHost(forceReleaseLock)).toMatch(/^deploy by alice/);
      const second = await acquireLock(new Host(b, layout(), (s) => s), { actor: 'bob', since: '2030-01-01T00:01:00Z', from: 'ci', command: 'deploy' });
      await first.release();
      expect(server.asUser(`cat ${layout().home}/lock/holder.json`)).toMatch(/"actor":"bob"/);
      await second.release();
      expect(server.asUser(`test -d ${layout().home}/lock || echo released`).trim()).toBe('released');
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('a host key other than the known one stops before anything is sent (no trust on first use)', async () => {
    const calls = server.dockerCalls().length;
    const other = generateSshKeyPair('someone else');
    const err = await failure(SshSession.connect(target({ hostKey: other.publicKey }), { waitMs: 1_000 }));
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(err.message).toMatch(/the host key is SHA256:[A-Za-z0-9+/]{43}, but MyT knows SHA256:[A-Za-z0-9+/]{43} for this host\. Nothing was sent/);
    expect(err.message).toContain(`${server.user}@127.0.0.1:${server.port}`);
    expect(server.dockerCalls().length).toBe(calls);
  });

  it("a server known by its RSA host key (many existing servers) is verified with it, signed with SHA-2 as OpenSSH 8.8+ requires", async () => {
    const rsa = server.rsaHostKey!;
    const ok = await withHost((h) => h.session.exec('echo connected'), target({ hostKey: rsa }));
    expect(ok.stdout).toBe('connected\n');
    // and a different RSA key is still a mismatch
    const other = spawnSync('sh', ['-c', `d=$(mktemp -d) && ssh-keygen -q -t rsa -b 2048 -N '' -f $d/k && cat $d/k.pub && rm -rf $d`], { encoding: 'utf8' }).stdout.trim();
    expect(await failure(SshSession.connect(target({ hostKey: other }), { waitMs: 1_000 }))).toBeInstanceOf(HostKeyMismatchError);
  });

  it('a login user without sudo is told that it needs sudo without a password', async () => {
    const err = await failure(SshSession.connect(target()).then(async (session) => {
      try {
        return await provision(input(new Host(session, { ...layout(), sudo: true }, (s) => s), bundle()));
      } finally {
        session.dispose();
      }
    }));
    expect(err.message).toMatch(/could not take the deploy lock .*sudo.*the login user needs sudo without a password/s);
  });

  it('a login key the server does not accept is refused with a clear message', async () => {
    const err = await failure(SshSession.connect(target({ privateKey: generateSshKeyPair('stranger').privateKey }), { waitMs: 1_000 }));
    expect(err.message).toMatch(new RegExp(`the server refused the login key for user '${server.user}'`));
  });

  it('a host that does not answer is retried within a bound, then reported', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const waits: string[] = [];
    const started = Date.now();
    const err = await failure(SshSession.connect(target({ port }), { waitMs: 2_500, onWait: (w) => waits.push(w) }));
    expect(err.message).toMatch(/could not connect over SSH \(tried \d+ times\): .*ECONNREFUSED/);
    expect(waits.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a command whose output cannot be written locally (a full disk under myt dump) is stopped and fails with that error, not left blocked', async () => {
    const started = Date.now();
    const sink = new Writable({
      write: (_chunk, _enc, cb) => cb(new Error('ENOSPC: no space left on device')),
    });
    const err = await failure(withHost((h) => h.exec('head -c 100000000 /dev/zero', { stdout: sink, timeoutMs: 20_000 })));
    expect(err.message).toBe('ENOSPC: no space left on device');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a connection dropped mid-upload leaves the running release current, and the next deploy finishes the job', async () => {
    const before = await withHost(listReleases);
    // A TCP relay to sshd that cuts both sides after 1 MB from the client: mid-upload of a 4 MB release.
    let cut = false;
    const relay: Server = createServer((c) => {
      const s = connect(server.port, '127.0.0.1');
      let n = 0;
      c.on('data', (d) => {
        n += d.length;
        if (n > 1_000_000) {
          cut = true;
          c.destroy();
          s.destroy();
        } else s.write(d);
      });
      s.pipe(c);
      c.on('error', () => undefined);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const big = randomBytes(4_000_000).toString('base64');
    const lines: string[] = [];
    const err = await failure(withHost((h) => provision(input(h, bundle(`// ${big}\n`), lines)), target({ port: (relay.address() as { port: number }).port })));
    relay.close();
    expect(cut).toBe(true);
    expect(err.message).toMatch(new RegExp(`upload the release on ${server.user}@127\\.0\\.0\\.1:\\d+ failed: the connection was lost`));
    expect((await withHost(listReleases)).current).toBe(before.current);
    expect(server.asUser(`cat ${layout().home}/current/processor/main.mjs`)).not.toContain(big.slice(0, 100));
    // the next deploy takes over the dropped deploy's lock, removes the unfinished upload and deploys
    await keeperGone();
    const again: string[] = [];
    const r = await withHost((h) => provision(input(h, bundle(`// ${big}\n`), again)));
    expect(r.changed).toBe(true);
    expect(again.join('\n')).toMatch(/took over a stale lock/);
    expect(server.asUser(`ls ${layout().home}/releases`)).not.toMatch(/\.partial/);
    expect(server.asUser(`head -c 200 ${layout().home}/current/processor/main.mjs`)).toContain(big.slice(0, 100));
  });

  it('a deploy stopped after the switch, before compose up: the next deploy starts that release and recreates what changed, not "nothing changed"; a redeploy refuses until then', async () => {
    await withHost((h) => provision(input(h, bundle())));
    const files = bundle(undefined, [{ path: 'rabbitmq/extra.conf', content: '# stopped after the switch\n' }]);
    const stop = (l: string) => {
      if (l.startsWith('start:')) throw new Error('stopped by the test');
    };
    const stopped = await failure(withHost((h) => provision({ ...input(h, files), progress: stop })));
    expect(stopped.message).toBe('stopped by the test');
    const switched = (await withHost(listReleases)).current;
    expect(server.asUser(`cat ${layout().home}/current/rabbitmq/extra.conf`)).toContain('stopped after the switch');
    // The containers still run the release before: the rollback target of a redeploy must be one that was started.
    const refused = await failure(withHost((h) => redeployProcessor(input(h, bundle('console.log("v3");\n', [{ path: 'rabbitmq/extra.conf', content: '# stopped after the switch\n' }])))));
    expect(refused.message).toMatch(new RegExp(`release ${switched} is current, but its start did not finish .*: run 'myt deploy greenhouse'`));
    const ups = upCalls().length;
    const lines: string[] = [];
    const r = await withHost((h) => provision(input(h, files, lines)));
    expect(r).toMatchObject({ changed: true, release: switched });
    expect(lines).toContain(`release ${switched} is current, but its start did not finish: starting it`);
    expect(upCalls().slice(ups)).toEqual(['compose up -d --remove-orphans --wait --wait-timeout 30 ', 'compose up -d --no-deps --force-recreate --wait --wait-timeout 30 rabbitmq ']);
    // and once started, the same deploy again changes nothing
    expect((await withHost((h) => provision(input(h, files)))).changed).toBe(false);
  });

  it('a deploy stopped once its release is started is done, not failed: the audit log says deployed', async () => {
    const stop = (l: string) => {
      if (l.startsWith('done:')) throw new Error('stopped by the test');
    };
    const r = await withHost((h) => provision({ ...input(h, bundle(undefined, [{ path: 'rabbitmq/extra.conf', content: '# stopped when done\n' }])), progress: stop }));
    expect(r.changed).toBe(true);
    expect((await withHost(listReleases)).current).toBe(r.release);
    expect((await withHost((h) => readAudit(h))).at(-1)).toMatchObject({ outcome: 'deployed', release: r.release });
  });

  it('pruning never removes the release before the current one, even when its id sorts oldest (a deploying machine whose clock was behind)', { timeout: 90_000 }, async () => {
    for (let i = 0; i < KEEP_RELEASES; i++) {
      await withHost((h) => provision({ ...input(h, bundle(undefined, [{ path: 'rabbitmq/extra.conf', content: `# clock ${i}\n` }])), now: () => new Date(Date.UTC(2035, 0, 1, 0, 0, i)) }));
    }
    const behind = await withHost((h) => provision({ ...input(h, bundle(undefined, [{ path: 'rabbitmq/extra.conf', content: '# clock behind\n' }])), now: () => new Date(Date.UTC(2001, 0, 1)) }));
    const next = await withHost((h) => provision({ ...input(h, bundle(undefined, [{ path: 'rabbitmq/extra.conf', content: '# clock right\n' }])), now: () => new Date(Date.UTC(2036, 0, 1)) }));
    const { current, releases } = await withHost(listReleases);
    expect(current).toBe(next.release);
    expect(releases[0]).toBe(behind.release);
    expect(releases).toHaveLength(KEEP_RELEASES + 1);
  });
});

// `myt deploy` and `myt redeploy` end to end: a repository with an existing-server platform (cloud
// provider ssh) whose host is a real OpenSSH server on loopback, reached with a key decrypted from
// SOPS in memory, deploying as root through sudo into /opt/myt/<platform> as on a real server.
// Docker cannot run here: the host's `docker` is a STAND-IN that records what it was asked and
// answers as Docker documents (tests/helpers/docker-stand-in.sh).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/index.js';
import { defaultLayout, Host } from '../../src/deploy/host.js';
import { acquireLock } from '../../src/deploy/lock.js';
import { SshSession } from '../../src/deploy/ssh.js';
import { resetSecretRegistry } from '../../src/secrets/masking.js';
import { generateAgeKeyPair } from '../../src/secrets/age-keys.js';
import { writeNewSecrets } from '../../src/secrets/operations.js';
import { sopsConfigText } from '../../src/secrets/sops-config.js';
import { generateSshKeyPair } from '../../src/secrets/ssh-keys.js';
import { runMyt } from '../helpers/cli.js';
import { describeNeeding } from '../helpers/needs.js';
import { SSHD_NEED, startSshServer, type TestSshServer } from '../helpers/ssh-server.js';

const NAME = `t${randomBytes(4).toString('hex')}`;
let server: TestSshServer;
let root: string;
let env: NodeJS.ProcessEnv;

function write(path: string, text: string) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

function platformYaml(hostKey: string | undefined): string {
  return `apiVersion: myt/v1
kind: Platform
metadata:
  name: ${NAME}
spec:
  cloud:
    provider: ssh
    host: 127.0.0.1
    port: ${server.port}
    user: ${server.user}
    key: secrets/ssh.enc.yaml
${hostKey ? `    hostKey: ${hostKey}\n` : ''}  database:
    engine: influxdb
  processor:
    script: processors/${NAME}.ts
`;
}

const myt = (...args: string[]) => runMyt(args, root, env);

describeNeeding(SSHD_NEED, 'myt deploy and myt redeploy over a real OpenSSH server on loopback (docker is a stand-in)', () => {
  beforeAll(async () => {
    server = await startSshServer({ sudo: true, cleanup: [`/opt/myt/${NAME}`, `/var/lib/myt/${NAME}`] });
    root = mkdtempSync(join(tmpdir(), 'myt-deploy-'));
    mkdirSync(join(root, '.git'));
    const age = await generateAgeKeyPair();
    env = { SOPS_AGE_KEY: age.identity, PATH: process.env.PATH };
    write('.sops.yaml', sopsConfigText([age.recipient]));
    await writeNewSecrets(root, 'secrets/ssh.enc.yaml', { privateKey: server.login.privateKey, publicKey: server.login.publicKey });
    write(`processors/${NAME}.ts`, 'export default (m: unknown) => m;\n');
    write(`platforms/${NAME}.yaml`, platformYaml(server.hostKey.publicKey));
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
    // the parents the deploy made, when no other platform is there (rmdir leaves a non-empty one)
    spawnSync('rmdir', ['/opt/myt', '/var/lib/myt']);
  });

  it('myt deploy with the stand-in docker: prints each step, installs the release under /opt/myt as root, and says what it did', async () => {
    const r = await myt('deploy', NAME, '--commit', 'c0ffee1', '--actor', 'ci-bot');
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const steps = r.stderr.split('\n').map((l) => l.replace(/^\[\s*[\d.]+ s\] /, '').split(':')[0]);
    expect(steps.filter(Boolean)).toEqual(['connect', 'render', 'lock', 'bootstrap', 'secrets', 'upload', 'upload', 'switch', 'start', 'done']);
    expect(r.stdout).toMatch(new RegExp(`^${NAME} on ${server.user}@127\\.0\\.0\\.1:${server.port}: deployed release \\d{8}T\\d{6}Z-[0-9a-f]{12}: 9 file\\(s\\) changed\\n$`));
    const home = `/opt/myt/${NAME}`;
    expect(readFileSync(`${home}/current/compose.yaml`, 'utf8')).toContain(`name: myt-${NAME}`);
    expect(readFileSync(`${home}/current/processor/script.mjs`, 'utf8')).toContain('export');
    // secrets: owned as each container needs, 0600, in a 0700 folder
    expect(statSync(`${home}/secrets`).mode & 0o777).toBe(0o700);
    expect([statSync(`${home}/secrets/processor.env`).mode & 0o777, statSync(`${home}/secrets/processor.env`).uid]).toEqual([0o600, 0]);
    expect([statSync(`${home}/secrets/grafana/admin-password`).mode & 0o777, statSync(`${home}/secrets/grafana/admin-password`).uid]).toEqual([0o600, 472]);
    expect(statSync(`/var/lib/myt/${NAME}/grafana`).uid).toBe(472);
    expect([statSync(`${home}/secrets/grafana`).uid, statSync(`${home}/secrets/rabbitmq`).uid]).toEqual([0, 0]);
    const audit = readFileSync(`${home}/audit.log`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.at(-1)).toMatchObject({ command: 'deploy', outcome: 'deployed', actor: 'ci-bot', commit: 'c0ffee1' });
    expect(server.dockerCalls().filter((c) => c.startsWith('compose up'))).toEqual(['compose up -d --remove-orphans --wait --wait-timeout 300 ']);
  });

  it('myt deploy again: nothing changed, and it says so', async () => {
    const r = await myt('deploy', NAME);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: nothing changed \(release /);
    expect(server.dockerCalls().filter((c) => c.startsWith('compose up'))).toHaveLength(1);
  });

  it('myt status --format json with the stand-in docker: services, queues from the real rabbitmqctl, data volume, last deploy', async () => {
    const r = await myt('status', NAME, '--format', 'json');
    expect(r.stderr).toBe('');
    const [st] = (JSON.parse(r.stdout) as { platforms: Record<string, unknown>[] }).platforms;
    expect(st).toMatchObject({ platform: NAME, host: `${server.user}@127.0.0.1:${server.port}`, healthy: true, lastDeploy: { actor: 'ci-bot', commit: 'c0ffee1' } });
    expect((st!.services as { service: string; health: string }[]).map((x) => `${x.service}:${x.health}`).sort()).toEqual(['grafana:healthy', 'influxdb:healthy', 'processor-0:healthy', 'rabbitmq:healthy']);
    expect(st!.release).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{12}$/);
    expect(st!.dataVolume).toMatchObject({ usedPercent: expect.any(Number) as number, sizeBytes: expect.any(Number) as number });
    // rabbitmqctl ran (through the stand-in's exec) against this machine's real broker: its JSON was read
    expect(Array.isArray(st!.queues)).toBe(true);
    expect(r.code).toBe(0);
    const text = await myt('status', NAME);
    expect(text.stdout).toMatch(new RegExp(`^${NAME} on \\S+: healthy, release \\S+\\n  rabbitmq +running \\(healthy\\)`));
    expect(text.stdout).toMatch(/last deploy +\S+ by ci-bot \(c0ffee1\): /);
  });

  it('myt redeploy with the stand-in docker: a changed script replaces only the processor', async () => {
    write(`processors/${NAME}.ts`, 'export default (m: { data: Record<string, number> }) => ({ ...m, data: { ...m.data, v: 2 } });\n');
    const r = await myt('redeploy', NAME);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/redeployed the processor: release .* \(processor\/script\.mjs\)/);
    expect(server.dockerCalls().filter((c) => c.startsWith('compose up')).at(-1)).toBe('compose up -d --no-deps --force-recreate --wait --wait-timeout 60 processor-0 ');
  });

  it('myt redeploy of a processor the stand-in docker reports unhealthy: rolled back, the step, host and masked remote output named', async () => {
    const before = readFileSync(`/opt/myt/${NAME}/current/release.json`, 'utf8');
    write(`processors/${NAME}.ts`, "console.log('MYT_STAND_IN_UNHEALTHY');\nexport default (m: unknown) => m;\n");
    resetSecretRegistry(); // as a fresh process: what the deploy above registered is forgotten
    const r = await myt('redeploy', NAME, '--wait', '5');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/rollback: the new processor is not healthy; switching back to release/);
    expect(r.stderr).toMatch(new RegExp(`myt redeploy: error: redeploy of ${NAME} on ${server.user}@127\\.0\\.0\\.1:${server.port} failed and was rolled back to release`));
    expect(r.stderr).toMatch(/docker compose up on .* failed: exit status 1/);
    // the processor's last output named the broker URL: its password is masked
    const generated = JSON.parse(readFileSync(`/opt/myt/${NAME}/secrets/generated.json`, 'utf8')) as { brokerProcessor: string };
    expect(r.stderr).toMatch(/cannot reach the broker at amqp:\/\/myt-processor:\*\*\*@rabbitmq:5672/);
    expect(r.stderr).not.toContain(generated.brokerProcessor);
    expect(readFileSync(`/opt/myt/${NAME}/current/release.json`, 'utf8')).toBe(before);
  });

  it('a server whose host key is not the declared one: the deploy stops before sending anything', async () => {
    write(`platforms/${NAME}.yaml`, platformYaml(generateSshKeyPair('other').publicKey));
    const calls = server.dockerCalls().length;
    const r = await myt('deploy', NAME);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/myt deploy: error: .*: the host key is SHA256:\S+, but MyT knows SHA256:\S+ for this host\. Nothing was sent/);
    expect(server.dockerCalls().length).toBe(calls);
    const st = await myt('status', '--format', 'json');
    expect(st.code).toBe(1);
    expect(JSON.parse(st.stdout)).toMatchObject({ platforms: [{ platform: NAME, healthy: false, error: expect.stringMatching(/the host key is SHA256/) as string }] });
  });

  it('myt status reports a host that does not answer after a short bound, not the deploy\'s two minutes', { timeout: 60_000 }, async () => {
    const declared = readFileSync(join(root, `platforms/${NAME}.yaml`), 'utf8');
    // Port 1 on loopback: nothing listens there, so every attempt is refused and retried.
    write(`platforms/${NAME}.yaml`, declared.replace(`port: ${server.port}`, 'port: 1'));
    try {
      const st = await myt('status', '--format', 'json');
      expect(st.code).toBe(1);
      const [p] = (JSON.parse(st.stdout) as { platforms: { platform: string; healthy: boolean; error: string }[] }).platforms;
      expect(p).toMatchObject({ platform: NAME, healthy: false });
      expect(p!.error).toMatch(/127\.0\.0\.1:1: could not connect over SSH \(tried \d+ times\): .*ECONNREFUSED/);
    } finally {
      write(`platforms/${NAME}.yaml`, declared);
    }
  });

  it('a platform without spec.cloud.hostKey is refused (no trust on first use); myt keys scan prints the line to paste', async () => {
    write(`platforms/${NAME}.yaml`, platformYaml(undefined));
    const r = await myt('deploy', NAME);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`spec\\.cloud\\.hostKey is not declared.*myt keys scan ${NAME}`));
    const scan = await myt('keys', 'scan', NAME);
    expect(scan.code).toBe(0);
    expect(scan.stdout).toBe(`${server.hostKey.publicKey.split(' ').slice(0, 2).join(' ')}\n`);
    expect(scan.stderr).toMatch(/presented the host key above, fingerprint SHA256:\S+\. Check it against the server itself/);
    write(`platforms/${NAME}.yaml`, platformYaml(server.hostKey.publicKey));
  });

  it('myt dump: the influxd backup, streamed over SSH into a local file, with progress and how to restore it', async () => {
    const db = `myt_cli_dump_${NAME}`;
    const q = (text: string) => execFileSync('curl', ['-sf', '-XPOST', 'http://127.0.0.1:8086/query', '--data-urlencode', `q=${text}`]);
    q(`CREATE DATABASE ${db}`);
    try {
      execFileSync('curl', ['-sf', '-XPOST', `http://127.0.0.1:8086/write?db=${db}`, '--data-binary', 'm,sensor=a v=1i 1700000000000000000\nm,sensor=a v=2i 1700000001000000000']);
      const r = await myt('dump', NAME, '--database', db, '-o', 'data.tar.gz');
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${join(root, 'data.tar.gz')}\n`);
      expect(r.stderr).toMatch(/dump: influxdb database myt_cli_dump_\w+, gzip-compressed into /);
      expect(r.stderr).toMatch(/restore with: mkdir d && tar -xzf .*data\.tar\.gz -C d && influxd restore -portable/);
      const listing = execFileSync('tar', ['-tzf', join(root, 'data.tar.gz')], { encoding: 'utf8' });
      expect(listing).toMatch(/\.manifest/);
    } finally {
      q(`DROP DATABASE ${db}`);
    }
    expect((await myt('dump', NAME, '--database', 'x; rm -rf /')).code).toBe(2);
  });

  it('deploy() stopped by its AbortSignal stops at the next step: the lock is released and the running release stays', async () => {
    const before = readFileSync(`/opt/myt/${NAME}/current/release.json`, 'utf8');
    write(`processors/${NAME}.ts`, 'export default (m: unknown) => ({ aborted: m });\n');
    const abort = new AbortController();
    const lines: string[] = [];
    const err = await deploy({
      root,
      platform: NAME,
      env,
      signal: abort.signal,
      onProgress: (l) => {
        lines.push(l);
        if (l.startsWith('bootstrap:')) abort.abort(new Error('stopped by the test'));
      },
    }).then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toBe('stopped by the test');
    expect(lines.at(-1)).toMatch(/^bootstrap: skipped/);
    expect(readFileSync(`/opt/myt/${NAME}/current/release.json`, 'utf8')).toBe(before);
    expect(existsSync(`/opt/myt/${NAME}/lock`)).toBe(false);
    expect(readFileSync(`/opt/myt/${NAME}/audit.log`, 'utf8').trim().split('\n').at(-1)).toMatch(/"outcome":"failed","detail":"stopped by the test"/);
  });

  it('myt deploy --release-lock removes a lock that is held, says whose it was, and logs it', async () => {
    const session = await SshSession.connect({ host: server.host, port: server.port, user: server.user, privateKey: server.login.privateKey, hostKey: server.hostKey.publicKey });
    try {
      const host = new Host(session, defaultLayout(NAME, server.user), (s) => s);
      await acquireLock(host, { actor: 'alice', commit: 'feed123', since: '2030-01-01T00:00:00Z', from: 'laptop', command: 'deploy' });
      expect((await myt('deploy', NAME)).stderr).toMatch(/another deploy holds the lock of this platform: deploy by alice/);
      const r = await myt('deploy', NAME, '--release-lock', '--actor', 'bob');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${NAME}: released the lock held by deploy by alice of commit feed123 from laptop, since 2030-01-01T00:00:00Z\n`);
      expect(existsSync(`/opt/myt/${NAME}/lock`)).toBe(false);
      expect(readFileSync(`/opt/myt/${NAME}/audit.log`, 'utf8').trim().split('\n').at(-1)).toMatch(/"command":"release-lock","actor":"bob".*"outcome":"released the lock"/);
      expect((await myt('deploy', NAME, '--release-lock')).stdout).toBe(`${NAME}: there was no lock\n`);
    } finally {
      session.dispose();
    }
  });

  it('a TLS platform with device users and a Grafana password: the broker certificate is issued for the host once, kept after, and its expiry shown', async () => {
    const tlsName = `${NAME}-tls`;
    write(
      `platforms/${tlsName}.yaml`,
      platformYaml(server.hostKey.publicKey)
        .replace(`name: ${NAME}`, `name: ${tlsName}`)
        .replace('  processor:\n', '  broker:\n    tls: true\n    users: secrets/devices.enc.yaml\n  grafana:\n    credentials: secrets/grafana.enc.yaml\n  processor:\n'),
    );
    await writeNewSecrets(root, 'secrets/devices.enc.yaml', { users: { 'sensor-1': 'device-password-1' } });
    await writeNewSecrets(root, 'secrets/grafana.enc.yaml', { adminPassword: 'grafana-password-1' });
    expect((await myt('tls', 'init', tlsName)).code).toBe(0);
    try {
      const first = await myt('deploy', tlsName);
      expect(first.stderr).not.toMatch(/error/);
      expect(first.code).toBe(0);
      expect(first.stderr).toMatch(/tls: issued the broker's certificate for 127\.0\.0\.1 \(none yet\)/);
      const home = `/opt/myt/${tlsName}`;
      const cert = new X509Certificate(readFileSync(`${home}/secrets/rabbitmq/tls/server.pem`));
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(statSync(`${home}/secrets/rabbitmq/tls/server.key`).uid).toBe(999);
      expect(readFileSync(`${home}/secrets/rabbitmq/users.json`, 'utf8')).toContain('"sensor-1"');
      expect(readFileSync(`${home}/secrets/grafana/admin-password`, 'utf8')).toBe('grafana-password-1');
      // the second deploy keeps the certificate, so nothing changed
      const second = await myt('deploy', tlsName);
      expect(second.stderr).toMatch(/tls: the broker's certificate for 127\.0\.0\.1 is kept/);
      expect(second.stdout).toMatch(/nothing changed/);
      expect(new X509Certificate(readFileSync(`${home}/secrets/rabbitmq/tls/server.pem`)).fingerprint256).toBe(cert.fingerprint256);
      // a changed device password: a new release, the secrets replaced, the services that mount them recreated
      const usersBefore = readFileSync(`${home}/secrets/rabbitmq/users.json`, 'utf8');
      await writeNewSecrets(root, 'secrets/devices.enc.yaml', { users: { 'sensor-1': 'device-password-2' } });
      const third = await myt('deploy', tlsName);
      expect(third.stdout).toMatch(/: deployed release \S+: files unchanged, secrets changed\n$/);
      expect(server.dockerCalls().filter((c) => c.startsWith('compose up')).at(-1)).toBe('compose up -d --no-deps --force-recreate --wait --wait-timeout 300 rabbitmq grafana ');
      const usersAfter = readFileSync(`${home}/secrets/rabbitmq/users.json`, 'utf8');
      expect(usersAfter).not.toBe(usersBefore);
      expect(usersAfter).toContain('"sensor-1"');
      expect(third.stderr).not.toContain('device-password-2');
      const st = JSON.parse((await myt('status', tlsName, '--format', 'json')).stdout) as { platforms: { certificate?: { daysLeft: number; expires: string } }[] };
      expect(st.platforms[0]?.certificate, JSON.stringify(st.platforms[0])).toEqual({ expires: new Date(cert.validTo).toISOString(), daysLeft: expect.any(Number) as number });
      expect(st.platforms[0]!.certificate!.daysLeft).toBeGreaterThanOrEqual(363);
    } finally {
      rmSync(`/opt/myt/${tlsName}`, { recursive: true, force: true });
      rmSync(`/var/lib/myt/${tlsName}`, { recursive: true, force: true });
      rmSync(join(root, 'platforms', `${tlsName}.yaml`));
    }
  });

  it('usage errors: no platform, two platforms, an undeclared one', async () => {
    expect((await myt('deploy')).code).toBe(2);
    expect((await myt('deploy', 'a', 'b')).stderr).toMatch(/one platform at a time/);
    expect((await myt('redeploy', NAME, '--wait', 'soon')).stderr).toMatch(/--wait must be a whole number of seconds/);
    const r = await myt('deploy', 'nosuch');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`no platform named 'nosuch' is declared \\(declared: ${NAME}\\)`));
  });
});

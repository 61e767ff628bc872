// The deploy step's small parts, each against the real thing it must agree with: the shell for
// quoting, GNU tar for the archive, Docker's documented `compose ps --format json` output.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { healthLog, isHealthy, parseComposePs } from '../../src/deploy/compose-cli.js';
import { q } from '../../src/deploy/host.js';
import { fileChanges } from '../../src/deploy/provision.js';
import { fingerprint, parsePublicKeyLine } from '../../src/deploy/ssh.js';
import { resolveTarget } from '../../src/deploy/target.js';
import { tarArchive } from '../../src/deploy/tar.js';
import { resolvePlatform } from '../../src/config/defaults.js';
import { generateSshKeyPair } from '../../src/secrets/ssh-keys.js';

describe('q(): a value reaches the remote shell as one word, unchanged', () => {
  for (const value of ["it's", '$(rm -rf /)', '`id`', 'a b\tc\nd', '"; echo pwned; "', '\\', '', "''", '*']) {
    it(JSON.stringify(value), () => {
      expect(execFileSync('sh', ['-c', `printf '%s' ${q(value)}`], { encoding: 'utf8' })).toBe(value);
    });
  }
});

describe('tarArchive(): what GNU tar unpacks', () => {
  it('gives the same files, modes and contents, with parent folders and long paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'myt-tar-'));
    try {
      const long = `${'a'.repeat(70)}/${'b'.repeat(70)}/file-${'c'.repeat(80)}.json`; // ustar: 155 of prefix, 100 of name
      const binary = Buffer.from([0, 1, 2, 255, 254]);
      const archive = tarArchive([
        { path: 'compose.yaml', content: 'name: x\n' },
        { path: 'database/init.sh', content: '#!/bin/sh\n', mode: 0o755 },
        { path: long, content: 'long\n' },
        { path: 'processor/main.mjs', content: binary },
        { path: 'empty', content: '' },
        { path: 'block', content: 'x'.repeat(512) },
      ]);
      expect(archive.length % 512).toBe(0);
      execFileSync('tar', ['-x', '--no-same-owner', '-f', '-', '-C', dir], { input: archive });
      expect(readFileSync(join(dir, 'compose.yaml'), 'utf8')).toBe('name: x\n');
      expect(statSync(join(dir, 'database/init.sh')).mode & 0o777).toBe(0o755);
      expect(statSync(join(dir, 'compose.yaml')).mode & 0o777).toBe(0o644);
      expect(readFileSync(join(dir, long), 'utf8')).toBe('long\n');
      expect(readFileSync(join(dir, 'processor/main.mjs'))).toEqual(binary);
      expect(readFileSync(join(dir, 'empty'), 'utf8')).toBe('');
      expect(readFileSync(join(dir, 'block'), 'utf8')).toHaveLength(512);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a path ustar cannot hold, saying so', () => {
    expect(() => tarArchive([{ path: `${'a'.repeat(200)}/x`, content: '' }])).toThrow(/path too long for a tar archive/);
  });

  it('refuses paths that could leave the folder', () => {
    for (const path of ['../x', '/etc/passwd', 'a/../../b', 'a//b', './a']) expect(() => tarArchive([{ path, content: '' }])).toThrow(/not a relative path/);
  });
});

describe("parseComposePs(): Docker Compose's documented `ps --format json` output", () => {
  // Compose v2.21+ prints one object per line; earlier v2 releases print one array.
  const running = { Name: 'myt-p-rabbitmq-1', Service: 'rabbitmq', State: 'running', Health: 'healthy', Status: 'Up 2 minutes (healthy)', ExitCode: 0, Publishers: [] };
  const starting = { Name: 'myt-p-processor-0-1', Service: 'processor-0', State: 'running', Health: 'starting', Status: 'Up 3 seconds (health: starting)', ExitCode: 0 };
  const exited = { Name: 'myt-p-grafana-1', Service: 'grafana', State: 'exited', Health: '', Status: 'Exited (1) 5 seconds ago', ExitCode: 1 };
  it('reads one object per line and a JSON array alike', () => {
    const lines = [running, starting, exited].map((c) => JSON.stringify(c)).join('\n');
    expect(parseComposePs(lines)).toEqual(parseComposePs(JSON.stringify([running, starting, exited])));
    expect(parseComposePs(lines).map((c) => [c.Service, isHealthy(c)])).toEqual([
      ['rabbitmq', true],
      ['processor-0', false],
      ['grafana', false],
    ]);
    expect(parseComposePs('')).toEqual([]);
    expect(isHealthy({ ...running, Health: '' })).toBe(true);
  });

  it("reads `docker inspect --format '{{json .State.Health}}'`", () => {
    expect(healthLog('{"Status":"unhealthy","FailingStreak":3,"Log":[{"ExitCode":1,"Output":"fetch failed\\n"},{"ExitCode":1,"Output":"refused"}]}')).toBe('exit 1: fetch failed\nexit 1: refused');
    expect(healthLog('null')).toBe('');
    expect(healthLog('not json')).toBe('');
  });
});

describe('host keys', () => {
  it('parses an OpenSSH line and computes the fingerprint ssh-keygen -l prints', () => {
    const pair = generateSshKeyPair('c');
    const dir = mkdtempSync(join(tmpdir(), 'myt-fp-'));
    try {
      const file = join(dir, 'k.pub');
      execFileSync('sh', ['-c', `printf '%s\\n' "$1" > "$2"`, 'sh', pair.publicKey, file]);
      const fromSshKeygen = execFileSync('ssh-keygen', ['-lf', file], { encoding: 'utf8' }).split(' ')[1];
      expect(fingerprint(parsePublicKeyLine(pair.publicKey)!.blob)).toBe(fromSshKeygen);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a line whose type and key disagree, or no key at all', () => {
    const body = generateSshKeyPair('c').publicKey.split(' ')[1];
    expect(parsePublicKeyLine(`ssh-rsa ${body}`)).toBeUndefined();
    expect(parsePublicKeyLine('ssh-ed25519')).toBeUndefined();
    expect(parsePublicKeyLine(`ssh-ed25519 ${body} comment`)?.type).toBe('ssh-ed25519');
  });
});

it('fileChanges() names added, changed and removed files', () => {
  expect(fileChanges({ a: '1', b: '2', c: '3' }, { a: '1', b: '9', d: '4' })).toEqual(['~b', '+d', '-c']);
  expect(fileChanges(undefined, { a: '1' })).toEqual(['+a']);
});

describe('resolveTarget(): where a platform is reached', () => {
  const login = generateSshKeyPair('login');
  const hostPair = generateSshKeyPair('host');
  const cloud = resolvePlatform({
    apiVersion: 'myt/v1',
    kind: 'Platform',
    metadata: { name: 'greenhouse' },
    spec: { cloud: { provider: 'aws', space: 'home-net' }, database: { engine: 'influxdb' } },
  });
  // A stand-in for readSecrets (src/secrets): the decrypted key file of `myt keys generate`.
  const keyFile = (values: Record<string, unknown>) => (_root: string, file: string) =>
    file === 'secrets/keys/greenhouse.enc.yaml' ? Promise.resolve(values) : Promise.reject(new Error(`unexpected ${file}`));

  it("a cloud VM: its stack's outputs give address, user and data device; the key file gives both keys", async () => {
    const r = await resolveTarget('/repo', cloud, keyFile({ privateKey: login.privateKey, publicKey: login.publicKey, hostPrivateKey: hostPair.privateKey, hostPublicKey: hostPair.publicKey }), {}, {
      public_ip: '203.0.113.9',
      ssh_user: 'ubuntu',
      data_volume_device: '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123',
    });
    expect(r).toEqual({
      target: { host: '203.0.113.9', port: 22, user: 'ubuntu', privateKey: login.privateKey, hostKey: hostPair.publicKey },
      dataDevice: '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123',
    });
  });

  it('a cloud VM without a host key in its key file, or without an applied stack, is refused with what to run', async () => {
    await expect(resolveTarget('/repo', cloud, keyFile({ privateKey: login.privateKey, publicKey: login.publicKey }), {}, { public_ip: '203.0.113.9' })).rejects.toThrow(
      /it has no host key, so the VM could not be verified\. Run 'myt keys generate greenhouse --add-host-key'/,
    );
    await expect(resolveTarget('/repo', cloud, keyFile({ privateKey: login.privateKey, hostPublicKey: hostPair.publicKey }), {}, {})).rejects.toThrow(/has no public_ip output: run 'myt apply greenhouse' first/);
  });

  it('a data volume device in outputs.json that is not a plain /dev/ path is refused before anything runs', async () => {
    const keys = keyFile({ privateKey: login.privateKey, hostPublicKey: hostPair.publicKey });
    for (const device of ['/dev/sdb; mkfs.ext4 /dev/sda', '/dev/$(id)', '/dev/../etc/passwd', 'sdb', '/dev/', '/dev/a b']) {
      await expect(resolveTarget('/repo', cloud, keys, {}, { public_ip: '203.0.113.9', data_volume_device: device })).rejects.toThrow(
        /greenhouse: its stack's data_volume_device output .* is not a device path under \/dev\/: run 'myt apply greenhouse' again/,
      );
    }
    for (const device of ['/dev/disk/by-id/google-myt-data', '/dev/disk/by-id/virtio-0123abcd-ef', '/dev/nvme1n1']) {
      expect((await resolveTarget('/repo', cloud, keys, {}, { public_ip: '203.0.113.9', data_volume_device: device })).dataDevice).toBe(device);
    }
  });
});

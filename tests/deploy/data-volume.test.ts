// The bootstrap's data volume, on a real block device: a loop device over a file stands in for the
// cloud disk (same kernel block device, same blkid, mkfs and mount). Run over the loopback sshd as
// root through sudo, as on a VM; the fstab is a file of the test's, not this machine's /etc/fstab.
// Docker cannot run here: `docker` on the host is the tests' stand-in (tests/helpers/docker-stand-in.sh).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dataDirectories } from '../../src/bundle/compose.js';
import { renderConfigFiles, type BundleFile } from '../../src/bundle/render.js';
import { generateSecrets, renderSecretFiles } from '../../src/bundle/secret-files.js';
import { resolvePlatform } from '../../src/config/defaults.js';
import { Host, type HostLayout } from '../../src/deploy/host.js';
import { provision } from '../../src/deploy/provision.js';
import { SshSession } from '../../src/deploy/ssh.js';
import { describeNeeding } from '../helpers/needs.js';
import { SSHD_NEED, startSshServer, type TestSshServer } from '../helpers/ssh-server.js';

const loopNeed = {
  what: 'loop devices (losetup, mount) as root',
  present: SSHD_NEED.present && existsSync('/dev/loop-control') && spawnSync('losetup', ['--find']).status === 0,
};
const NAME = 'volume';
const platform = resolvePlatform({
  apiVersion: 'myt/v1',
  kind: 'Platform',
  metadata: { name: NAME },
  spec: { cloud: { provider: 'ssh', host: '127.0.0.1', user: 'u', key: 'k.enc.yaml' }, database: { engine: 'influxdb' } },
});
const generated = generateSecrets();
let server: TestSshServer;
let dir: string;
let device: string;
let layout: HostLayout;

async function deploy(marker: string, dataDevice = device): Promise<string[]> {
  const lines: string[] = [];
  const session = await SshSession.connect({ host: server.host, port: server.port, user: server.user, privateKey: server.login.privateKey, hostKey: server.hostKey.publicKey });
  try {
    const files: BundleFile[] = [...renderConfigFiles(platform), { path: 'processor/main.mjs', content: marker }];
    await provision({
      host: new Host(session, layout, (s) => s),
      platform: NAME,
      files,
      secretFiles: () => Promise.resolve(renderSecretFiles(platform, { generated })),
      dataDirs: dataDirectories(platform),
      processorServices: ['processor-0'],
      progress: (l) => lines.push(l),
      waitSeconds: 10,
      dataDevice,
      dataDeviceWaitSeconds: 2,
    });
  } finally {
    session.dispose();
  }
  return lines;
}

const mounted = () => spawnSync('mountpoint', ['-q', layout.dataRoot]).status === 0;
const umount = () => mounted() && execFileSync('umount', [layout.dataRoot]);

describeNeeding(loopNeed, 'the data volume over a real sshd, on a loop device (docker is a stand-in)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'myt-volume-'));
    execFileSync('truncate', ['-s', '48M', join(dir, 'disk.img')]);
    device = execFileSync('losetup', ['--find', '--show', join(dir, 'disk.img')], { encoding: 'utf8' }).trim();
    layout = { home: join(dir, 'opt'), dataRoot: join(dir, 'data'), sudo: true, chown: true, fstab: join(dir, 'fstab') };
    writeFileSync(layout.fstab, '# test fstab\n');
    server = await startSshServer({ sudo: true });
  }, 30_000);
  afterAll(async () => {
    umount();
    if (device) spawnSync('losetup', ['-d', device]);
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an empty volume is formatted once, recorded in fstab by UUID and mounted', async () => {
    const lines = await deploy('v1');
    expect(lines).toContain(`bootstrap: formatting the empty data volume ${device} (ext4)`);
    const uuid = execFileSync('blkid', ['-p', '-s', 'UUID', '-o', 'value', device], { encoding: 'utf8' }).trim();
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines).toContain(`bootstrap: mounted at ${layout.dataRoot} by UUID ${uuid}`);
    expect(readFileSync(layout.fstab, 'utf8')).toBe(`# test fstab\nUUID=${uuid} ${layout.dataRoot} auto defaults,nofail 0 2\n`);
    expect(mounted()).toBe(true);
    // the platform's data directories are on the volume
    expect(existsSync(join(layout.dataRoot, NAME, 'influxdb'))).toBe(true);
  });

  it('a volume that holds data is never formatted again: the data stays, the fstab line is not doubled', async () => {
    const uuid = execFileSync('blkid', ['-p', '-s', 'UUID', '-o', 'value', device], { encoding: 'utf8' }).trim();
    writeFileSync(join(layout.dataRoot, NAME, 'influxdb', 'precious'), 'readings');
    umount(); // as after a reboot that did not mount it
    const lines = await deploy('v2');
    expect(lines).toContain(`bootstrap: the data volume ${device} has a filesystem: kept as it is`);
    expect(lines.join('\n')).not.toMatch(/formatting/);
    expect(readFileSync(join(layout.dataRoot, NAME, 'influxdb', 'precious'), 'utf8')).toBe('readings');
    expect(execFileSync('blkid', ['-p', '-s', 'UUID', '-o', 'value', device], { encoding: 'utf8' }).trim()).toBe(uuid);
    expect(readFileSync(layout.fstab, 'utf8').match(/UUID=/g)).toHaveLength(1);
  });

  it('a device that never appears stops the bootstrap with the step and host named', async () => {
    const err = await deploy('v3', '/dev/myt-no-such-disk').then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/^bootstrap \(data volume\) on myt\w+@127\.0\.0\.1:\d+ failed: exit status 1\n {2}\| the data volume \/dev\/myt-no-such-disk did not appear/);
  });

  it('a device name with shell syntax reaches the host as data, never as a command (not even in a message)', async () => {
    const marker = join(dir, 'injected');
    const device = `/dev/myt-no-such-disk"$(touch ${marker})"`;
    const err = await deploy('v4', device).then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toContain(`| the data volume ${device} did not appear`);
    expect(existsSync(marker)).toBe(false);
  });
});

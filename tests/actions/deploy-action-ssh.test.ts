// The bundled deploy action (actions/deploy/dist/index.js) run as the runner runs it, from a copy of
// actions/ with no node_modules, deploying and then redeploying an existing-server platform over a
// real OpenSSH server on loopback (as tests/deploy/deploy-cli.test.ts does for the CLI). Docker
// cannot run here: the host's `docker` is the STAND-IN of tests/helpers/docker-stand-in.sh.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateAgeKeyPair } from '../../src/secrets/age-keys.js';
import { writeNewSecrets } from '../../src/secrets/operations.js';
import { sopsConfigText } from '../../src/secrets/sops-config.js';
import { runAction } from '../helpers/action-runner.js';
import { gitHistory, type History } from '../helpers/git-history.js';
import { describeNeeding } from '../helpers/needs.js';
import { SSHD_NEED, startSshServer, type TestSshServer } from '../helpers/ssh-server.js';

const NAME = `t${randomBytes(4).toString('hex')}`;
let server: TestSshServer;
let h: History;
let ageKey: string;

describeNeeding(SSHD_NEED, 'the deploy action, bundled, over a real OpenSSH server on loopback (docker is a stand-in)', () => {
  beforeAll(async () => {
    server = await startSshServer({ sudo: true, cleanup: [`/opt/myt/${NAME}`, `/var/lib/myt/${NAME}`] });
    const age = await generateAgeKeyPair();
    ageKey = age.identity;
    h = gitHistory({
      '.sops.yaml': sopsConfigText([age.recipient]),
      '.gitignore': '.myt/\n',
      [`processors/${NAME}.ts`]: 'export default (m: unknown) => m;\n',
      [`platforms/${NAME}.yaml`]: `apiVersion: myt/v1
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
    hostKey: ${server.hostKey.publicKey}
  database:
    engine: influxdb
  processor:
    script: processors/${NAME}.ts
`,
    });
    await writeNewSecrets(h.root, 'secrets/ssh.enc.yaml', { privateKey: server.login.privateKey, publicKey: server.login.publicKey });
    h.commit('ssh key', {});
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    spawnSync('rmdir', ['/opt/myt', '/var/lib/myt']);
  });

  it('deploys, then redeploys only the processor when only the script changed, and reports each in the job summary', async () => {
    const first = h.git('rev-parse', 'HEAD');
    const env = { SOPS_AGE_KEY: ageKey, GITHUB_ACTOR: 'octocat' };
    const one = await runAction('deploy', { workspace: h.root, sha: first, inputs: { deploy: NAME, redeploy: '' }, env });
    const log = one.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    expect(one.code, log.join('\n')).toBe(0);
    expect(one.outputs.failed).toBe('[]');
    expect(log.some((l) => l.startsWith(`[${NAME}] connect:`))).toBe(true);
    expect(one.summary).toContain(`✅ `);
    expect(one.summary).toContain(`${server.user}@127.0.0.1:${server.port}`);
    const audit = readFileSync(`/opt/myt/${NAME}/audit.log`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.at(-1)).toMatchObject({ command: 'deploy', outcome: 'deployed', actor: 'octocat', commit: first });
    // The login key never reaches the log.
    const privateLine = server.login.privateKey.split('\n')[1]!;
    expect(log.join('\n')).not.toContain(privateLine);

    const second = h.commit('script', { [`processors/${NAME}.ts`]: 'export default (m: { data: object }) => ({ ...m, data: { ...m.data, v: 2 } });\n' });
    const two = await runAction('deploy', { workspace: h.root, sha: second, inputs: { deploy: '', redeploy: NAME }, env });
    expect(two.code, two.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')).toBe(0);
    expect(server.dockerCalls().filter((c) => c.startsWith('compose up')).at(-1)).toBe('compose up -d --no-deps --force-recreate --wait --wait-timeout 60 processor-0 ');
    expect(readFileSync(`/opt/myt/${NAME}/current/processor/script.mjs`, 'utf8')).toContain('v: 2');
  }, 240_000);
});

// A repository started from the examples, as a new user makes one: its secrets are encrypted to the
// public demo key. `myt secrets init` gives it a key of its own; validate and edit must then say
// which files are still open to the demo key, and `myt secrets updatekeys` must close them.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptSops } from 'sops-age';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { parseIdentities, unwrapDataKey } from '../../src/secrets/age-keys.js';
import { DEMO_RECIPIENT } from '../../src/secrets/demo-key.js';
import { readSecrets, resetSecretRegistry } from '../../src/secrets/index.js';
import { writeNewSecrets } from '../../src/secrets/operations.js';
import { sopsConfigText } from '../../src/secrets/sops-config.js';
import { decryptData, readMetadata } from '../../src/secrets/sops-file.js';
import { parseTree } from '../../src/secrets/sops-tree.js';
import { cliContext, envWithKey, keyPair, tempRepo as secretsRepo, type TempRepo } from './helpers.js';

const PROJECT = join(import.meta.dirname, '../..');
const DEMO_IDENTITY = parseIdentities(readFileSync(join(PROJECT, 'examples/demo.agekey'), 'utf8'))[0]!;
const made: string[] = [];
let repo: TempRepo | undefined;

afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  repo?.remove();
  repo = undefined;
  resetSecretRegistry();
});

/** A copy of this repository's declarations and secrets: what a new user starts from. */
function repoFromExamples(): string {
  const root = mkdtempSync(join(tmpdir(), 'myt-from-examples-'));
  made.push(root);
  mkdirSync(join(root, '.git'));
  for (const entry of ['platforms', 'processors', 'secrets', '.sops.yaml']) cpSync(join(PROJECT, entry), join(root, entry), { recursive: true });
  return root;
}

async function myt(root: string, args: string[], env: NodeJS.ProcessEnv) {
  const ctx = cliContext(root, env);
  const code = await runCli(args, ctx);
  return { code, out: ctx.out.join(''), err: ctx.err.join('') };
}

function secretFiles(root: string): string[] {
  return ['aws', 'gcp', 'grafana', 'openstack', 'rabbitmq', 'ssh', 'keys/factory', 'keys/fleet', 'keys/greenhouse', 'keys/weather'].map((n) => `secrets/${n}.enc.yaml`).filter((f) => existsSync(join(root, f)));
}

async function sopsAgeOpens(text: string, identity: string): Promise<boolean> {
  return decryptSops(text, { secretKey: identity, fileType: 'yaml' }).then(
    () => true,
    () => false,
  );
}

describe('a repository started from the examples, after myt secrets init', () => {
  it('validate names every file still encrypted to the demo key, with or without a key at hand', async () => {
    const root = repoFromExamples();
    const keyFile = join(mkdtempSync(join(tmpdir(), 'myt-own-key-')), 'keys.txt');
    made.push(join(keyFile, '..'));
    expect((await myt(root, ['secrets', 'init', '--key-file', keyFile], {})).code).toBe(0);
    for (const env of [{ PATH: '' }, { PATH: '', SOPS_AGE_KEY_FILE: keyFile }]) {
      const r = await myt(root, ['validate', '--offline', '--no-typecheck'], env);
      expect(r.code).toBe(1);
      const line = readFileSync(join(root, 'platforms/spaces/home-net.yaml'), 'utf8').split('\n').findIndex((l) => l.includes('credentials:')) + 1;
      expect(r.out).toContain(
        `platforms/spaces/home-net.yaml:${line}:16: error: spec.credentials: secrets/aws.enc.yaml: it is still encrypted to the public DEMO key (examples/demo.agekey), which anyone can decrypt`,
      );
      expect(r.out).toContain("run 'myt secrets updatekeys secrets/aws.enc.yaml'");
    }
  });

  it('edit refuses to put new values into a file the demo key still opens', async () => {
    const root = repoFromExamples();
    const own = await keyPair();
    writeFileSync(join(root, '.sops.yaml'), sopsConfigText([own.recipient]));
    const before = readFileSync(join(root, 'secrets/grafana.enc.yaml'), 'utf8');
    const editor = join(root, 'editor.sh');
    writeFileSync(editor, `#!/bin/sh\necho called > '${join(root, 'editor-called')}'\nprintf 'adminPassword: brand-new-real-password\\n' > "$1"\n`);
    chmodSync(editor, 0o755);
    const r = await myt(root, ['secrets', 'edit', 'secrets/grafana.enc.yaml'], envWithKey(`${DEMO_IDENTITY}\n${own.identity}`, { EDITOR: editor, PATH: process.env.PATH }));
    expect(r.code).toBe(1);
    expect(r.err).toContain('secrets/grafana.enc.yaml: it is still encrypted to the public DEMO key');
    expect(existsSync(join(root, 'editor-called'))).toBe(false);
    expect(readFileSync(join(root, 'secrets/grafana.enc.yaml'), 'utf8')).toBe(before);
  });

  it('updatekeys re-encrypts every file to the new key: it opens with it, no longer with examples/demo.agekey, nor with the old data key', async () => {
    const root = repoFromExamples();
    const keyFile = join(mkdtempSync(join(tmpdir(), 'myt-own-key-')), 'keys.txt');
    made.push(join(keyFile, '..'));
    expect((await myt(root, ['secrets', 'init', '--key-file', keyFile], {})).code).toBe(0);
    const [own] = parseIdentities(readFileSync(keyFile, 'utf8'));
    const files = secretFiles(root);
    expect(files.length).toBeGreaterThanOrEqual(6);
    const before = new Map(files.map((f) => [f, readFileSync(join(root, f), 'utf8')]));
    const plain = new Map<string, unknown>();
    for (const f of files) plain.set(f, await decryptSops(before.get(f)!, { secretKey: DEMO_IDENTITY, fileType: 'yaml' }));

    // The demo key is needed once, to open the files; the new one comes from the keys file.
    const r = await myt(root, ['secrets', 'updatekeys'], { PATH: '', SOPS_AGE_KEY: DEMO_IDENTITY, SOPS_AGE_KEY_FILE: keyFile });
    expect(r.err).not.toContain('error');
    expect(r.code).toBe(0);
    for (const f of files) expect(r.err).toContain(`${f}: re-encrypted with a new data key`);
    expect(r.err).toMatch(/The removed keys \(the public demo key: anyone\) can still read these files' earlier versions in git history/);

    for (const f of files) {
      const after = readFileSync(join(root, f), 'utf8');
      expect(after).not.toContain(DEMO_RECIPIENT);
      // An independent reader agrees: the new key opens it to the same data, the demo key does not.
      expect(await decryptSops(after, { secretKey: own!, fileType: 'yaml' })).toEqual(plain.get(f));
      expect(await sopsAgeOpens(after, DEMO_IDENTITY)).toBe(false);
      await expect(readSecrets(root, f, { env: envWithKey(DEMO_IDENTITY) })).rejects.toThrow(/it is encrypted for the age recipient age1/);
      // Whoever unwrapped the old data key with the demo key (it stays in git history) cannot read the new values.
      const oldDoc = parseTree(before.get(f)!, 'yaml');
      const oldKey = await unwrapDataKey(readMetadata(oldDoc).age[0]!.enc, [DEMO_IDENTITY]);
      expect(oldKey).toBeDefined();
      const newDoc = parseTree(after, 'yaml');
      expect(() => decryptData(newDoc, readMetadata(newDoc), oldKey!)).toThrow(/fails to decrypt/);
    }

    const valid = await myt(root, ['validate', '--offline', '--no-typecheck'], { PATH: '', SOPS_AGE_KEY_FILE: keyFile });
    expect(valid.out).toMatch(/^all valid/m);
    expect(valid.code).toBe(0);
    expect(valid.err).not.toContain('DEMO');
    // Nothing left to do.
    const again = await myt(root, ['secrets', 'updatekeys'], { PATH: '', SOPS_AGE_KEY_FILE: keyFile });
    expect(again.code).toBe(0);
    expect(again.err).toContain('secrets/aws.enc.yaml: already encrypted for the recipients .sops.yaml names');
  });

  it('encrypt, edit and keys generate refuse the demo key while .sops.yaml still names it, unless --allow-demo-key', async () => {
    const root = repoFromExamples();
    writeFileSync(join(root, 'secrets/new.enc.yaml'), 'token: would-be-readable-by-anyone\n');
    const enc = await myt(root, ['secrets', 'encrypt', 'secrets/new.enc.yaml'], { PATH: '' });
    expect(enc.code).toBe(1);
    expect(enc.err).toContain('secrets/new.enc.yaml: it would be encrypted to the public DEMO key (examples/demo.agekey), which anyone can decrypt');
    expect(readFileSync(join(root, 'secrets/new.enc.yaml'), 'utf8')).toBe('token: would-be-readable-by-anyone\n');
    const keys = await myt(root, ['keys', 'generate', 'probe'], { PATH: '' });
    expect(keys.code).toBe(1);
    expect(existsSync(join(root, 'secrets/keys/probe.enc.yaml'))).toBe(false);
    const edit = await myt(root, ['secrets', 'edit', 'secrets/grafana.enc.yaml'], { PATH: '', SOPS_AGE_KEY: DEMO_IDENTITY, EDITOR: 'false' });
    expect(edit.code).toBe(1);
    expect(edit.err).toContain('it would be encrypted to the public DEMO key');

    const allowed = await myt(root, ['secrets', 'encrypt', '--allow-demo-key', 'secrets/new.enc.yaml'], { PATH: '' });
    expect(allowed.code).toBe(0);
    expect(allowed.err).toContain('warning: .sops.yaml encrypts to the public DEMO key');
  });
});

describe('myt secrets updatekeys', () => {
  it('when a recipient is only added, wraps the same data key for it: values, lastmodified and MAC stay, and the MAC still checks', async () => {
    const [alice, bob] = [await keyPair(), await keyPair()];
    repo = secretsRepo([alice.recipient]);
    await writeNewSecrets(repo.root, 'secrets/db.enc.yaml', { password: 'shared-db-password', port: 5432 });
    const before = repo.read('secrets/db.enc.yaml');
    repo.write('.sops.yaml', sopsConfigText([alice.recipient, bob.recipient]));
    const r = await myt(repo.root, ['secrets', 'updatekeys', 'secrets/db.enc.yaml'], envWithKey(alice.identity));
    expect(r).toMatchObject({ code: 0, err: `secrets/db.enc.yaml: data key wrapped for ${bob.recipient} too (values unchanged)\n` });
    const after = repo.read('secrets/db.enc.yaml');
    const kept = (text: string) => text.split('\n').filter((l) => /^(password|port):|^ {4}(lastmodified|mac):/.test(l));
    expect(kept(after)).toEqual(kept(before));
    expect(kept(after)).toHaveLength(4);
    for (const key of [alice, bob]) {
      expect(await readSecrets(repo.root, 'secrets/db.enc.yaml', { env: envWithKey(key.identity) })).toEqual({ password: 'shared-db-password', port: 5432 });
      expect(await decryptSops(after, { secretKey: key.identity, fileType: 'yaml' })).toEqual({ password: 'shared-db-password', port: 5432 });
    }
  });

  it('needs a key that opens the file, and leaves it as it was without one', async () => {
    const [alice, bob] = [await keyPair(), await keyPair()];
    repo = secretsRepo([alice.recipient]);
    await writeNewSecrets(repo.root, 'secrets/db.enc.yaml', { password: 'shared-db-password' });
    const before = repo.read('secrets/db.enc.yaml');
    repo.write('.sops.yaml', sopsConfigText([bob.recipient]));
    const r = await myt(repo.root, ['secrets', 'updatekeys'], envWithKey(bob.identity));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`myt secrets updatekeys: error: secrets/db.enc.yaml: it is encrypted for the age recipient ${alice.recipient}`);
    expect(repo.read('secrets/db.enc.yaml')).toBe(before);
  });
});

describe('recipients that differ from .sops.yaml', () => {
  it('are reported by validate at the referencing line, without a key', async () => {
    const [alice, bob] = [await keyPair(), await keyPair()];
    repo = secretsRepo([alice.recipient]);
    await writeNewSecrets(repo.root, 'secrets/grafana.enc.yaml', { adminPassword: 'grafana-admin-pw' });
    await writeNewSecrets(repo.root, 'secrets/ssh.enc.yaml', { privateKey: 'x', publicKey: 'y' });
    repo.write('.sops.yaml', sopsConfigText([bob.recipient]));
    repo.write(
      'platforms/solo.yaml',
      'apiVersion: myt/v1\nkind: Platform\nmetadata:\n  name: solo\nspec:\n  cloud: { provider: ssh, host: 127.0.0.1, user: myt, key: secrets/ssh.enc.yaml }\n  database: { engine: influxdb }\n  grafana:\n    credentials: secrets/grafana.enc.yaml\n',
    );
    const r = await myt(repo.root, ['validate'], { PATH: '' });
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `platforms/solo.yaml:9:18: error: spec.grafana.credentials: secrets/grafana.enc.yaml: it is encrypted for ${alice.recipient}, but the .sops.yaml rule for it (path_regex '^secrets/') names ${bob.recipient}: run 'myt secrets updatekeys secrets/grafana.enc.yaml'`,
    );
  });

  it('make edit warn that it keeps the file’s own recipients', async () => {
    const [alice, bob] = [await keyPair(), await keyPair()];
    repo = secretsRepo([alice.recipient]);
    await writeNewSecrets(repo.root, 'secrets/e.enc.yaml', { password: 'old-password-value' });
    repo.write('.sops.yaml', sopsConfigText([bob.recipient]));
    const r = await myt(repo.root, ['secrets', 'edit', 'secrets/e.enc.yaml'], envWithKey(alice.identity, { EDITOR: 'true', PATH: process.env.PATH }));
    expect(r.code).toBe(0);
    expect(r.err).toContain(`warning: secrets/e.enc.yaml: it is encrypted for ${alice.recipient}, but the .sops.yaml rule for it`);
    expect(r.err).toContain("this edit keeps the file's recipients");
  });
});

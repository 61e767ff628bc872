// myt secrets and myt keys as a person runs them: real files, a real editor process (a shell
// script standing in for the person typing), memory-backed storage in /dev/shm.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptSops } from 'sops-age';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { runCli } from '../../src/cli/main.js';
import { resetSecretRegistry } from '../../src/secrets/index.js';
import { editSecrets, fileRef, writeNewSecrets } from '../../src/secrets/operations.js';
import { HOST_KEY_FIELDS, sshKeyProblems } from '../../src/secrets/ssh-keys.js';
import { generateSshKeyPair } from '../../src/secrets/index.js';
import { recipientOf, type AgeKeyPair } from '../../src/secrets/age-keys.js';
import { cliContext, envWithKey, keyPair, tempRepo, type TempRepo } from './helpers.js';

let key: AgeKeyPair;
let repo: TempRepo;
beforeAll(async () => {
  key = await keyPair();
});
afterEach(() => {
  repo?.remove();
  resetSecretRegistry();
});

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const hasShm = existsSync('/dev/shm');

async function myt(args: string[], env: NodeJS.ProcessEnv) {
  const ctx = cliContext(repo.root, env);
  const code = await runCli(args, ctx);
  return { code, out: ctx.out.join(''), err: ctx.err.join('') };
}

/** A shell script used as $EDITOR: logs the file it was given and its mode, then runs `body`. */
function editor(body: string): { env: NodeJS.ProcessEnv; log: () => string[] } {
  const script = repo.write('editor.sh', `#!/bin/sh\nprintf '%s %s\\n' "$1" "$(stat -c %a "$1")" >> '${join(repo.root, 'editor.log')}'\n${body}\n`);
  chmodSync(script, 0o755);
  return { env: envWithKey(key.identity, { EDITOR: script, PATH: process.env.PATH }), log: () => repo.read('editor.log').trim().split('\n') };
}

describe('myt secrets', () => {
  it('init makes a key pair: private key appended (0600) to the sops keys file, .sops.yaml written, public key printed', async () => {
    repo = tempRepo([]);
    const xdg = join(repo.root, '..', `${repo.root.split('/').pop()}-xdg`);
    const r = await myt(['secrets', 'init'], { XDG_CONFIG_HOME: xdg });
    expect(r.code).toBe(0);
    const recipient = r.out.trim();
    expect(recipient).toMatch(/^age1[a-z0-9]{58}$/);
    const keysFile = join(xdg, 'sops/age/keys.txt');
    expect(statSync(keysFile).mode & 0o777).toBe(0o600);
    expect(execFileSync('cat', [keysFile], { encoding: 'utf8' })).toMatch(new RegExp(`# public key: ${recipient}\\nAGE-SECRET-KEY-1[0-9A-Z]+\\n$`));
    expect(repo.read('.sops.yaml')).toContain(`age: ${recipient}`);
    expect(r.err).toContain('repository secret SOPS_AGE_KEY');
    expect(r.out).not.toContain('AGE-SECRET-KEY');
    // the new key works end to end, found where sops looks for it
    repo.write('secrets/new.enc.yaml', 'token: fresh-token-value\n');
    expect((await myt(['secrets', 'encrypt', 'secrets/new.enc.yaml'], { XDG_CONFIG_HOME: xdg })).code).toBe(0);
    expect(repo.read('secrets/new.enc.yaml')).not.toContain('fresh-token-value');
    const dec = await myt(['secrets', 'decrypt', 'secrets/new.enc.yaml'], { XDG_CONFIG_HOME: xdg });
    expect(dec.out).toBe('token: fresh-token-value\n');
    execFileSync('rm', ['-rf', xdg]);
  });

  it('a second init is refused without --force; with it, the GitHub line picks the key .sops.yaml names, not the newest', async () => {
    repo = tempRepo([]);
    const keysFile = join(mkdtempSync(join(tmpdir(), 'myt-keys-')), 'keys.txt');
    const first = await myt(['secrets', 'init', '--key-file', keysFile], {});
    expect(first.code).toBe(0);
    const config = repo.read('.sops.yaml');
    const keys = execFileSync('cat', [keysFile], { encoding: 'utf8' });

    const again = await myt(['secrets', 'init', '--key-file', keysFile], {});
    expect(again.code).toBe(1);
    expect(again.err).toContain(`.sops.yaml already encrypts to ${first.out.trim()}: this repository has its key, and a new one would decrypt nothing`);
    expect(execFileSync('cat', [keysFile], { encoding: 'utf8' })).toBe(keys);

    const forced = await myt(['secrets', 'init', '--key-file', keysFile, '--force'], {});
    expect(forced.code).toBe(0);
    expect(forced.out.trim()).not.toBe(first.out.trim());
    expect(repo.read('.sops.yaml')).toBe(config);
    expect(forced.err).toContain(`add ${forced.out.trim()} to the age recipients of its rules, then run 'myt secrets updatekeys'`);
    // The printed command, run without its last stage (gh), yields the key whose recipient .sops.yaml names.
    const line = forced.err.split('\n').find((l) => l.includes('gh secret set SOPS_AGE_KEY'))!;
    const picked = execFileSync('sh', ['-c', line.replace(/\s*\|\s*gh secret set SOPS_AGE_KEY\s*$/, '')], { encoding: 'utf8' }).trim();
    expect(picked).toMatch(/^AGE-SECRET-KEY-1/);
    expect(await recipientOf(picked)).toBe(first.out.trim());
    rmSync(join(keysFile, '..'), { recursive: true, force: true });
  });

  it('init refuses to keep the private key inside the repository', async () => {
    repo = tempRepo([]);
    const r = await myt(['secrets', 'init', '--key-file', 'keys.txt'], {});
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/is inside the repository: keep the private key outside it/);
    expect(existsSync(join(repo.root, 'keys.txt'))).toBe(false);
  });

  it('encrypt works in place by .sops.yaml rule and refuses a file already encrypted', async () => {
    repo = tempRepo([key.recipient]);
    repo.write('secrets/db.enc.yaml', 'password: db-password-value\n');
    const first = await myt(['secrets', 'encrypt', 'secrets/db.enc.yaml'], envWithKey(undefined));
    expect(first).toMatchObject({ code: 0, out: '' });
    expect(first.err).toBe('encrypted secrets/db.enc.yaml for 1 age recipient\n');
    const text = repo.read('secrets/db.enc.yaml');
    expect(await decryptSops(text, { secretKey: key.identity, fileType: 'yaml' })).toEqual({ password: 'db-password-value' });
    const again = await myt(['secrets', 'encrypt', 'secrets/db.enc.yaml'], envWithKey(undefined));
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/secrets\/db\.enc\.yaml: it is already encrypted/);
    expect(repo.read('secrets/db.enc.yaml')).toBe(text);
  });

  it('encrypt says when no .sops.yaml rule matches the file', async () => {
    repo = tempRepo([key.recipient]);
    repo.write('config/other.yaml', 'password: x-value-here\n');
    const r = await myt(['secrets', 'encrypt', 'config/other.yaml'], envWithKey(undefined));
    expect(r.code).toBe(1);
    expect(r.err).toContain('.sops.yaml: no creation rule matches config/other.yaml');
    expect(repo.read('config/other.yaml')).toBe('password: x-value-here\n');
  });

  it('decrypt prints to standard output and writes a file only with --out, with a warning', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/a.enc.yaml', { user: 'u-name', password: 'printed-on-request' });
    const r = await myt(['secrets', 'decrypt', 'secrets/a.enc.yaml'], envWithKey(key.identity));
    expect(r).toEqual({ code: 0, out: 'user: u-name\npassword: printed-on-request\n', err: '' });
    const outside = join(mkdtempSync(join(tmpdir(), 'myt-plain-')), 'plain.yaml');
    const o = await myt(['secrets', 'decrypt', 'secrets/a.enc.yaml', '--out', outside], envWithKey(key.identity));
    expect(o.code).toBe(0);
    expect(o.out).toBe('');
    expect(o.err).toMatch(/^warning: wrote the decrypted secrets of secrets\/a\.enc\.yaml to .*plain\.yaml in plain text/);
    expect(statSync(outside).mode & 0o777).toBe(0o600);
    rmSync(outside);
  });

  it('decrypt --out refuses a file inside the repository and an existing file', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/a.enc.yaml', { password: 'never-on-disk' });
    const inRepo = await myt(['secrets', 'decrypt', 'secrets/a.enc.yaml', '--out', 'plain.yaml'], envWithKey(key.identity));
    expect(inRepo.code).toBe(1);
    expect(inRepo.err).toContain('is inside the repository');
    expect(existsSync(join(repo.root, 'plain.yaml'))).toBe(false);
    const taken = join(mkdtempSync(join(tmpdir(), 'myt-plain-')), 'taken.yaml');
    writeFileSync(taken, 'keep me\n');
    const over = await myt(['secrets', 'decrypt', 'secrets/a.enc.yaml', '--out', taken], envWithKey(key.identity));
    expect(over.code).toBe(1);
    expect(over.err).toContain('exists already');
    rmSync(taken);
  });

  it('decrypt --out and init --key-file refuse a path that ends up in the repository: a name starting with "..", or through a symbolic link', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/a.enc.yaml', { password: 'never-on-disk' });
    const outside = mkdtempSync(join(tmpdir(), 'myt-links-'));
    symlinkSync(repo.root, join(outside, 'into-repo'));
    symlinkSync(join(repo.root, 'plain-by-link.yaml'), join(outside, 'dangling-into-repo.yaml'));
    try {
      for (const out of ['..aws-plain.yaml', join(outside, 'into-repo', 'plain.yaml')]) {
        const r = await myt(['secrets', 'decrypt', 'secrets/a.enc.yaml', '--out', out], envWithKey(key.identity));
        expect(r.code).toBe(1);
        expect(r.err).toContain('is inside the repository');
      }
      for (const keyFile of ['..keys.txt', join(outside, 'into-repo', 'keys.txt'), join(outside, 'dangling-into-repo.yaml')]) {
        const r = await myt(['secrets', 'init', '--key-file', keyFile], {});
        expect(r.code).toBe(1);
        expect(r.err).toContain('is inside the repository: keep the private key outside it');
      }
      expect(readdirSync(repo.root).sort()).toEqual(['.git', '.sops.yaml', 'secrets']);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('has --help, and rejects an unknown action as a usage error', async () => {
    repo = tempRepo([]);
    expect((await myt(['secrets', '--help'], {})).out).toMatch(/^Usage: myt secrets <init\|encrypt\|decrypt\|edit\|updatekeys>/);
    const bad = await myt(['secrets', 'rotate', 'x'], {});
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("unknown action 'rotate'");
  });
});

describeNeeding({ what: '/dev/shm', present: hasShm }, 'myt secrets edit', () => {
  it('edits a 0600 copy in /dev/shm, re-encrypts with the same data key, and scrubs the copy', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/e.enc.yaml', { password: 'old-password-value', keep: 'kept-value' });
    const before = repo.read('secrets/e.enc.yaml');
    const ed = editor(`sed -i 's/old-password-value/new-password-value/' "$1"`);
    const r = await myt(['secrets', 'edit', 'secrets/e.enc.yaml'], ed.env);
    expect(r.code).toBe(0);
    expect(r.err).toBe('secrets/e.enc.yaml: re-encrypted\n');
    const [line] = ed.log();
    const [path, mode] = line!.split(' ');
    expect(path).toMatch(/^\/dev\/shm\/myt-secrets-[^/]+\/e\.enc\.yaml$/);
    expect(mode).toBe('600');
    expect(existsSync(path!)).toBe(false);
    expect(existsSync(join(path!, '..'))).toBe(false);
    const after = repo.read('secrets/e.enc.yaml');
    expect(after).not.toContain('new-password-value');
    expect(await decryptSops(after, { secretKey: key.identity, fileType: 'yaml' })).toEqual({ password: 'new-password-value', keep: 'kept-value' });
    // same wrapped data key, as `sops edit` keeps it
    expect(/enc: \|\n([\s\S]*?END AGE ENCRYPTED FILE-----)/.exec(after)![1]).toBe(/enc: \|\n([\s\S]*?END AGE ENCRYPTED FILE-----)/.exec(before)![1]);
  });

  it('leaves the file as it was, and no copy behind, when the editor fails or the text does not parse', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/e.enc.yaml', { password: 'old-password-value' });
    const before = repo.read('secrets/e.enc.yaml');
    const failing = editor('exit 3');
    const r1 = await myt(['secrets', 'edit', 'secrets/e.enc.yaml'], failing.env);
    expect(r1.code).toBe(1);
    expect(r1.err).toContain('the editor exited with status 3; the file is unchanged');
    const broken = editor(`printf 'password: [unclosed\\n' > "$1"`);
    const r2 = await myt(['secrets', 'edit', 'secrets/e.enc.yaml'], broken.env);
    expect(r2.code).toBe(1);
    expect(r2.err).toMatch(/secrets\/e\.enc\.yaml: not valid YAML at line \d+ .*; the file is unchanged/);
    expect(repo.read('secrets/e.enc.yaml')).toBe(before);
    for (const line of broken.log()) expect(existsSync(line.split(' ')[0]!)).toBe(false);
  });

  it('at a terminal keeps an edit that cannot be saved and reopens the editor on it, as often as the person asks', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/e.enc.yaml', { password: 'old-password-value' });
    // The person's edits, one per time the editor opens: five that cannot be saved, then a good one.
    const saves = ['password: [unclosed\n', 'password: ""\n', 'password: [still\n', 'password: [again\n', 'password: [last\n', 'password: fixed-at-last\n'];
    const seen: string[] = [];
    const runEditor = (_command: readonly string[], file: string) => {
      seen.push(readFileSync(file, 'utf8'));
      writeFileSync(file, saves[seen.length - 1]!);
      return Promise.resolve(0);
    };
    const reasons: string[] = [];
    const result = await editSecrets(repo.root, fileRef(repo.root, repo.root, 'secrets/e.enc.yaml'), {
      env: envWithKey(key.identity),
      runEditor,
      reopen: (why) => (reasons.push(why), Promise.resolve(true)),
    });
    expect(result).toBe('changed');
    expect(seen).toHaveLength(6);
    expect(seen[1]).toBe('password: [unclosed\n'); // the editor reopens on the person's own text
    expect(reasons[0]).toMatch(/^secrets\/e\.enc\.yaml: not valid YAML at line \d+/);
    expect(reasons[1]).toBe('secrets/e.enc.yaml: the value at password is an empty string, which SOPS leaves out of the MAC: give it a value or remove it');
    expect(await decryptSops(repo.read('secrets/e.enc.yaml'), { secretKey: key.identity, fileType: 'yaml' })).toEqual({ password: 'fixed-at-last' });
  });

  it('leaves the file unchanged when the person gives up on an edit that cannot be saved', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/e.enc.yaml', { password: 'old-password-value' });
    const before = repo.read('secrets/e.enc.yaml');
    const runEditor = (_command: readonly string[], file: string) => (writeFileSync(file, 'password: [unclosed\n'), Promise.resolve(0));
    await expect(
      editSecrets(repo.root, fileRef(repo.root, repo.root, 'secrets/e.enc.yaml'), { env: envWithKey(key.identity), runEditor, reopen: () => Promise.resolve(false) }),
    ).rejects.toThrow(/not valid YAML at line \d+ .*; the file is unchanged$/);
    expect(repo.read('secrets/e.enc.yaml')).toBe(before);
  });

  it('creates a new file encrypted to the .sops.yaml recipients', async () => {
    repo = tempRepo([key.recipient]);
    const ed = editor(`printf 'adminPassword: created-in-editor\\n' > "$1"`);
    const r = await myt(['secrets', 'edit', 'secrets/new/grafana.enc.yaml'], ed.env);
    expect(r.code).toBe(0);
    expect(await decryptSops(repo.read('secrets/new/grafana.enc.yaml'), { secretKey: key.identity, fileType: 'yaml' })).toEqual({ adminPassword: 'created-in-editor' });
  });

  it('refuses to run without memory-backed storage rather than use a disk', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/e.enc.yaml', { password: 'old-password-value' });
    const ed = editor('true');
    await expect(editSecrets(repo.root, fileRef(repo.root, repo.root, 'secrets/e.enc.yaml'), { env: ed.env, shm: join(repo.root, 'no-shm-here') })).rejects.toThrow(
      /no-shm-here \(memory-backed storage\) is not available here, and MyT will not put decrypted secrets on a disk/,
    );
    expect(existsSync(join(repo.root, 'editor.log'))).toBe(false);
  });

  /** Runs `myt secrets edit` as its own process (the loader resolves from the project folder; the repository is --root). */
  function editProcess(env: NodeJS.ProcessEnv) {
    const entry = repo.write('run.mts', `import { runCli } from ${JSON.stringify(MAIN)};\nprocess.exitCode = await runCli(process.argv.slice(2));\n`);
    const args = ['--import', 'tsx', entry, 'secrets', 'edit', '--root', repo.root, join(repo.root, 'secrets/e.enc.yaml')];
    const child = execFile(process.execPath, args, { cwd: join(import.meta.dirname, '../..'), env: { ...process.env, ...env }, timeout: 30_000 });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    return { child, exited };
  }

  async function until(check: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(check()).toBe(true);
  }

  it('removes at the next edit the copy an edit killed with -9 left behind', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/e.enc.yaml', { password: 'old-password-value' });
    const ed = editor(`echo $$ > '${join(repo.root, 'editor.pid')}'\nexec sleep 30`);
    const run = editProcess(ed.env);
    await until(() => existsSync(join(repo.root, 'editor.pid')));
    run.child.kill('SIGKILL');
    await run.exited;
    process.kill(Number(repo.read('editor.pid').trim()), 'SIGKILL');
    const stale = ed.log()[0]!.split(' ')[0]!;
    expect(existsSync(stale)).toBe(true); // nothing could scrub it: the process was killed outright
    const next = await myt(['secrets', 'edit', 'secrets/e.enc.yaml'], envWithKey(key.identity, { EDITOR: 'true', PATH: process.env.PATH }));
    expect(next.code).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(join(stale, '..'))).toBe(false);
  });

  it('runs the editor without the age key or the name of its file in its environment', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/e.enc.yaml', { password: 'old-password-value' });
    const keyFile = repo.write('../key-for-editor-test.txt', `${key.identity}\n`);
    const ed = editor(`env > '${join(repo.root, 'editor.env')}'`);
    const run = editProcess({ ...ed.env, SOPS_AGE_KEY_FILE: keyFile });
    expect(await run.exited).toBe(0);
    rmSync(keyFile);
    const seen = repo.read('editor.env');
    expect(seen).toContain('EDITOR=');
    expect(seen).not.toMatch(/^SOPS_AGE_KEY/m);
    expect(seen).not.toContain(key.identity);
  });

  it('scrubs the copy when the process is terminated while the editor is open', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/e.enc.yaml', { password: 'old-password-value' });
    // The "editor" signals its parent (myt) as a terminal's Ctrl-C or a kill would, then lingers.
    const ed = editor('kill -TERM $PPID; sleep 2');
    const entry = repo.write('run.mts', `import { runCli } from ${JSON.stringify(MAIN)};\nprocess.exitCode = await runCli(process.argv.slice(2));\n`);
    const code = await new Promise<number | null>((resolve) => {
      // Run from the project folder, where the tsx loader resolves; the repository is --root.
      const args = ['--import', 'tsx', entry, 'secrets', 'edit', '--root', repo.root, join(repo.root, 'secrets/e.enc.yaml')];
      const child = execFile(process.execPath, args, { cwd: join(import.meta.dirname, '../..'), env: { ...process.env, ...ed.env }, timeout: 20_000 });
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(143);
    const [line] = ed.log();
    const path = line!.split(' ')[0]!;
    expect(path).toMatch(/^\/dev\/shm\/myt-secrets-/);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync('/dev/shm').filter((d) => path.includes(d))).toEqual([]);
  });
});

describe('myt keys', () => {
  it('generate writes an encrypted ed25519 key pair and prints the public key; show prints it back', async () => {
    repo = tempRepo([key.recipient]);
    const g = await myt(['keys', 'generate', 'greenhouse'], envWithKey(undefined));
    expect(g.code).toBe(0);
    expect(g.out).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ myt-greenhouse\n$/);
    const text = repo.read('secrets/keys/greenhouse.enc.yaml');
    expect(text).not.toContain('OPENSSH PRIVATE KEY');
    const data = (await decryptSops(text, { secretKey: key.identity, fileType: 'yaml' })) as { privateKey: string; publicKey: string };
    expect(data.publicKey).toBe(g.out.trim());
    expect(sshKeyProblems(data.privateKey, data.publicKey)).toEqual([]);
    const s = await myt(['keys', 'show', 'greenhouse'], envWithKey(key.identity));
    expect(s).toEqual({ code: 0, out: g.out, err: '(add --private to print the private key as well)\n' });
  });

  it("generate also makes the VM's host key pair, in the same file and apart from the login key", async () => {
    repo = tempRepo([key.recipient]);
    const g = await myt(['keys', 'generate', 'greenhouse'], envWithKey(undefined));
    expect(g.err).toContain("the login key, whose public key is above, and the VM's host key");
    const data = (await decryptSops(repo.read('secrets/keys/greenhouse.enc.yaml'), { secretKey: key.identity, fileType: 'yaml' })) as Record<string, string>;
    expect(Object.keys(data).filter((k) => k !== 'sops').sort()).toEqual(['hostPrivateKey', 'hostPublicKey', 'privateKey', 'publicKey']);
    expect(sshKeyProblems(data.hostPrivateKey, data.hostPublicKey, HOST_KEY_FIELDS)).toEqual([]);
    expect(data.hostPublicKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ myt-greenhouse-host$/);
    expect(data.hostPublicKey!.split(' ')[1]).not.toBe(data.publicKey!.split(' ')[1]);
  });

  it('generate --add-host-key gives a key file made before host keys existed one, keeping its login key', async () => {
    repo = tempRepo([key.recipient]);
    const login = generateSshKeyPair('myt-mill');
    await writeNewSecrets(repo.root, 'secrets/keys/mill.enc.yaml', { privateKey: login.privateKey, publicKey: login.publicKey });
    const added = await myt(['keys', 'generate', 'mill', '--add-host-key'], envWithKey(key.identity));
    expect(added.code).toBe(0);
    expect(added.out).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ myt-mill-host\n$/);
    expect(added.err).toContain('the login key is unchanged');
    const data = (await decryptSops(repo.read('secrets/keys/mill.enc.yaml'), { secretKey: key.identity, fileType: 'yaml' })) as Record<string, string>;
    expect(data.privateKey).toBe(login.privateKey);
    expect(data.publicKey).toBe(login.publicKey);
    expect(data.hostPublicKey).toBe(added.out.trim());
    expect(sshKeyProblems(data.hostPrivateKey, data.hostPublicKey, HOST_KEY_FIELDS)).toEqual([]);
    const again = await myt(['keys', 'generate', 'mill', '--add-host-key'], envWithKey(key.identity));
    expect(again).toMatchObject({ code: 1, err: "myt keys: error: secrets/keys/mill.enc.yaml has a host key already; 'myt keys generate mill --force' replaces both pairs\n" });
    const missing = await myt(['keys', 'generate', 'nowhere', '--add-host-key'], envWithKey(key.identity));
    expect(missing.err).toContain("secrets/keys/nowhere.enc.yaml does not exist: make the key pairs with 'myt keys generate nowhere'");
    expect((await myt(['keys', 'generate', 'mill', '--add-host-key', '--force'], envWithKey(key.identity))).code).toBe(2);
  });

  it('show --private prints the private key after a warning', async () => {
    repo = tempRepo([key.recipient]);
    await myt(['keys', 'generate', 'fleet'], envWithKey(undefined));
    const s = await myt(['keys', 'show', 'fleet', '--private'], envWithKey(key.identity));
    expect(s.code).toBe(0);
    expect(s.err).toMatch(/^warning: the private key of 'fleet' follows\. Anyone who has it can log in to the VM/);
    expect(s.out).toMatch(/^ssh-ed25519 .*\n-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+-----END OPENSSH PRIVATE KEY-----\n$/);
  });

  it('generate refuses to replace a key unless --force, and refuses a bad name', async () => {
    repo = tempRepo([key.recipient]);
    const first = await myt(['keys', 'generate', 'weather'], envWithKey(undefined));
    const again = await myt(['keys', 'generate', 'weather'], envWithKey(undefined));
    expect(again.code).toBe(1);
    expect(again.err).toContain('secrets/keys/weather.enc.yaml exists already');
    const forced = await myt(['keys', 'generate', 'weather', '--force'], envWithKey(undefined));
    expect(forced.code).toBe(0);
    expect(forced.out).not.toBe(first.out);
    const bad = await myt(['keys', 'generate', '../etc'], envWithKey(undefined));
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("'../etc' is not a valid name");
  });

  it('show says how to make a key that does not exist', async () => {
    repo = tempRepo([key.recipient]);
    const r = await myt(['keys', 'show', 'nowhere'], envWithKey(key.identity));
    expect(r).toEqual({ code: 1, out: '', err: "myt keys: error: secrets/keys/nowhere.enc.yaml does not exist: make the key pair with 'myt keys generate nowhere'\n" });
  });

  it('has --help', async () => {
    repo = tempRepo([]);
    expect((await myt(['keys', '--help'], {})).out).toMatch(/^Usage: myt keys <generate\|show\|scan> NAME/);
  });
});

const sshKeygen = ['/usr/bin/ssh-keygen', '/bin/ssh-keygen'].find((p) => existsSync(p));
describeNeeding({ what: 'ssh-keygen (openssh-client)', present: sshKeygen !== undefined }, 'a generated key, checked by OpenSSH', () => {
  it('is a private key ssh-keygen reads, whose public key is the one stored', async () => {
    repo = tempRepo([key.recipient]);
    const g = await myt(['keys', 'generate', 'factory'], envWithKey(undefined));
    const data = (await decryptSops(repo.read('secrets/keys/factory.enc.yaml'), { secretKey: key.identity, fileType: 'yaml' })) as { privateKey: string };
    // ssh-keygen reads keys from files only: give it one in memory-backed storage, and remove it.
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'myt-keytest-'));
    const file = join(dir, 'id');
    writeFileSync(file, data.privateKey, { mode: 0o600 });
    let pub: string;
    try {
      pub = execFileSync(sshKeygen!, ['-y', '-f', file], { encoding: 'utf8' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(pub.trim().split(' ').slice(0, 2)).toEqual(g.out.trim().split(' ').slice(0, 2));
  });
});

// SOPS files written and read by MyT: the independent reader is sops-age (the real sops program
// is not installable on this machine; a test below uses it when it is on PATH).
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { decryptSops } from 'sops-age';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readSecrets, resetSecretRegistry } from '../../src/secrets/index.js';
import { encryptInPlace, fileRef } from '../../src/secrets/operations.js';
import { goFloat } from '../../src/secrets/sops-cipher.js';
import { macAad } from '../../src/secrets/sops-file.js';
import { realSopsBinary } from '../../src/secrets/sops-binary.js';
import type { AgeKeyPair } from '../../src/secrets/age-keys.js';
import { envWithKey, keyPair, tempRepo, type TempRepo } from './helpers.js';
import { describeNeeding } from '../helpers/needs.js';

// (Empty strings and nulls are left out: the MAC cannot cover them, so MyT neither writes nor reads them.)
const EVERY_TYPE_YAML = `# every YAML scalar type, nested maps and lists
text: plain text value
quoted: "needs: quoting # here"
multiline: |
  line one
  line two
unicode: "grüße ✓ 日本"
looks_like_date: "2024-05-01"
count: 42
negative: -7
hex: 0x1F
ratio: 0.25
whole_float: 3.0
big_float: 1.0e+25
tiny_float: 1.5e-7
yes: true
no: false
nested:
  deeper:
    password: s3cr3t-nested-value
    ports: [5672, 5671]
  list:
    - first item
    - key: inside a list
      flag: false
    - [1, two, 3.5]
password_unencrypted: visible-on-purpose
`;

const EXPECTED = {
  text: 'plain text value',
  quoted: 'needs: quoting # here',
  multiline: 'line one\nline two\n',
  unicode: 'grüße ✓ 日本',
  looks_like_date: '2024-05-01',
  count: 42,
  negative: -7,
  hex: 31,
  ratio: 0.25,
  whole_float: 3,
  big_float: 1e25,
  tiny_float: 1.5e-7,
  yes: true,
  no: false,
  nested: {
    deeper: { password: 's3cr3t-nested-value', ports: [5672, 5671] },
    list: ['first item', { key: 'inside a list', flag: false }, [1, 'two', 3.5]],
  },
  password_unencrypted: 'visible-on-purpose',
};

/** Every secret string of EXPECTED that must not appear in an error message or in the encrypted file. */
const PLAINTEXTS = ['plain text value', 's3cr3t-nested-value', 'line one', 'inside a list', 'grüße'];

let alice: AgeKeyPair;
let bob: AgeKeyPair;
let repo: TempRepo;

beforeAll(async () => {
  alice = await keyPair();
  bob = await keyPair();
});

afterEach(() => {
  repo?.remove();
  resetSecretRegistry();
});

async function encrypted(file: string, text: string, recipients = [alice.recipient]): Promise<string> {
  repo = tempRepo(recipients);
  repo.write(file, text);
  await encryptInPlace(repo.root, fileRef(repo.root, repo.root, file));
  return repo.read(file);
}

/** Flips one bit of the base64 `data:` of the line starting with `prefix`. */
function flipData(text: string, prefix: string): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.trimStart().startsWith(prefix));
  expect(i).toBeGreaterThanOrEqual(0);
  lines[i] = lines[i]!.replace(/data:([^,]+),/, (_m, b64: string) => {
    const bytes = Buffer.from(b64, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    return `data:${bytes.toString('base64')},`;
  });
  return lines.join('\n');
}

async function refusal(file: string, env: NodeJS.ProcessEnv): Promise<string> {
  const err = await readSecrets(repo.root, file, { env }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err, 'reading should have failed').toBeInstanceOf(Error);
  expect(err!.name).toBe('MytError');
  for (const p of PLAINTEXTS) expect(err!.message).not.toContain(p);
  expect(err!.message).not.toContain('AGE-SECRET-KEY');
  return err!.message;
}

describe('SOPS files written by MyT', () => {
  it('open with sops-age (an independent reader) to the same data: nested maps, lists and every YAML scalar type', async () => {
    const text = await encrypted('secrets/all.enc.yaml', EVERY_TYPE_YAML);
    for (const p of PLAINTEXTS) expect(text).not.toContain(p);
    expect(text).toContain('password_unencrypted: visible-on-purpose');
    const independent = (await decryptSops(text, { secretKey: alice.identity, fileType: 'yaml' })) as Record<string, unknown>;
    expect(independent).toEqual(EXPECTED);
  });

  it('read back by MyT with the MAC checked, to the same data', async () => {
    await encrypted('secrets/all.enc.yaml', EVERY_TYPE_YAML);
    expect(await readSecrets(repo.root, 'secrets/all.enc.yaml', { env: envWithKey(alice.identity) })).toEqual(EXPECTED);
  });

  it('in JSON open with sops-age too, and keep JSON numbers as sops does (all float64)', async () => {
    const json = JSON.stringify({ user: 'json-user', password: 'json-secret-value', port: 5672, ratio: 0.5, on: true, list: ['a', 1, { deep: 'x' }] });
    const text = await encrypted('secrets/all.enc.json', json);
    expect(text).not.toContain('json-secret-value');
    expect(text).toMatch(/"port": "ENC\[AES256_GCM,data:[^"]*,type:float\]"/);
    const independent = (await decryptSops(text, { secretKey: alice.identity, fileType: 'json' })) as unknown;
    expect(independent).toEqual(JSON.parse(json));
    expect(await readSecrets(repo.root, 'secrets/all.enc.json', { env: envWithKey(alice.identity) })).toEqual(JSON.parse(json));
  });

  it('lay out the metadata block as sops writes it (age recipient and enc, lastmodified, mac, suffix, version)', async () => {
    const text = await encrypted('secrets/a.enc.yaml', 'password: hunter2-and-more\n');
    expect(text).toMatch(
      new RegExp(
        `^password: ENC\\[AES256_GCM,data:[A-Za-z0-9+/=]+,iv:[A-Za-z0-9+/=]{44},tag:[A-Za-z0-9+/=]{24},type:str\\]\\nsops:\\n    age:\\n        - recipient: ${alice.recipient}\\n          enc: \\|\\n              -----BEGIN AGE ENCRYPTED FILE-----\\n`,
      ),
    );
    expect(text).toMatch(/\n {4}lastmodified: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\n {4}mac: ENC\[AES256_GCM,data:[^\]]+,type:str\]\n {4}unencrypted_suffix: _unencrypted\n {4}version: \d+\.\d+\.\d+\n$/);
  });

  it('encrypted to two recipients open with either key, and with neither refuse naming both recipients', async () => {
    await encrypted('secrets/two.enc.yaml', 'password: shared-between-two\n', [alice.recipient, bob.recipient]);
    for (const key of [alice, bob]) {
      expect(await readSecrets(repo.root, 'secrets/two.enc.yaml', { env: envWithKey(key.identity) })).toEqual({ password: 'shared-between-two' });
    }
    const carol = await keyPair();
    const message = await refusal('secrets/two.enc.yaml', envWithKey(carol.identity));
    expect(message).toContain('secrets/two.enc.yaml');
    expect(message).toContain(alice.recipient);
    expect(message).toContain(bob.recipient);
  });
});

describe('SOPS metadata as older sops versions write it', () => {
  it('opens with empty lists for the other key services and a single-quoted lastmodified', async () => {
    const text = await encrypted('secrets/old.enc.yaml', 'password: from-an-older-sops\n');
    const older = text
      .replace('sops:\n', 'sops:\n    kms: []\n    gcp_kms: []\n    azure_kv: []\n    hc_vault: []\n')
      .replace(/lastmodified: "([^"]+)"/, "lastmodified: '$1'")
      .replace('    unencrypted_suffix:', '    pgp: []\n    unencrypted_suffix:');
    expect(older).toContain('    pgp: []\n');
    repo.write('secrets/old.enc.yaml', older);
    expect(await readSecrets(repo.root, 'secrets/old.enc.yaml', { env: envWithKey(alice.identity) })).toEqual({ password: 'from-an-older-sops' });
  });

  it('binds the MAC to lastmodified as Go formats RFC 3339 (whole seconds, Z for UTC)', () => {
    expect(macAad('2024-05-01T10:20:30Z')).toBe('2024-05-01T10:20:30Z');
    expect(macAad('2024-05-01T10:20:30.123456Z')).toBe('2024-05-01T10:20:30Z');
    expect(macAad('2024-05-01T10:20:30+00:00')).toBe('2024-05-01T10:20:30Z');
    expect(macAad('2024-05-01T12:20:30+02:00')).toBe('2024-05-01T12:20:30+02:00');
    expect(() => macAad('yesterday')).toThrow("its 'sops.lastmodified' is not an RFC 3339 time");
  });
});

describe('reading refuses', () => {
  it('a file encrypted for another key, naming the file and the recipient it needs', async () => {
    await encrypted('secrets/a.enc.yaml', EVERY_TYPE_YAML);
    const message = await refusal('secrets/a.enc.yaml', envWithKey(bob.identity));
    expect(message).toMatch(/^secrets\/a\.enc\.yaml: it is encrypted for the age recipient age1/);
    expect(message).toContain(bob.recipient);
  });

  it('a file when no age key is available, saying where a key is looked for', async () => {
    await encrypted('secrets/a.enc.yaml', 'password: hunter2-and-more\n');
    const message = await refusal('secrets/a.enc.yaml', envWithKey(undefined));
    expect(message).toMatch(/secrets\/a\.enc\.yaml: no age private key .*SOPS_AGE_KEY.*SOPS_AGE_KEY_FILE/);
  });

  it('a tampered value, naming the file and the key path', async () => {
    const text = await encrypted('secrets/a.enc.yaml', EVERY_TYPE_YAML);
    repo.write('secrets/a.enc.yaml', flipData(text, 'password: ENC'));
    const message = await refusal('secrets/a.enc.yaml', envWithKey(alice.identity));
    expect(message).toMatch(/^secrets\/a\.enc\.yaml: the value at nested\.deeper\.password fails to decrypt/);
  });

  it('a value moved to another key (the path is bound into each value)', async () => {
    const text = await encrypted('secrets/a.enc.yaml', 'user: admin-user-name\npassword: hunter2-and-more\n');
    const user = /^user: (.*)$/m.exec(text)![1]!;
    const password = /^password: (.*)$/m.exec(text)![1]!;
    repo.write('secrets/a.enc.yaml', text.replace(`user: ${user}`, `user: ${password}`).replace(`password: ${password}`, `password: ${user}`));
    expect(await refusal('secrets/a.enc.yaml', envWithKey(alice.identity))).toMatch(/the value at (user|password) fails to decrypt/);
  });

  it('a tampered MAC', async () => {
    const text = await encrypted('secrets/a.enc.yaml', 'password: hunter2-and-more\n');
    repo.write('secrets/a.enc.yaml', flipData(text, 'mac: ENC'));
    expect(await refusal('secrets/a.enc.yaml', envWithKey(alice.identity))).toMatch(/^secrets\/a\.enc\.yaml: its MAC .*fails to decrypt/);
  });

  it('a changed lastmodified (the MAC is bound to it)', async () => {
    const text = await encrypted('secrets/a.enc.yaml', 'password: hunter2-and-more\n');
    repo.write('secrets/a.enc.yaml', text.replace(/lastmodified: "(\d{4})/, (_m, y: string) => `lastmodified: "${Number(y) - 1}`));
    expect(await refusal('secrets/a.enc.yaml', envWithKey(alice.identity))).toMatch(/its MAC/);
  });

  it('a deleted value, a reordered file and an edited plaintext value (all caught by the MAC)', async () => {
    const text = await encrypted('secrets/a.enc.yaml', 'user: admin-user-name\npassword: hunter2-and-more\nnote_unencrypted: first\n');
    const variants = [
      text.replace(/^user: .*\n/m, ''),
      text.replace(/^(user: .*\n)(password: .*\n)/m, '$2$1'),
      text.replace('note_unencrypted: first', 'note_unencrypted: second'),
    ];
    for (const variant of variants) {
      expect(variant).not.toBe(text);
      repo.write('secrets/a.enc.yaml', variant);
      // A reorder fails on the MAC; it cannot fail on a value, since each value keeps its own path.
      expect(await refusal('secrets/a.enc.yaml', envWithKey(alice.identity))).toMatch(/its MAC does not match its values: the file was altered/);
    }
  });

  it('a value replaced by plain text', async () => {
    const text = await encrypted('secrets/a.enc.yaml', 'password: hunter2-and-more\n');
    repo.write('secrets/a.enc.yaml', text.replace(/^password: .*$/m, 'password: swapped-in-by-attacker'));
    expect(await refusal('secrets/a.enc.yaml', envWithKey(alice.identity))).toMatch(/the value at password should be encrypted but is plain text/);
  });

  it('a plaintext file, telling how to encrypt it', async () => {
    repo = tempRepo([alice.recipient]);
    repo.write('secrets/plain.yaml', 'password: not-yet-encrypted\n');
    const message = await refusal('secrets/plain.yaml', envWithKey(alice.identity));
    expect(message).toBe("secrets/plain.yaml: it is not a SOPS file (there is no 'sops' metadata block) (encrypt it with 'myt secrets encrypt secrets/plain.yaml')");
  });

  it('a malformed JSON or YAML file without quoting any of it', async () => {
    repo = tempRepo([alice.recipient]);
    repo.write('secrets/bad.enc.json', '{"password": s3cr3t-nested-value}');
    repo.write('secrets/bad.enc.yaml', 'password: [s3cr3t-nested-value\n');
    expect(await refusal('secrets/bad.enc.json', envWithKey(alice.identity))).toBe('secrets/bad.enc.json: not valid JSON');
    expect(await refusal('secrets/bad.enc.yaml', envWithKey(alice.identity))).toMatch(/^secrets\/bad\.enc\.yaml: not valid YAML at line \d+ \([A-Z_]+\)$/);
  });

  it('a path outside the repository', async () => {
    repo = tempRepo([alice.recipient]);
    await expect(readSecrets(repo.root, '../elsewhere.enc.yaml', { env: envWithKey(alice.identity) })).rejects.toThrow(/leads outside the repository/);
  });
});

/** The MyT file with its age block replaced by an AWS KMS entry: what sops writes for a KMS-only file. */
async function kmsOnlyFile(): Promise<void> {
  const text = await encrypted('secrets/kms.enc.yaml', 'password: wrapped-by-kms-value\n');
  repo.write(
    'secrets/kms.enc.yaml',
    text.replace(
      / {4}age:\n(?: {8}.*\n| {14}.*\n)+/,
      '    kms:\n        - arn: arn:aws:kms:eu-west-1:111122223333:key/demo\n          created_at: "2026-01-01T00:00:00Z"\n          enc: AQICAHhdemo==\n          aws_profile: ""\n',
    ),
  );
  expect(repo.read('secrets/kms.enc.yaml')).not.toContain('age:');
}

describe('files not wrapped for age', () => {
  it('with no sops program on PATH, say exactly what is missing', async () => {
    await kmsOnlyFile();
    const message = await refusal('secrets/kms.enc.yaml', envWithKey(alice.identity, { PATH: '' }));
    expect(message).toBe(
      "secrets/kms.enc.yaml: its data key is wrapped by AWS KMS, not age, which MyT's own reader does not open, and no 'sops' program is on PATH: install sops, or re-encrypt the file to an age recipient (sops updatekeys)",
    );
  });

  it('are handed to a sops program on PATH (a fake sops script stands in: contract `sops --decrypt --output-type json FILE` prints the data as JSON)', async () => {
    await kmsOnlyFile();
    const bin = join(repo.root, 'fakebin');
    const log = join(repo.root, 'sops-args.log');
    repo.write('fakebin/sops', `#!/bin/sh\nprintf '%s\\n' "$@" > '${log}'\nprintf '{"password":"from-the-sops-program"}'\n`);
    chmodSync(join(bin, 'sops'), 0o755);
    const data = await readSecrets(repo.root, 'secrets/kms.enc.yaml', { env: envWithKey(alice.identity, { PATH: bin }) });
    expect(data).toEqual({ password: 'from-the-sops-program' });
    expect(repo.read('sops-args.log').trim().split('\n')).toEqual(['--decrypt', '--output-type', 'json', join(repo.root, 'secrets/kms.enc.yaml')]);
  });

  it('report a failing sops program without its output', async () => {
    await kmsOnlyFile();
    const bin = join(repo.root, 'fakebin');
    repo.write('fakebin/sops', `#!/bin/sh\necho 'partial-secret-output-on-stdout'\necho 'Failed to get the data key required to decrypt the SOPS file.' >&2\nexit 128\n`);
    chmodSync(join(bin, 'sops'), 0o755);
    const message = await refusal('secrets/kms.enc.yaml', envWithKey(alice.identity, { PATH: bin }));
    expect(message).toMatch(/handed to .*fakebin\/sops, which failed: sops failed: Failed to get the data key/);
    expect(message).not.toContain('partial-secret-output');
  });
});

const realSops = realSopsBinary.find(process.env);
const SOPS_NEED = { what: 'the sops program on PATH', present: realSops !== undefined, neverHere: 'Debian 12 packages no sops, so it never runs on this project\'s machines' };
describeNeeding(SOPS_NEED, 'the real sops program', () => {
  it('decrypts a file written by MyT to the same data', async () => {
    await encrypted('secrets/all.enc.yaml', EVERY_TYPE_YAML);
    const out = execFileSync(realSops!, ['--decrypt', '--output-type', 'json', join(repo.root, 'secrets/all.enc.yaml')], {
      env: { ...process.env, SOPS_AGE_KEY: alice.identity },
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual(EXPECTED);
  });
});

describe("Go's float formatting (the bytes sops encrypts and hashes for a float)", () => {
  it.each([
    [3, '3'],
    [0.25, '0.25'],
    [-7.5, '-7.5'],
    [1e21, '1000000000000000000000'],
    [1.5e-7, '0.00000015'],
    [1e25, '10000000000000000000000000'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
  ])('formats %s as %s', (n, text) => {
    expect(goFloat(n)).toBe(text);
  });
});

// .sops.yaml creation rules: which recipients (and which values) a new file is encrypted to, by path.
import { decryptSops } from 'sops-age';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readSecrets, resetSecretRegistry } from '../../src/secrets/index.js';
import { encryptInPlace, fileRef } from '../../src/secrets/operations.js';
import { creationRuleFor } from '../../src/secrets/sops-config.js';
import type { AgeKeyPair } from '../../src/secrets/age-keys.js';
import { envWithKey, keyPair, tempRepo, type TempRepo } from './helpers.js';

let a: AgeKeyPair;
let b: AgeKeyPair;
let repo: TempRepo;
beforeAll(async () => {
  [a, b] = await Promise.all([keyPair(), keyPair()]);
});
afterEach(() => {
  repo?.remove();
  resetSecretRegistry();
});

function withConfig(text: string): void {
  repo = tempRepo([]);
  repo.write('.sops.yaml', text);
}

describe('.sops.yaml creation rules', () => {
  it('take the first rule whose path_regex matches the path relative to the repository root', async () => {
    withConfig(`creation_rules:\n  - path_regex: ^secrets/prod/.*\\.yaml$\n    age: ${a.recipient}\n  - path_regex: ^secrets/\n    age: ${a.recipient}, ${b.recipient}\n`);
    expect((await creationRuleFor(repo.root, 'secrets/prod/db.yaml')).recipients).toEqual([a.recipient]);
    expect((await creationRuleFor(repo.root, 'secrets/dev/db.yaml')).recipients).toEqual([a.recipient, b.recipient]);
    await expect(creationRuleFor(repo.root, 'config/x.yaml')).rejects.toThrow('.sops.yaml: no creation rule matches config/x.yaml');
  });

  it('accept age as a list and in a single key group, and a rule without path_regex matches everything', async () => {
    withConfig(`creation_rules:\n  - key_groups:\n      - age:\n          - ${a.recipient}\n          - ${b.recipient}\n`);
    expect((await creationRuleFor(repo.root, 'anything/at/all.json')).recipients).toEqual([a.recipient, b.recipient]);
  });

  it('refuse rules MyT cannot follow, saying why', async () => {
    withConfig(`creation_rules:\n  - path_regex: ^secrets/\n    pgp: FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4\n`);
    await expect(creationRuleFor(repo.root, 'secrets/a.yaml')).rejects.toThrow('names no age recipient; MyT encrypts to age only');
    withConfig(`creation_rules:\n  - age: not-a-recipient\n`);
    await expect(creationRuleFor(repo.root, 'secrets/a.yaml')).rejects.toThrow("has 'not-a-recipient', which is not an age recipient");
    withConfig(`creation_rules:\n  - key_groups:\n      - age: [${a.recipient}]\n      - age: [${b.recipient}]\n`);
    await expect(creationRuleFor(repo.root, 'secrets/a.yaml')).rejects.toThrow('splits the key over several key_groups');
    repo.remove();
    repo = tempRepo([]);
    await expect(creationRuleFor(repo.root, 'secrets/a.yaml')).rejects.toThrow("no .sops.yaml at the repository root: run 'myt secrets init'");
  });

  it('apply encrypted_regex: only matching keys are encrypted, and the file still opens with sops-age and MyT', async () => {
    withConfig(`creation_rules:\n  - path_regex: ^secrets/\n    encrypted_regex: ^(password|token)$\n    age: ${a.recipient}\n`);
    repo.write('secrets/app.enc.yaml', 'host: db.example.org\npassword: regex-rule-password\nnested:\n  token: regex-rule-token\n  port: 5432\n');
    await encryptInPlace(repo.root, fileRef(repo.root, repo.root, 'secrets/app.enc.yaml'));
    const text = repo.read('secrets/app.enc.yaml');
    expect(text).toContain('host: db.example.org');
    expect(text).toContain('port: 5432');
    expect(text).not.toContain('regex-rule-password');
    expect(text).not.toContain('regex-rule-token');
    expect(text).toContain('encrypted_regex: ^(password|token)$');
    const expected = { host: 'db.example.org', password: 'regex-rule-password', nested: { token: 'regex-rule-token', port: 5432 } };
    expect(await decryptSops(text, { secretKey: a.identity, fileType: 'yaml' })).toEqual(expected);
    expect(await readSecrets(repo.root, 'secrets/app.enc.yaml', { env: envWithKey(a.identity) })).toEqual(expected);
    // the plaintext values are covered by the MAC
    repo.write('secrets/app.enc.yaml', text.replace('host: db.example.org', 'host: evil.example.org'));
    await expect(readSecrets(repo.root, 'secrets/app.enc.yaml', { env: envWithKey(a.identity) })).rejects.toThrow('its MAC does not match');
  });
});

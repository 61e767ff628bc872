// What a writer without the key can add to a SOPS file without breaking its MAC, and MyT's refusal
// of it: plain-text values of a mac_only_encrypted file, empty strings and nulls (sops hashes
// nothing for them), and a key named __proto__ that would become the decrypted data's prototype.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkSecretFile, readSecrets, resetSecretRegistry } from '../../src/secrets/index.js';
import { writeNewSecrets } from '../../src/secrets/operations.js';
import type { AgeKeyPair } from '../../src/secrets/age-keys.js';
import { envWithKey, keyPair, tempRepo, type TempRepo } from './helpers.js';

let key: AgeKeyPair;
let repo: TempRepo;
beforeAll(async () => {
  key = await keyPair();
});
afterEach(() => {
  repo?.remove();
  resetSecretRegistry();
});

const FILE = 'secrets/rabbitmq.enc.yaml';
const macOnlyConfig = (recipient: string, extra = '') => `creation_rules:\n  - path_regex: ^secrets/\n    age: ${recipient}\n    mac_only_encrypted: true\n${extra}`;

/** The file with a line added right after the line starting with `after` (as an attacker would in a pull request). */
function inject(text: string, after: string, line: string): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.startsWith(after));
  expect(i).toBeGreaterThanOrEqual(0);
  lines.splice(i + 1, 0, line);
  return lines.join('\n');
}

async function read(env = envWithKey(key.identity)): Promise<Record<string, unknown> | Error> {
  return readSecrets(repo.root, FILE, { env }).catch((e: unknown) => e as Error);
}

describe('a mac_only_encrypted file', () => {
  it('is read when the repository’s .sops.yaml rule asks for it, and refused once a plain-text entry is smuggled in under a changed rule', async () => {
    repo = tempRepo([]);
    repo.write('.sops.yaml', macOnlyConfig(key.recipient));
    await writeNewSecrets(repo.root, FILE, { users: { sensors: 'sensor-password-1' } });
    expect(await read()).toEqual({ users: { sensors: 'sensor-password-1' } });
    // The plain-text rule sits in the file's own metadata, which the MAC does not cover.
    const text = repo.read(FILE).replace('unencrypted_suffix: _unencrypted', 'unencrypted_regex: ^evil$');
    repo.write(FILE, inject(text, '    sensors: ', '    evil: known-password'));
    const err = await read();
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^secrets\/rabbitmq\.enc\.yaml: its metadata sets mac_only_encrypted, .* the \.sops\.yaml rule for it does not ask for that/);
  });

  it('is refused when .sops.yaml does not ask for mac_only_encrypted, so an added user_unencrypted entry is never read as a broker user', async () => {
    repo = tempRepo([]);
    repo.write('.sops.yaml', macOnlyConfig(key.recipient));
    await writeNewSecrets(repo.root, FILE, { users: { sensors: 'sensor-password-1' } });
    repo.write('.sops.yaml', `creation_rules:\n  - path_regex: ^secrets/\n    age: ${key.recipient}\n`);
    repo.write(FILE, inject(repo.read(FILE), '    sensors: ', '    evil_unencrypted: known-password'));
    const err = await read();
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('its metadata sets mac_only_encrypted');
    const problems = await checkSecretFile(repo.root, FILE, 'broker-users', envWithKey(key.identity));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('mac_only_encrypted');
  });
});

describe('values the MAC does not cover', () => {
  it.each([
    ['an empty string', '    evil: ""', 'the value at users.evil is an empty string'],
    ['a null', '    evil: null', 'the value at users.evil is null'],
    ['an empty mapping', 'extra: {}', 'the value at extra is an empty mapping'],
  ])('%s added to a file is refused', async (_what, line, message) => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, FILE, { users: { sensors: 'sensor-password-1' } });
    const text = repo.read(FILE);
    repo.write(FILE, line.startsWith(' ') ? inject(text, '    sensors: ', line) : `${line}\n${text}`);
    const err = await read();
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`${FILE}: ${message}, which SOPS leaves out of the MAC: nobody can tell whether it was added without the key, so the file is refused (give it a value or remove it)`);
  });

  it('are not written either', async () => {
    repo = tempRepo([key.recipient]);
    await expect(writeNewSecrets(repo.root, FILE, { users: { sensors: '' } })).rejects.toThrow(/the value at users\.sensors is an empty string, which SOPS leaves out of the MAC/);
  });
});

describe('a key named __proto__', () => {
  it('is a key of the decrypted data, not its prototype', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, FILE, JSON.parse('{"__proto__": {"users": {"evil": "known-password-1"}}}') as Record<string, unknown>);
    const data = (await read()) as Record<string, unknown>;
    expect(Object.keys(data)).toEqual(['__proto__']);
    expect(data.users).toBeUndefined();
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(await checkSecretFile(repo.root, FILE, 'broker-users', envWithKey(key.identity))).toEqual([`${FILE}: field 'users' must be a mapping of user name to password`]);
  });
});

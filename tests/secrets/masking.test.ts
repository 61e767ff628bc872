// The masking registry: values learned from secrets never reach output.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enableActionsMasking, maskSecrets, readSecrets, registerSecret, resetSecretRegistry } from '../../src/secrets/index.js';
import { writeNewSecrets } from '../../src/secrets/operations.js';
import type { AgeKeyPair } from '../../src/secrets/age-keys.js';
import { registerLeaves, registeredSecretCount } from '../../src/secrets/masking.js';
import { envWithKey, keyPair, tempRepo, type TempRepo } from './helpers.js';

let key: AgeKeyPair;
let repo: TempRepo;
beforeAll(async () => {
  key = await keyPair();
});
afterEach(() => {
  resetSecretRegistry();
  repo?.remove();
});

describe('masking', () => {
  it('replaces every registered value, the longest first (a shorter one registered earlier leaves no tail)', () => {
    registerSecret('hunter2');
    registerSecret('hunter2-password');
    expect(maskSecrets('login with hunter2-password or hunter2, twice: hunter2')).toBe('login with *** or ***, twice: ***');
  });

  it('masks each line of a multi-line value as printed alone, indented or not, from 8 characters on', () => {
    registerSecret('first-line-of-it\n    indented-line-of-it\n8chars!!\n   tiny1\n');
    expect(maskSecrets('first-line-of-it | indented-line-of-it | 8chars!!')).toBe('*** | *** | ***');
    // a short line alone is not a secret worth blanking everywhere, even indented to 8 characters
    expect(maskSecrets('a tiny1 word')).toBe('a tiny1 word');
    expect(registeredSecretCount()).toBe(6); // the value, its JSON-escaped and base64 forms, and three lines
  });

  it('masks values of 4 characters or more, counted without surrounding blanks', () => {
    registerSecret('abcd');
    registerSecret(' xy ');
    expect(maskSecrets('abcd abc xy z')).toBe('*** abc xy z');
  });

  it('registers the leaves of decrypted data of every kind, nulls and booleans aside, and only skips what it is told', () => {
    registerLeaves({ nothing: null, on: true, pin: 123456, big: 12345678901234567890n, list: ['listed-value'], nested: { publicKey: 'ssh-ed25519 AAAAnot-skipped-here' } });
    expect(maskSecrets('123456 12345678901234567890 listed-value ssh-ed25519 AAAAnot-skipped-here true')).toBe('*** *** *** *** true');
  });

  it('masks each line of a multi-line value and its JSON-escaped form', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';
    registerSecret(pem);
    expect(maskSecrets(`one line: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC`)).toBe('one line: ***');
    expect(maskSecrets(JSON.stringify({ key: pem }))).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
  });

  it('masks a short value where it stands alone, not inside a longer word', () => {
    registerSecret('admin');
    registerSecret('x+y.1');
    expect(maskSecrets("password=admin: field 'adminPassword' is Grafana's default; (admin)")).toBe("password=***: field 'adminPassword' is Grafana's default; (***)");
    expect(maskSecrets('token x+y.1 and ax+y.1')).toBe('token *** and ax+y.1');
  });

  it('masks the JSON-escaped form of a one-line value with quotes and backslashes (as it shows inside printed JSON)', () => {
    const password = 'pa"ss\\word-0f-a-user';
    registerSecret(password);
    const printed = JSON.stringify({ password });
    expect(printed).not.toContain(password); // escaping changed it: masking the value alone would miss it
    expect(maskSecrets(printed)).toBe('{"password":"***"}');
  });

  it('leaves very short values alone (masking every "on" in a log protects nothing)', () => {
    registerSecret('on');
    expect(maskSecrets('turned on')).toBe('turned on');
  });

  it('in Actions mode hands every value, earlier and later, to setSecret (core.setSecret in the Actions)', () => {
    const told: string[] = [];
    registerSecret('before-actions-mode');
    enableActionsMasking((v) => told.push(v));
    registerSecret('after-actions-mode');
    registerSecret('after-actions-mode');
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    expect(told).toEqual(['before-actions-mode', b64('before-actions-mode'), 'after-actions-mode', b64('after-actions-mode')]);
  });

  it('readSecrets registers every decrypted value except public identifiers', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/x.enc.yaml', {
      password: 'masked-password-value',
      nested: { list: ['masked-list-item', 123456] },
      publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPublicPartIsNotSecret x',
    });
    resetSecretRegistry();
    const told: string[] = [];
    enableActionsMasking((v) => told.push(v));
    await readSecrets(repo.root, 'secrets/x.enc.yaml', { env: envWithKey(key.identity) });
    const values = ['123456', 'masked-list-item', 'masked-password-value'];
    expect(told.sort()).toEqual([...values, ...values.map((v) => Buffer.from(v).toString('base64'))].sort());
    expect(maskSecrets('pw=masked-password-value item=masked-list-item pin=123456')).toBe('pw=*** item=*** pin=***');
  });
});

describe('which decrypted values stay unmasked', () => {
  afterEach(() => resetSecretRegistry());

  it('only public identifiers at their own places: a broker user named like one keeps its password masked', async () => {
    const { isPublicField } = await import('../../src/secrets/shapes.js');
    registerLeaves({ users: { type: 'broker-password-1', publicKey: 'broker-password-2' } }, isPublicField);
    registerLeaves({ privateKey: 'PRIVATE-KEY-TEXT', publicKey: 'ssh-ed25519 AAAAPUBLIC' }, isPublicField);
    registerLeaves({ serviceAccountKey: { client_email: 'bot@proj.iam.example', private_key: 'GCP-PRIVATE' } }, isPublicField);
    expect(maskSecrets('broker-password-1 broker-password-2 PRIVATE-KEY-TEXT GCP-PRIVATE')).toBe('*** *** *** ***');
    expect(maskSecrets('ssh-ed25519 AAAAPUBLIC bot@proj.iam.example')).toBe('ssh-ed25519 AAAAPUBLIC bot@proj.iam.example');
  });

  it("a VM's host key: the private half is masked, line by line too, the public half (every known_hosts line) is not", async () => {
    const { registerLeaves } = await import('../../src/secrets/masking.js');
    const { isPublicField } = await import('../../src/secrets/shapes.js');
    const hostPrivateKey = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n';
    registerLeaves({ hostPrivateKey, hostPublicKey: 'ssh-ed25519 AAAAHOSTPUBLIC myt-x-host' }, isPublicField);
    expect(maskSecrets(`key: ${hostPrivateKey}`)).toBe('key: ***');
    expect(maskSecrets('+ b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ')).toBe('+ ***');
    expect(maskSecrets('ssh-ed25519 AAAAHOSTPUBLIC myt-x-host')).toBe('ssh-ed25519 AAAAHOSTPUBLIC myt-x-host');
  });
});

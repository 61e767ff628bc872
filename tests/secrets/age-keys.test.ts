// Where the age private key comes from, as sops looks for it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findAgeIdentities, parseIdentities, type AgeKeyPair } from '../../src/secrets/age-keys.js';
import { keyPair, tempRepo, type TempRepo } from './helpers.js';

let a: AgeKeyPair;
let b: AgeKeyPair;
let c: AgeKeyPair;
let dir: TempRepo;

beforeAll(async () => {
  [a, b, c] = await Promise.all([keyPair(), keyPair(), keyPair()]);
});
afterEach(() => dir?.remove());

describe('age key lookup', () => {
  it('reads SOPS_AGE_KEY holding several keys and comments', async () => {
    const ids = await findAgeIdentities({ SOPS_AGE_KEY: `# created: now\n# public key: ${a.recipient}\n${a.identity}\n\n${b.identity}\n` });
    expect(ids.identities).toEqual([a.identity, b.identity]);
    expect(ids.sources).toEqual(['SOPS_AGE_KEY']);
  });

  it('refuses a SOPS_AGE_KEY with no key in it, without echoing its content', async () => {
    await expect(findAgeIdentities({ SOPS_AGE_KEY: 'not-a-key-but-maybe-a-password' })).rejects.toThrow(/^SOPS_AGE_KEY is set but holds no age private key/);
    await expect(findAgeIdentities({ SOPS_AGE_KEY: 'not-a-key-but-maybe-a-password' })).rejects.not.toThrow(/maybe-a-password/);
  });

  it('uses SOPS_AGE_KEY, then SOPS_AGE_KEY_FILE, then $XDG_CONFIG_HOME/sops/age/keys.txt, all together', async () => {
    dir = tempRepo([]);
    const keyFile = dir.write('k.txt', `${b.identity}\n`);
    mkdirSync(join(dir.root, 'xdg/sops/age'), { recursive: true });
    writeFileSync(join(dir.root, 'xdg/sops/age/keys.txt'), `${c.identity}\n`);
    const ids = await findAgeIdentities({ SOPS_AGE_KEY: a.identity, SOPS_AGE_KEY_FILE: keyFile, XDG_CONFIG_HOME: join(dir.root, 'xdg'), HOME: '/nonexistent' });
    expect(ids.identities).toEqual([a.identity, b.identity, c.identity]);
    expect(ids.sources).toEqual(['SOPS_AGE_KEY', `SOPS_AGE_KEY_FILE (${keyFile})`, join(dir.root, 'xdg/sops/age/keys.txt')]);
  });

  it('falls back to ~/.config/sops/age/keys.txt when XDG_CONFIG_HOME is unset', async () => {
    dir = tempRepo([]);
    dir.write('.config/sops/age/keys.txt', `${c.identity}\n`);
    expect((await findAgeIdentities({ HOME: dir.root })).identities).toEqual([c.identity]);
  });

  it('finds nothing (and does not fail) when no source exists', async () => {
    const ids = await findAgeIdentities({ HOME: '/nonexistent' });
    expect(ids.identities).toEqual([]);
    expect(ids.searched).toContain('/nonexistent/.config/sops/age/keys.txt');
  });

  it('says so when SOPS_AGE_KEY_FILE names a missing file', async () => {
    await expect(findAgeIdentities({ SOPS_AGE_KEY_FILE: '/nonexistent/keys.txt' })).rejects.toThrow('SOPS_AGE_KEY_FILE names /nonexistent/keys.txt, which cannot be read (ENOENT)');
  });

  it('ignores lines that are not X25519 identities', () => {
    expect(parseIdentities(`AGE-PLUGIN-YUBIKEY-1ABC\n  ${a.identity}  \nsomething else\n`)).toEqual([a.identity]);
  });
});

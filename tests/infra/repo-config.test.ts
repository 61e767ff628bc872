import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MytError } from '../../src/errors.js';
import { loadRepoConfig } from '../../src/config/repo-config.js';

let root: string;
const write = (text: string) => writeFileSync(join(root, 'myt.yaml'), text);

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'myt-repo-config-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('myt.yaml state backend', () => {
  it('defaults to local state under .myt/state when there is no myt.yaml', () => {
    expect(loadRepoConfig(root)).toEqual({ state: { backend: 'local', path: '.myt/state' } });
  });

  it('defaults to local state for an empty myt.yaml', () => {
    write('# nothing set\n');
    expect(loadRepoConfig(root).state).toEqual({ backend: 'local', path: '.myt/state' });
  });

  it('reads an S3 backend and fills in the prefix', () => {
    mkdirSync(join(root, 'secrets'));
    writeFileSync(join(root, 'secrets/state.enc.yaml'), 'x: y\n');
    write('apiVersion: myt/v1\nkind: Repo\nstate:\n  backend: s3\n  bucket: my-tf-state\n  region: eu-west-1\n  credentials: secrets/state.enc.yaml\n');
    expect(loadRepoConfig(root).state).toEqual({ backend: 's3', bucket: 'my-tf-state', region: 'eu-west-1', prefix: 'myt', credentials: 'secrets/state.enc.yaml' });
  });

  it('reads a GCS backend with its own prefix', () => {
    write('state: { backend: gcs, bucket: my-tf-state, prefix: team/iot }\n');
    expect(loadRepoConfig(root).state).toEqual({ backend: 'gcs', bucket: 'my-tf-state', prefix: 'team/iot' });
  });

  it('reports a schema problem with its line and column', () => {
    write('state:\n  backend: s3\n  bucket: Not_A_Bucket\n  region: eu-west-1\n');
    expect(() => loadRepoConfig(root)).toThrow(MytError);
    expect(() => loadRepoConfig(root)).toThrow(/myt\.yaml:3:11: state\.bucket: must be an S3 bucket name/);
  });

  it('reports an unknown backend, listing the known ones', () => {
    write('state:\n  backend: consul\n');
    expect(() => loadRepoConfig(root)).toThrow(/myt\.yaml:2:\d+: .*local, s3, gcs/);
  });

  it('refuses a credentials file that does not exist', () => {
    write('state: { backend: s3, bucket: my-tf-state, region: eu-west-1, credentials: secrets/missing.enc.yaml }\n');
    expect(() => loadRepoConfig(root)).toThrow(/myt\.yaml:1:\d+: state\.credentials: 'secrets\/missing\.enc\.yaml' does not exist/);
  });

  it('refuses a local state path outside the repository', () => {
    write('state: { backend: local, path: ../elsewhere }\n');
    expect(() => loadRepoConfig(root)).toThrow(/state\.path '\.\.\/elsewhere' must be a folder inside the repository/);
  });

  it('refuses YAML that does not parse, with its position', () => {
    write('state: [unclosed\n');
    expect(() => loadRepoConfig(root)).toThrow(/^myt\.yaml:\d+:\d+: /);
  });
});

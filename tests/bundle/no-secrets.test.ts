// No value of any secrets file of the repository appears in any file of any shipped example's
// bundle (what `myt plan` writes and a pull request shows): the examples' secrets are decrypted
// with the public demo key and every rendered file is searched for each of them.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderBundle, type RenderedBundle } from '../../src/bundle/bundle.js';
import { generateSecrets, renderSecretFiles } from '../../src/bundle/secret-files.js';
import { resolvePlatform } from '../../src/config/defaults.js';
import { loadRepository } from '../../src/config/repository.js';
import { readSecrets, resetSecretRegistry } from '../../src/secrets/index.js';
import { createCa, issueServerCertificate } from '../../src/tls/certificates.js';
import { ROOT } from './helpers.js';

const env = { SOPS_AGE_KEY_FILE: join(ROOT, 'examples/demo.agekey') };
/** Fields that identify rather than protect (src/secrets/shapes.ts isPublicField). */
const PUBLIC = new Set(['publicKey', 'caCertificate', 'client_email', 'client_id', 'project_id', 'type', 'auth_uri', 'token_uri', 'auth_provider_x509_cert_url', 'client_x509_cert_url', 'universe_domain']);

/** Every secret string: each value, each long line of a multi-line one (a PEM body), parsed JSON inside. */
function collect(value: unknown, key: string, into: Set<string>): void {
  if (typeof value === 'string') {
    if (PUBLIC.has(key)) return;
    for (const part of [value, ...value.split('\n')]) {
      const t = part.trim();
      if (t.length >= 8 && !/^-----(BEGIN|END) [A-Z ]+-----$/.test(t)) into.add(t);
    }
    if (value.trim().startsWith('{')) collect(JSON.parse(value), key, into);
  } else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) collect(v, k, into);
}

let secretFiles: string[];
let values: string[];
let bundles: RenderedBundle[];
const text = (c: string | Uint8Array) => (typeof c === 'string' ? c : Buffer.from(c).toString('latin1'));

beforeAll(async () => {
  secretFiles = readdirSync(join(ROOT, 'secrets'), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.enc.yaml'))
    .map((d) => relative(ROOT, join(d.parentPath, d.name)));
  const found = new Set<string>();
  for (const f of secretFiles) collect(await readSecrets(ROOT, f, { env }), '', found);
  values = [...found];
  const repo = await loadRepository(ROOT);
  bundles = await Promise.all(repo.platforms.map((p) => renderBundle(p, { root: ROOT, writeLock: false })));
  resetSecretRegistry();
}, 300_000);

describe('the bundles of the shipped examples', () => {
  it('were rendered for every platform from every secrets file of the examples', () => {
    expect(bundles.map((b) => b.platform).sort()).toEqual(['factory', 'fleet', 'greenhouse', 'minimal', 'weather']);
    expect(secretFiles).toEqual(expect.arrayContaining(['secrets/rabbitmq.enc.yaml', 'secrets/grafana.enc.yaml', 'secrets/tls/greenhouse.enc.yaml', 'secrets/keys/greenhouse.enc.yaml', 'secrets/aws.enc.yaml']));
    for (const known of ['demo-grafana-admin-7d3e91', 'demo-sensors-pw-4f9c2e', 'wJalrXUtnFEMIdemoK7MDENGbPxRfiCYEXAMPLEKEY']) expect(values).toContain(known);
    expect(values.length).toBeGreaterThan(30);
  });

  it('hold no value of any secrets file, in any file', () => {
    const leaks: string[] = [];
    for (const b of bundles) {
      for (const f of b.files) {
        const t = text(f.content);
        for (const v of values) if (t.includes(v)) leaks.push(`${b.platform}/${f.path} holds a value of length ${v.length}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('the search finds values where they are meant to be: in the files the deploy step writes', async () => {
    const repo = await loadRepository(ROOT);
    const greenhouse = resolvePlatform(repo.platforms.find((p) => p.doc.metadata.name === 'greenhouse')!.doc);
    const ca = await createCa('greenhouse');
    const files = renderSecretFiles(greenhouse, {
      generated: generateSecrets(),
      brokerUsers: { 'greenhouse-sensors': 'demo-sensors-pw-4f9c2e' },
      grafanaAdminPassword: 'demo-grafana-admin-7d3e91',
      tls: { caCertificate: ca.certificate, server: await issueServerCertificate(ca, '127.0.0.1') },
    });
    const found = values.filter((v) => files.some((f) => f.content.includes(v)));
    expect(found).toContain('demo-grafana-admin-7d3e91');
  });
});

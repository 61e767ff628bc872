// The files the deploy step writes from secrets (rendered here, as data): where compose.yaml looks
// for them, who may read them, and that they carry what the services need and nothing in the clear
// that a hash would do.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedPlatform } from '../../src/config/defaults.js';
import { generateSecrets, parseGenerated, renderSecretFiles, type DeploySecrets } from '../../src/bundle/secret-files.js';
import type { SecretFile } from '../../src/bundle/layout.js';
import { readSecrets, resetSecretRegistry } from '../../src/secrets/index.js';
import { createCa, issueServerCertificate } from '../../src/tls/certificates.js';
import { composeOf, examplePlatforms, ROOT, sourceOf } from './helpers.js';

const env = { SOPS_AGE_KEY_FILE: join(ROOT, 'examples/demo.agekey') };
let examples: ResolvedPlatform[];
let secrets: DeploySecrets;
beforeAll(async () => {
  examples = await examplePlatforms();
  const users = (await readSecrets(ROOT, 'secrets/rabbitmq.enc.yaml', { env })).users as Record<string, string>;
  const grafana = await readSecrets(ROOT, 'secrets/grafana.enc.yaml', { env });
  const ca = await createCa('greenhouse');
  secrets = { generated: generateSecrets(), brokerUsers: users, grafanaAdminPassword: grafana.adminPassword as string, tls: { caCertificate: ca.certificate, server: await issueServerCertificate(ca, '127.0.0.1') } };
  resetSecretRegistry();
});

const byPath = (files: SecretFile[]) => new Map(files.map((f) => [f.path, f]));
const envOf = (text: string) => Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

describe('the secret files of every shipped example', () => {
  it('are all of mode 0600 under /opt/myt/<platform>/secrets/, and hold every file compose.yaml reads secrets from', () => {
    for (const p of examples) {
      const files = renderSecretFiles(p, secrets);
      const dir = `/opt/myt/${p.metadata.name}/secrets/`;
      for (const f of files) {
        expect(f.path.startsWith(dir), f.path).toBe(true);
        expect(f.mode).toBe(0o600);
      }
      const paths = new Set(files.map((f) => f.path));
      for (const [name, s] of Object.entries(composeOf(p).services)) {
        for (const e of s.env_file ?? []) expect(paths.has(e), `${p.metadata.name}/${name}: ${e}`).toBe(true);
        for (const v of s.volumes ?? []) {
          const source = sourceOf(v);
          if (!source.startsWith(dir)) continue;
          // A file, or a folder the deploy fills (the TLS material).
          expect(paths.has(source) || [...paths].some((x) => x.startsWith(`${source}/`)), `${p.metadata.name}/${name}: ${source}`).toBe(true);
        }
      }
    }
  });

  it('belong to root when Compose reads them, to the container user when a container does', () => {
    const greenhouse = examples.find((p) => p.metadata.name === 'greenhouse')!;
    const owners = Object.fromEntries(renderSecretFiles(greenhouse, secrets).map((f) => [f.path.replace('/opt/myt/greenhouse/secrets/', ''), f.uid]));
    expect(owners).toEqual({
      'generated.json': 0,
      'processor.env': 0,
      'database.env': 0,
      'grafana.env': 0,
      'grafana/admin-password': 472,
      'rabbitmq/users.json': 999,
      'rabbitmq/tls/ca.pem': 999,
      'rabbitmq/tls/server.pem': 999,
      'rabbitmq/tls/server.key': 999,
    });
  });
});

describe('what they hold', () => {
  it("the processor's URLs: its own broker user and its own database user, never the admin", () => {
    for (const p of examples) {
      const files = byPath(renderSecretFiles(p, secrets));
      const vars = envOf(files.get(`/opt/myt/${p.metadata.name}/secrets/processor.env`)!.content);
      expect(Object.keys(vars)).toEqual(['MYT_AMQP_URL', 'MYT_DB_URL']);
      const amqp = new URL(vars.MYT_AMQP_URL!);
      expect([amqp.protocol, amqp.username, amqp.password, amqp.host]).toEqual(['amqp:', 'myt-processor', secrets.generated.brokerProcessor, 'rabbitmq:5672']);
      const db = new URL(vars.MYT_DB_URL!);
      expect([db.username, db.password, db.pathname]).toEqual(['myt_processor', secrets.generated.dbProcessor, '/MyTData']);
      expect(vars.MYT_DB_URL).not.toContain(secrets.generated.dbAdmin);
    }
  });

  it('the broker users as salted SHA-256 hashes (rabbit_password_hashing_sha256), no password in the clear', () => {
    const greenhouse = examples.find((p) => p.metadata.name === 'greenhouse')!;
    const text = byPath(renderSecretFiles(greenhouse, secrets)).get('/opt/myt/greenhouse/secrets/rabbitmq/users.json')!.content;
    const defs = JSON.parse(text) as { users: { name: string; password_hash: string; hashing_algorithm: string }[]; permissions: { user: string; configure: string; write: string; read: string }[] };
    const passwords: Record<string, string> = { 'myt-processor': secrets.generated.brokerProcessor, ...secrets.brokerUsers };
    expect(defs.users.map((u) => u.name)).toEqual(['myt-processor', 'dashboard', 'greenhouse-sensors']);
    for (const u of defs.users) {
      expect(u.hashing_algorithm).toBe('rabbit_password_hashing_sha256');
      const raw = Buffer.from(u.password_hash, 'base64');
      const salt = raw.subarray(0, 4);
      expect(createHash('sha256').update(Buffer.concat([salt, Buffer.from(passwords[u.name]!)])).digest().equals(raw.subarray(4))).toBe(true);
      expect(text).not.toContain(passwords[u.name]);
    }
    // Devices may declare and publish to data, nothing else; only the processor reads.
    expect(defs.permissions.find((x) => x.user === 'greenhouse-sensors')).toMatchObject({ configure: '^data$', write: '^data$', read: '^$' });
    expect(new RegExp(defs.permissions.find((x) => x.user === 'myt-processor')!.read).test('myt.readings.0')).toBe(true);
    expect(new RegExp(defs.permissions.find((x) => x.user === 'greenhouse-sensors')!.write).test('myt.spread')).toBe(false);
  });

  it("Grafana's admin password from the platform's secrets file, else the generated one", () => {
    const greenhouse = examples.find((p) => p.metadata.name === 'greenhouse')!;
    expect(byPath(renderSecretFiles(greenhouse, secrets)).get('/opt/myt/greenhouse/secrets/grafana/admin-password')!.content).toBe('demo-grafana-admin-7d3e91');
    const { grafanaAdminPassword: _, ...without } = secrets;
    expect(byPath(renderSecretFiles(greenhouse, without)).get('/opt/myt/greenhouse/secrets/grafana/admin-password')!.content).toBe(secrets.generated.grafanaAdmin);
  });

  it('the same secrets give the same bytes (a deploy with nothing changed changes nothing)', () => {
    for (const p of examples) expect(renderSecretFiles(p, secrets)).toEqual(renderSecretFiles(p, secrets));
  });

  it('the generated passwords round-trip through generated.json', () => {
    const text = renderSecretFiles(examples[0]!, secrets).find((f) => f.path.endsWith('/generated.json'))!.content;
    expect(parseGenerated(text)).toEqual(secrets.generated);
    expect(() => parseGenerated('{"dbAdmin":"x"}')).toThrow("'brokerProcessor' is missing or not a generated password");
  });
});

describe('refusals', () => {
  it('a device user named like the processor', () => {
    expect(() => renderSecretFiles(examples[0]!, { ...secrets, brokerUsers: { 'myt-processor': 'long-enough-pw' } })).toThrow("broker user 'myt-processor' is the processor's own");
  });

  it('a TLS platform without its certificate', () => {
    const greenhouse = examples.find((p) => p.metadata.name === 'greenhouse')!;
    expect(() => renderSecretFiles(greenhouse, { ...secrets, tls: undefined })).toThrow('uses TLS: the deploy needs its CA');
  });

  it('a generated value an env file would have to quote', () => {
    expect(() => renderSecretFiles(examples[0]!, { ...secrets, generated: { ...secrets.generated, dbAdmin: 'has $dollar and spaces' } })).toThrow("generated secret 'dbAdmin' is not a generated password");
  });
});

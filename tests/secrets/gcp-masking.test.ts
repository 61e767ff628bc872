// A GCP service-account key is stored as JSON text; programs print it in other forms: the PEM lines
// of its private_key, the key JSON-escaped, the JSON compacted, base64. `myt apply` runs against a
// STAND-IN terraform (a Node script; no provider download or cloud API here) whose contract, as MyT
// uses it: `init` exits 0, `plan -out=F` writes F and exits 2, `show -json F` prints a JSON plan,
// `apply F` fails (exit 1). Unlike the real one it prints every form of GOOGLE_CREDENTIALS, on
// stdout during init and on stderr when apply fails, and keeps a raw copy of what it printed.
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { enableActionsMasking, resetSecretRegistry } from '../../src/secrets/index.js';
import { generateKeys, writeNewSecrets } from '../../src/secrets/operations.js';
import type { AgeKeyPair } from '../../src/secrets/age-keys.js';
import { cliContext, envWithKey, keyPair, tempRepo, type TempRepo } from './helpers.js';

const STAND_IN = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const [cmd, ...args] = process.argv.slice(2);
const creds = process.env.GOOGLE_CREDENTIALS || '';
const key = JSON.parse(creds);
const forms = [
  ...key.private_key.split('\\n').filter(Boolean).map((l) => 'pem line: ' + l),
  'escaped: ' + JSON.stringify(key.private_key).slice(1, -1),
  'compact: ' + JSON.stringify(key),
  'base64: ' + Buffer.from(creds).toString('base64'),
  'account: ' + key.client_email,
].join('\\n');
const say = (stream) => { fs.appendFileSync(path.join(__dirname, 'printed.txt'), forms + '\\n'); stream.write(forms + '\\n'); };
if (cmd === 'init') { say(process.stdout); process.exit(0); }
if (cmd === 'plan') { fs.writeFileSync(args.find((a) => a.startsWith('-out=')).slice(5), 'plan'); process.exit(2); }
if (cmd === 'show') { console.log(JSON.stringify({ format_version: '1.2', resource_changes: [{ address: 'google_compute_instance.instance', type: 'google_compute_instance', mode: 'managed', change: { actions: ['create'] } }] })); process.exit(0); }
if (cmd === 'apply') { say(process.stderr); process.exit(1); }
process.exit(0);
`;

const PLATFORM = `apiVersion: myt/v1
kind: Platform
metadata:
  name: weather
spec:
  cloud: { provider: gcp, project: myt-weather-demo, region: europe-west1, zone: europe-west1-b, credentials: secrets/gcp.enc.yaml }
  database: { engine: influxdb }
`;

let key: AgeKeyPair;
let repo: TempRepo;
beforeAll(async () => {
  key = await keyPair();
});
afterEach(() => {
  repo?.remove();
  resetSecretRegistry();
});

/** A service-account key file as Google hands it out: pretty-printed JSON, the private key a PEM with \\n escapes. */
function serviceAccountKeyText(): { text: string; privateKey: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const json = {
    type: 'service_account',
    project_id: 'myt-weather-demo',
    private_key_id: '3f1c0e9b7a5d4c2e8f6a1b0c9d8e7f6a5b4c3d2e',
    private_key: privateKey,
    client_email: 'myt@myt-weather-demo.iam.gserviceaccount.com',
    client_id: '104729318460237841234',
  };
  return { text: JSON.stringify(json, null, 2), privateKey };
}

describe('a GCP service-account key stored as JSON text', () => {
  it('is masked in every form a program prints it: PEM lines, JSON-escaped, compact JSON, base64 (log, error recap and what core.setSecret is told)', async () => {
    repo = tempRepo([key.recipient]);
    const { text, privateKey } = serviceAccountKeyText();
    await writeNewSecrets(repo.root, 'secrets/gcp.enc.yaml', { serviceAccountKey: text });
    await generateKeys(repo.root, 'weather', false);
    repo.write('platforms/weather.yaml', PLATFORM);
    const terraform = repo.write('terraform', STAND_IN);
    chmodSync(terraform, 0o755);
    resetSecretRegistry();
    const told: string[] = [];
    enableActionsMasking((v) => told.push(v));

    const ctx = cliContext(repo.root, envWithKey(key.identity, { PATH: process.env.PATH, MYT_TERRAFORM: terraform }));
    const code = await runCli(['apply', 'weather'], ctx);
    const output = ctx.out.join('') + ctx.err.join('');
    expect(code).toBe(1);
    expect(existsSync(join(repo.root, 'printed.txt'))).toBe(true);
    expect(output).toContain('myt apply: error: apply of stack weather failed');
    expect(output).toMatch(/pem line: \*\*\*/);

    const parsed = JSON.parse(text) as Record<string, string>;
    const secretForms = [
      ...privateKey.split('\n').filter((l) => l.length > 0 && !l.startsWith('-----')),
      JSON.stringify(privateKey).slice(1, -1),
      JSON.stringify(parsed),
      Buffer.from(text).toString('base64'),
      parsed.private_key_id!,
    ];
    expect(secretForms.filter((f) => output.includes(f)).map((f) => `a form of length ${f.length}`)).toEqual([]);
    // What the Actions runner would hide, told through core.setSecret: the stand-in's raw output with every told value masked.
    const raw = readFileSync(join(repo.root, 'printed.txt'), 'utf8');
    const runnerView = told.sort((a, b) => b.length - a.length).reduce((t, v) => t.split(v).join('***'), raw);
    expect(secretForms.filter((f) => runnerView.includes(f)).map((f) => `a form of length ${f.length}`)).toEqual([]);
    // Public identifiers stay readable.
    expect(output).toContain('myt@myt-weather-demo.iam.gserviceaccount.com');
  });
});

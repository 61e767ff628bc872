// Every text an action hands to GitHub (annotations, log, outputs, failure, job summary) passes the
// secrets mask: the runner masks only its log, while the summary and outputs are kept as written.
import type * as core from '@actions/core';
import { afterEach, describe, expect, it } from 'vitest';
import { maskingReporter, type Reporter } from '../../src/actions/report.js';
import { run as validate } from '../../src/actions/validate/run.js';
import { registerSecret, resetSecretRegistry } from '../../src/secrets/masking.js';
import { SSH_PLATFORM, tempRepo } from '../helpers/temp-repo.js';

afterEach(() => resetSecretRegistry());

/** Records everything a reporter is given, as one text. */
function recorder() {
  const said: string[] = [];
  const summaryApi = {
    addHeading: (t: string) => (said.push(`heading ${t}`), summaryApi),
    addRaw: (t: string) => (said.push(`raw ${t}`), summaryApi),
    addTable: (rows: unknown[][]) => (said.push(`table ${JSON.stringify(rows)}`), summaryApi),
    write: () => Promise.resolve(summaryApi),
  };
  const reporter = {
    error: (m: string, p?: core.AnnotationProperties) => said.push(`error ${m} ${JSON.stringify(p ?? {})}`),
    warning: (m: string, p?: core.AnnotationProperties) => said.push(`warning ${m} ${JSON.stringify(p ?? {})}`),
    notice: (m: string) => said.push(`notice ${m}`),
    info: (m: string) => said.push(`info ${m}`),
    setOutput: (n: string, v: unknown) => said.push(`output ${n}=${String(v)}`),
    setFailed: (m: string) => said.push(`failed ${m}`),
    setSecret: () => undefined,
    summary: summaryApi,
  } as unknown as Reporter;
  return { reporter, said };
}

describe('the masking reporter', () => {
  it('masks a registered value in every kind of text it passes on', async () => {
    registerSecret('hunter2-long-secret');
    const { reporter, said } = recorder();
    const r = maskingReporter(reporter);
    const s = 'x hunter2-long-secret y';
    r.error(s, { title: s, file: 'a.yaml', startLine: 1 });
    r.warning(s, { title: s });
    r.notice(s);
    r.info(s);
    r.setOutput('o', s);
    r.setOutput('json', { value: s });
    r.setFailed(s);
    await r.summary.addHeading(s).addRaw(s).addTable([[s, { data: s, header: true }]]).write();
    expect(said).toHaveLength(10);
    expect(said.join('\n')).not.toContain('hunter2');
    expect(said.join('\n')).toContain('x *** y');
    expect(said).toContain('output json={"value":"x *** y"}');
  });
});

describe('the validate action masks its problems', () => {
  it('a problem quoting a secret value reaches neither the annotation, the summary nor the failure', async () => {
    // The value is also a secret (a decrypted one, say): a problem that quotes it must not show it.
    const value = 'oracle-s3cret-value';
    const root = tempRepo({ 'secrets/ssh.enc.yaml': 'sops: {}\n', 'platforms/p.yaml': SSH_PLATFORM.replace('engine: influxdb', `engine: ${value}`) });
    registerSecret(value);
    const { reporter, said } = recorder();
    await validate({ workspace: root, paths: [], env: { PATH: process.env.PATH, npm_config_offline: 'true' } }, reporter);
    const text = said.join('\n');
    // the problem was reported (so the check below is about masking, not about silence)
    expect(text).toMatch(/error spec\.database\.engine: must be one of: .*\(got '\*\*\*'\)/);
    expect(text).toContain('table ');
    expect(text).not.toContain(value);
  }, 60_000);

  it('masks a secret with HTML or Markdown characters after the summary escaped them', async () => {
    const value = 'pa<ss&word|42';
    const root = tempRepo({ 'secrets/ssh.enc.yaml': 'sops: {}\n', 'platforms/p.yaml': SSH_PLATFORM.replace('engine: influxdb', `engine: "${value}"`) });
    registerSecret(value);
    const { reporter, said } = recorder();
    await validate({ workspace: root, paths: [], env: { PATH: process.env.PATH, npm_config_offline: 'true' } }, reporter);
    const text = said.join('\n');
    expect(text).toMatch(/table .*got '\*\*\*'/);
    expect(text).not.toContain('pa&lt;ss&amp;word');
    expect(text).not.toContain('word|42');
  }, 60_000);
});

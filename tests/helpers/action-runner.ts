// Runs a bundled action (actions/<name>/dist/index.js) as GitHub's runner does: `node` on the
// file with its inputs as INPUT_<NAME> variables (upper-cased, spaces to '_', as the runner makes
// them), the GITHUB_* variables, an event payload file, and real GITHUB_STEP_SUMMARY and
// GITHUB_OUTPUT files, whose contents (the runner's "name<<delimiter" format) are read back. The
// actions run from a copy of actions/ outside this repository, as a user's runner has them: no
// node_modules anywhere above, so a bundle that still needs one fails here.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const ACTIONS_DIR = join(import.meta.dirname, '../../actions');

let standalone: string | undefined;

/** actions/ copied once per test process into a folder with only the runner's view of the action repository. */
function standaloneActions(): string {
  if (standalone === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'myt-action-repo-'));
    cpSync(ACTIONS_DIR, join(dir, 'actions'), { recursive: true });
    // The action repository's package.json says "type": "module", as this one does.
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    standalone = join(dir, 'actions');
  }
  return standalone;
}

export interface ActionRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly summary: string;
  readonly outputs: Record<string, string>;
}

export interface RunActionOptions {
  readonly workspace: string;
  readonly inputs?: Record<string, string>;
  readonly event?: { readonly name: string; readonly payload: unknown };
  /** GITHUB_SHA */
  readonly sha?: string;
  readonly apiUrl?: string;
  readonly env?: Record<string, string>;
  readonly repository?: string;
}

/** Reads a GITHUB_OUTPUT file: `name<<DELIMITER\nvalue\nDELIMITER` (what @actions/core writes) or `name=value`. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]!);
      out[heredoc[1]!] = value.join('\n');
    } else if (line.includes('=')) out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return out;
}

export async function runAction(name: string, opts: RunActionOptions): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), 'myt-runner-'));
  try {
    const summary = join(dir, 'step_summary');
    const output = join(dir, 'output');
    const eventPath = join(dir, 'event.json');
    writeFileSync(summary, '');
    writeFileSync(output, '');
    writeFileSync(eventPath, JSON.stringify(opts.event?.payload ?? {}));
    const inputs = Object.fromEntries(Object.entries(opts.inputs ?? {}).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]));
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      RUNNER_TEMP: dir,
      GITHUB_ACTIONS: 'true',
      CI: 'true',
      GITHUB_WORKSPACE: opts.workspace,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_OUTPUT: output,
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_EVENT_NAME: opts.event?.name ?? 'push',
      GITHUB_REPOSITORY: opts.repository ?? 'octo/fleet',
      GITHUB_SHA: opts.sha ?? '',
      GITHUB_API_URL: opts.apiUrl ?? 'http://127.0.0.1:9',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_RUN_ID: '4242',
      npm_config_offline: 'true',
      ...inputs,
      ...opts.env,
    };
    const result = await promisify(execFile)(process.execPath, [join(standaloneActions(), name, 'dist', 'index.js')], { env, cwd: opts.workspace, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    return { code: result.code, stdout: result.stdout, stderr: result.stderr, summary: readFileSync(summary, 'utf8'), outputs: parseOutputFile(readFileSync(output, 'utf8')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

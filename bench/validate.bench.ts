// Target (issue 2): validating 200 platform files takes under 1 s.
// Measured three ways: the library's first run in a fresh process (schema compilation included),
// warm runs, and the whole `myt validate` process (Node start-up included).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FILES = 200;
const TARGET_MS = 1000;
/** "A clear error in well under a second" for each hostile file. */
const HOSTILE_MS = 250;
const BIN = fileURLToPath(new URL('../bin/myt.js', import.meta.url));

/** A repository of FILES platforms mixing clouds, engines, tables, schedules and one shared script. */
export function makeRepo(): string {
  const root = mkdtempSync(join(tmpdir(), 'myt-bench-validate-'));
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('secrets/aws.enc.yaml', 'sops: {}\n');
  write('secrets/ssh.enc.yaml', 'sops: {}\n');
  write('processors/shared.ts', 'export default function (m: { data: object }) { return m; }\n');
  write('platforms/spaces/net.yaml', 'apiVersion: myt/v1\nkind: Space\nmetadata:\n  name: net\nspec:\n  provider: aws\n  region: eu-west-1\n  zone: eu-west-1a\n  credentials: secrets/aws.enc.yaml\n');
  for (let i = 0; i < FILES; i++) {
    const name = `site-${i}`;
    const cloud =
      i % 2
        ? '  cloud:\n    provider: ssh\n    host: 127.0.0.1\n    user: myt\n    key: secrets/ssh.enc.yaml\n'
        : '  cloud:\n    provider: aws\n    space: net\n';
    if (i % 2 === 0) write(`secrets/keys/${name}.enc.yaml`, 'sops: {}\n');
    const database =
      i % 3 === 0
        ? '  database:\n    engine: influxdb\n'
        : `  database:\n    engine: ${i % 3 === 1 ? 'mysql' : 'timescaledb'}\n    tables:\n      climate:\n        temperature: double\n        humidity: double\n        label: text\n      power:\n        watts: int\n        switched_on: bool\n`;
    write(
      `platforms/group-${i % 10}/${name}.yaml`,
      `apiVersion: myt/v1\nkind: Platform\nmetadata:\n  name: ${name}\nspec:\n${cloud}${database}  processor:\n    script: processors/shared.ts\n  monitoring:\n    schedule: "*/15 * * * *"\n  backups:\n    schedule: "0 3 * * *"\n    keep: 7\n`,
    );
  }
  return root;
}

function timeProcess(args: string[], cwd: string): number {
  const started = performance.now();
  execFileSync(process.execPath, args, { cwd, stdio: 'pipe' });
  return performance.now() - started;
}

type Loader = (root: string) => Promise<{ problems: unknown[] }>;

/** Time to a clear error for each kind of hostile file, each alone in a repository. */
async function hostileTimings(load: Loader): Promise<[string, number][]> {
  const bomb = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 9; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
  const garbage = Buffer.alloc(1_000_000);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) % 256;
  const cases: [string, string | Buffer][] = [
    ['billion-laughs alias bomb', `${bomb.join('\n')}\n`],
    ['5 MB file', 'k: v\n'.repeat(1_250_000)],
    ['1 MB of binary garbage', garbage],
    ['1 MB one-line YAML string', `"${'x'.repeat(1_000_000)}"\n`],
    ['deeply nested flow (10k levels)', `${'['.repeat(10_000)}${']'.repeat(10_000)}\n`],
  ];
  const out: [string, number][] = [];
  for (const [label, content] of cases) {
    const root = mkdtempSync(join(tmpdir(), 'myt-bench-hostile-'));
    try {
      mkdirSync(join(root, 'platforms'));
      writeFileSync(join(root, 'platforms/hostile.yaml'), content);
      const t = performance.now();
      const { problems } = await load(root);
      const ms = performance.now() - t;
      if (problems.length !== 1) throw new Error(`${label}: expected one clear error, got ${problems.length}`);
      out.push([label, ms]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  return out;
}

export default async function bench(): Promise<boolean> {
  const root = makeRepo();
  try {
    // The library's first run in a fresh process, schema compilation included; it also checks the result.
    const libraryCold = Number(execFileSync(process.execPath, ['--input-type=module', '-e', `
      const { loadRepository } = await import(${JSON.stringify(new URL('../dist/config/repository.js', import.meta.url).href)});
      const t = performance.now();
      const repo = await loadRepository(${JSON.stringify(root)});
      if (repo.problems.length || repo.platforms.length !== ${FILES}) { console.error(repo.problems.slice(0, 3)); process.exit(1); }
      process.stdout.write(String(performance.now() - t));
    `], { cwd: root }).toString());
    const { loadRepository } = await import('../src/config/repository.js');
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await loadRepository(root);
      warm.push(performance.now() - t);
    }
    warm.sort((a, b) => a - b);
    const cli = timeProcess([BIN, 'validate'], root);
    const hostile = await hostileTimings(loadRepository);
    const rows: [string, number][] = [
      [`library, first run in a fresh process (${FILES} files)`, libraryCold],
      ['library, warm (median of 5)', warm[2]!],
      ['`myt validate` process, end to end', cli],
    ];
    for (const [label, ms] of rows) console.log(`  ${label.padEnd(56)} ${ms.toFixed(0).padStart(6)} ms   ${(ms / TARGET_MS).toFixed(2)} of the 1 s target`);
    for (const [label, ms] of hostile) console.log(`  hostile input: ${label.padEnd(41)} ${ms.toFixed(0).padStart(6)} ms   ${(ms / TARGET_MS).toFixed(2)} of 1 s`);
    const met = libraryCold < TARGET_MS && cli < TARGET_MS && hostile.every(([, ms]) => ms < HOSTILE_MS);
    console.log(`  target: ${FILES} files validated in under 1 s (library cold and CLI process): ${met ? 'met' : 'MISSED'}`);
    return met;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

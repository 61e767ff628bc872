// Type errors in a TypeScript processing script, found by `myt validate` with the TypeScript
// compiler; esbuild, which bundles the script, strips types without checking them.
import { describe, expect, it } from 'vitest';
import { runMyt } from '../helpers/cli.js';
import { SSH_PLATFORM, tempRepo } from '../helpers/temp-repo.js';

// Loading the TypeScript compiler takes seconds on a busy machine: a generous bound, not a speed test.
const SLOW = { timeout: 180_000 };

const PLATFORM = `${SSH_PLATFORM}  processor:\n    script: processors/lab.ts\n    packages:\n      date-fns: ^3.6.0\n`;

const SCRIPT = `import { createHash } from 'node:crypto';
import { formatISO } from 'date-fns';
import { scale } from './scale.ts';

interface Message { measurement: string; sensor: string; ts?: string; data: Record<string, number> }

export default function process(m: Message): Message {
  const reading: number = m.sensor;
  const id = createHash('sha256').update(m.sensor).digest('hex');
  return { ...m, ts: m.ts ?? formatISO(new Date()), data: { ...m.data, scaled: scale(reading), idLength: id.length } };
}
`;
const HELPER = `export function scale(value: number): number {\n  return value.toFixed(2);\n}\n`;

describe('myt validate on a TypeScript processing script', () => {
  it('reports type errors in the script and its own modules at their lines; Node modules are typed, a declared package not installed is not an error', SLOW, async () => {
    const root = tempRepo({ 'secrets/ssh.enc.yaml': 'sops: {}\n', 'platforms/lab.yaml': PLATFORM, 'processors/lab.ts': SCRIPT, 'processors/scale.ts': HELPER });
    const run = await runMyt(['validate', '--offline'], root);
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n').filter((l) => l.includes('error:'))).toEqual([
      "processors/lab.ts:8:9: error: type error: Type 'string' is not assignable to type 'number'. (TS2322)",
      "processors/scale.ts:2:3: error: type error: Type 'string' is not assignable to type 'number'. (TS2322)",
    ]);
  });

  it('passes a script without type errors', SLOW, async () => {
    const root = tempRepo({
      'secrets/ssh.enc.yaml': 'sops: {}\n',
      'platforms/lab.yaml': PLATFORM,
      'processors/lab.ts': SCRIPT.replace('const reading: number = m.sensor;', 'const reading: number = m.data.value ?? 0;'),
      'processors/scale.ts': HELPER.replace('value.toFixed(2)', 'Math.round(value * 100) / 100'),
    });
    const run = await runMyt(['validate', '--offline'], root);
    expect(run.stdout).toBe('all valid (1 file checked)\n');
    expect(run.code).toBe(0);
  });
});

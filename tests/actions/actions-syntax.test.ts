// Every action.yml and workflow of this repository passes a real validator of the Actions syntax.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { actionProblems, workflowProblems } from '../helpers/actions-syntax.js';

const PROJECT = join(import.meta.dirname, '../..');
const actions = readdirSync(join(PROJECT, 'actions'), { withFileTypes: true })
  .filter((e) => e.isDirectory() && e.name !== 'runtime')
  .map((e) => e.name);
const workflows = readdirSync(join(PROJECT, '.github/workflows')).filter((f) => /\.ya?ml$/.test(f));

describe('the Actions syntax (@action-validator/core)', () => {
  it('finds problems when there are some (so an empty list below means something)', () => {
    expect(workflowProblems('on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    stepz: []\n')).not.toEqual([]);
    expect(actionProblems('name: x\ndescription: y\nruns:\n  using: node24\n  mian: dist/index.js\n')).not.toEqual([]);
    expect(actionProblems('name: x\nruns:\n  using: node24\n  main: dist/index.js\n')).not.toEqual([]);
  });

  it.each(actions)('actions/%s/action.yml is a valid node24 action whose main is its bundled dist/index.js', (name) => {
    const text = readFileSync(join(PROJECT, 'actions', name, 'action.yml'), 'utf8');
    expect(actionProblems(text)).toEqual([]);
    expect(text).toMatch(/^\s+using: node24$/m);
    expect(text).toMatch(/^\s+main: dist\/index.js$/m);
  });

  it.each(workflows)('.github/workflows/%s is a valid workflow', (file) => {
    expect(workflowProblems(readFileSync(join(PROJECT, '.github/workflows', file), 'utf8'))).toEqual([]);
  });
});

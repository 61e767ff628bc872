// Checks action.yml and workflow files with @action-validator/core (SchemaStore's schemas for
// GitHub Actions, compiled to WebAssembly). Its action schema (0.6.0) predates the node24 runtime
// that GitHub's runner has run since 2025 (actions/runner#3940; actionlint added it in #561): for
// `runs.using: node24` the only complaint it may make is about /runs, and the same file with
// node20 in its place must then be fully valid, so nothing else can hide behind that one allowance.
import { validateAction, validateWorkflow } from '@action-validator/core';

export function workflowProblems(text: string): string[] {
  return validateWorkflow(text).errors.map((e) => JSON.stringify(e));
}

export function actionProblems(text: string): string[] {
  const errors = validateAction(text).errors;
  if (!/^\s+using: node24\s*$/m.test(text)) return errors.map((e) => JSON.stringify(e));
  const outsideRuns = errors.filter((e) => !('path' in e) || e.path !== '/runs');
  if (outsideRuns.length) return outsideRuns.map((e) => JSON.stringify(e));
  return validateAction(text.replace(/^(\s+using: )node24(\s*)$/m, '$1node20$2')).errors.map((e) => JSON.stringify(e));
}

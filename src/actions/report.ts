import * as core from '@actions/core';
import type { Problem } from '../config/problem.js';

/** The parts of @actions/core the actions report through; tests pass a recorder. */
export interface Reporter {
  error(message: string, properties?: core.AnnotationProperties): void;
  warning(message: string, properties?: core.AnnotationProperties): void;
  notice(message: string, properties?: core.AnnotationProperties): void;
  info(message: string): void;
  setOutput(name: string, value: unknown): void;
  setFailed(message: string): void;
  setSecret(value: string): void;
  summary: Pick<typeof core.summary, 'addHeading' | 'addRaw' | 'addTable' | 'write'>;
}

export const actionsReporter: Reporter = core;

/** One annotation per problem, on its file and line, so the pull request shows it in the diff. */
export function annotate(reporter: Reporter, problems: readonly Problem[]): void {
  for (const p of problems) {
    reporter.error(p.message, { title: 'myt validate', file: p.file, startLine: p.line, startColumn: p.col });
  }
}

/**
 * Text for a job-summary table cell. core.summary writes cells into raw HTML, and problem messages
 * quote what the user wrote, so markup must be escaped or a pull request could inject HTML.
 */
export function cell(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\r?\n/g, ' ');
}

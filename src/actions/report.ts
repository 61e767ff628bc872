import * as core from '@actions/core';
import type { Problem } from '../config/problem.js';
import { MytError, messageOf } from '../errors.js';
import { maskSecrets } from '../secrets/masking.js';

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

/**
 * The reporter with every text it carries passed through the secrets mask first: annotations,
 * log lines, outputs, the failure message and the job summary. The runner masks only its log, and
 * only values it was told; the summary and outputs it keeps as written. Every action reports
 * through this, so no text reaches GitHub unmasked whoever wrote the call.
 */
export function maskingReporter(inner: Reporter): Reporter {
  const m = (text: string) => maskSecrets(text);
  const props = (p?: core.AnnotationProperties) => (p?.title === undefined ? p : { ...p, title: m(p.title) });
  type Summary = Reporter['summary'];
  type Row = Parameters<Summary['addTable']>[0][number];
  const cellOf = (c: Row[number]) => (typeof c === 'string' ? m(c) : { ...c, data: m(c.data) });
  const summary: Summary = {
    addHeading: (text, level) => (inner.summary.addHeading(m(text), level), summary) as never,
    addRaw: (text, addEOL) => (inner.summary.addRaw(m(text), addEOL), summary) as never,
    addTable: (rows) => (inner.summary.addTable(rows.map((row) => row.map(cellOf))), summary) as never,
    write: (options) => inner.summary.write(options),
  };
  return {
    error: (message, p) => inner.error(m(message), props(p)),
    warning: (message, p) => inner.warning(m(message), props(p)),
    notice: (message, p) => inner.notice(m(message), props(p)),
    info: (message) => inner.info(m(message)),
    // As @actions/core writes a value: a string as it is, anything else as JSON, nothing as ''.
    setOutput: (name, value) => inner.setOutput(name, m(value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value))),
    setFailed: (message) => inner.setFailed(m(message)),
    setSecret: (value) => inner.setSecret(value),
    summary,
  };
}

/** Fails the step with what went wrong: a MyT error as it is, anything else as an internal error. */
export function reportFailure(reporter: Reporter, err: unknown): void {
  reporter.setFailed(err instanceof MytError ? err.message : `internal error: ${messageOf(err)}`);
}

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

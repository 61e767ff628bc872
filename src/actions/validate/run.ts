import { maskSecretsInLog } from '../masking.js';
import { actionsReporter, annotate, cell, maskingReporter, reportFailure, type Reporter } from '../report.js';
import { readSettings, type ActionSettings } from '../settings.js';
import { SECRETS_NOT_DECRYPTED, validateRepository } from '../../validation/index.js';

/**
 * The validate action: every problem becomes an annotation on its line, the job summary lists them,
 * and the step fails when there is any. Settings and reporter are injectable for tests.
 */
export async function run(settings?: ActionSettings, unmasked: Reporter = actionsReporter): Promise<void> {
  // Problem messages quote what they check, decrypted secrets included: every text is masked.
  const reporter = maskingReporter(unmasked);
  try {
    const resolved = settings ?? readSettings();
    maskSecretsInLog(resolved, reporter);
    const { workspace, paths, env } = resolved;
    // The pull-request check asks the npm registry about declared packages and type-checks scripts, as `myt validate` does.
    const repo = await validateRepository(workspace, { paths: paths.length ? paths : undefined, env, registry: true, typecheck: true });
    annotate(reporter, repo.problems);
    const s = reporter.summary.addHeading('MyT: validate', 2);
    if (repo.problems.length === 0) {
      s.addRaw(`All ${repo.files.length} declaration files are valid.\n`);
    } else {
      s.addRaw(`${repo.problems.length} problem(s) in ${repo.files.length} checked file(s).\n\n`).addTable([
        [
          { data: 'Where', header: true },
          { data: 'Problem', header: true },
        ],
        ...repo.problems.map((p) => [cell(`${p.file}:${p.line}:${p.col}`), cell(p.message)]),
      ]);
    }
    await s.write();
    if (repo.problems.length) reporter.setFailed(`${repo.problems.length} problem(s) in the declarations`);
    else reporter.info(`all ${repo.files.length} declaration files are valid`);
    for (const note of repo.notes) reporter.info(`note: ${note}`);
    if (repo.secretsChecked === 'form') reporter.info(`note: ${SECRETS_NOT_DECRYPTED}`);
  } catch (err) {
    reportFailure(reporter, err);
  }
}

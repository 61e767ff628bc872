import { enableActionsMasking, registerSecret } from '../secrets/masking.js';
import type { Reporter } from './report.js';
import type { ActionSettings } from './settings.js';

/**
 * The first thing every action does: from here on each secret value the library learns is also
 * masked by the runner in the job log, starting with the age key itself.
 */
export function maskSecretsInLog(settings: ActionSettings, reporter: Reporter): void {
  enableActionsMasking((value) => reporter.setSecret(value));
  if (settings.env.SOPS_AGE_KEY) registerSecret(settings.env.SOPS_AGE_KEY);
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SOPS_CONFIG } from './sops-config.js';

/**
 * The recipient of examples/demo.agekey. Its private key is committed for the offline demo, so
 * anything encrypted to it is readable by anyone: real secrets must never be.
 */
export const DEMO_RECIPIENT = 'age1hedf89rne6j7dnnks0temx8dwf3rxnlsaqdfwv6x7fvxyg4qmdcqnu2wv8';

/** A warning for stderr when the repository's .sops.yaml still encrypts to the demo key. */
export function demoKeyWarning(root: string): string | undefined {
  let config: string;
  try {
    config = readFileSync(join(root, SOPS_CONFIG), 'utf8');
  } catch {
    return undefined;
  }
  if (!config.includes(DEMO_RECIPIENT)) return undefined;
  return (
    `warning: ${SOPS_CONFIG} encrypts to the public DEMO key (examples/demo.agekey), which anyone can decrypt. Before storing real secrets, run ` +
    `'myt secrets init' (a key of your own), then 'SOPS_AGE_KEY_FILE=examples/demo.agekey myt secrets updatekeys' (every file re-encrypted to it).\n`
  );
}

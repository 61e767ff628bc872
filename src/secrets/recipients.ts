import { MytError } from '../errors.js';
import { DEMO_RECIPIENT } from './demo-key.js';
import { SOPS_CONFIG, type CreationRule } from './sops-config.js';
import { entry, type MapTree } from './sops-tree.js';

/**
 * A file's age recipients against the `.sops.yaml` rule for its path. Recipients are public keys,
 * read from the metadata without decrypting anything, so this works without a private key.
 */

/** The age recipients a SOPS document's data key is wrapped for (empty when it names none). */
export function recipientsOf(doc: MapTree): string[] {
  const sops = entry(doc, 'sops');
  if (sops?.kind !== 'map') return [];
  const out: string[] = [];
  const collect = (list: ReturnType<typeof entry>) => {
    if (list?.kind !== 'list') return;
    for (const item of list.items) {
      const recipient = item.kind === 'map' ? entry(item, 'recipient') : undefined;
      if (recipient?.kind === 'str') out.push(recipient.value);
    }
  };
  collect(entry(sops, 'age'));
  const groups = entry(sops, 'key_groups');
  if (groups?.kind === 'list') for (const g of groups.items) if (g.kind === 'map') collect(entry(g, 'age'));
  return out;
}

export function sameRecipients(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((r) => right.has(r));
}

/**
 * Why a file's recipients are not the ones its rule names, or undefined when they are. A file still
 * open to the public demo key while the rule has moved on is said so first of all.
 */
export function recipientsProblem(label: string, recipients: readonly string[], rule: CreationRule): string | undefined {
  if (recipients.length === 0 || sameRecipients(recipients, rule.recipients)) return undefined;
  if (recipients.includes(DEMO_RECIPIENT) && !rule.recipients.includes(DEMO_RECIPIENT)) {
    return (
      `it is still encrypted to the public DEMO key (examples/demo.agekey), which anyone can decrypt, while ${SOPS_CONFIG} names ` +
      `${rule.recipients.join(', ')}: run 'myt secrets updatekeys ${label}', then change the secrets it holds (they were readable by anyone)`
    );
  }
  return `it is encrypted for ${recipients.join(', ')}, but the ${SOPS_CONFIG} rule for it (path_regex '${rule.pathRegex}') names ${rule.recipients.join(', ')}: run 'myt secrets updatekeys ${label}'`;
}

/**
 * Refuses to encrypt anything to the public demo key unless asked (`--allow-demo-key`): what is
 * encrypted to it is readable by anyone who has this repository's examples.
 */
export function refuseDemoKey(label: string, recipients: readonly string[], allow: boolean): void {
  if (allow || !recipients.includes(DEMO_RECIPIENT)) return;
  throw new MytError(
    `${label}: it would be encrypted to the public DEMO key (examples/demo.agekey), which anyone can decrypt. ` +
      `Run 'myt secrets init' to use a key of your own (then 'myt secrets updatekeys'), or pass --allow-demo-key if this is demo data`,
  );
}

import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { MytError } from '../errors.js';
import { wrapDataKey } from './age-keys.js';
import { registerLeaves } from './masking.js';
import { inRepo, type FileRef } from './operations.js';
import { recipientsOf, refuseDemoKey, sameRecipients } from './recipients.js';
import { isPublicField } from './shapes.js';
import { creationRuleFor } from './sops-config.js';
import { encryptData, withAgeStanzas, type AgeStanza } from './sops-file.js';
import { formatFor, hasSopsMetadata, openSopsFile, parseFile, readText, writeEncrypted, type StoreOptions } from './sops-store.js';
import { emitTree, entry, formatOf, toPlain } from './sops-tree.js';

/** `myt secrets updatekeys`: a file's data key made readable by exactly the recipients `.sops.yaml` names for it. */

export interface UpdateKeysOptions extends StoreOptions {
  /** Re-encrypt to the public demo key when the rule names it (demo data only). */
  readonly allowDemoKey?: boolean;
  readonly now?: Date;
}

export interface UpdateKeysResult {
  /** unchanged: already the rule's recipients; rewrapped: the same data key wrapped for added recipients; rotated: a new data key. */
  readonly status: 'unchanged' | 'rewrapped' | 'rotated';
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/**
 * Re-wraps a file's data key for the recipients of its `.sops.yaml` rule. When recipients are only
 * added, the data key is wrapped for them too and nothing else changes (the MAC stays valid), as
 * `sops updatekeys` does. When one is removed, the values get a new data key: the old one stays
 * unwrappable by the removed key in the file's git history, and would open every later edit.
 */
export async function updateKeys(root: string, ref: FileRef, opts: UpdateKeysOptions = {}): Promise<UpdateKeysResult> {
  const rule = await creationRuleFor(root, inRepo(ref));
  const format = formatFor(ref.label);
  const doc = parseFile(await readText(ref.absolute, ref.label), format, ref.label);
  if (!hasSopsMetadata(doc)) throw new MytError(`${ref.label}: it is not encrypted (no 'sops' metadata): use 'myt secrets encrypt ${ref.label}'`);
  const current = recipientsOf(doc);
  const added = rule.recipients.filter((r) => !current.includes(r));
  const removed = current.filter((r) => !rule.recipients.includes(r));
  if (sameRecipients(current, rule.recipients)) return { status: 'unchanged', added, removed };
  refuseDemoKey(ref.label, rule.recipients, opts.allowDemoKey ?? false);
  const opened = await openSopsFile(ref.absolute, ref.label, { ...opts, repository: { root, path: ref.repoPath } });
  if (!opened.reuse) throw new MytError(`${ref.label}: its data key is wrapped by a key service MyT does not use; update it with 'sops updatekeys'`);
  registerLeaves(toPlain(opened.data), isPublicField);
  const { dataKey, meta } = opened.reuse;
  const sops = entry(doc, 'sops');
  const keyGroups = sops?.kind === 'map' && entry(sops, 'key_groups') !== undefined;
  let text: string;
  let status: UpdateKeysResult['status'];
  if (removed.length > 0 || keyGroups || meta.otherWrappers.length > 0) {
    text = emitTree(await encryptData(opened.data, { recipients: rule.recipients, rules: meta.rules, now: opts.now }), format);
    status = 'rotated';
  } else {
    const age: AgeStanza[] = [];
    for (const recipient of rule.recipients) age.push(meta.age.find((s) => s.recipient === recipient) ?? { recipient, enc: await wrapDataKey(dataKey, recipient) });
    text = emitTree(withAgeStanzas(doc, age), format);
    status = 'rewrapped';
  }
  await writeEncrypted(ref.absolute, text);
  return { status, added, removed: [...removed, ...meta.otherWrappers] };
}

/** The SOPS files under a folder of the repository (default secrets/), as repository paths, sorted. */
export async function sopsFilesUnder(root: string, folder = 'secrets'): Promise<string[]> {
  let entries;
  try {
    entries = readdirSync(join(root, folder), { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isFile() || formatOf(e.name) === undefined) continue;
    const repoPath = relative(root, join(e.parentPath, e.name)).split(sep).join('/');
    try {
      const text = await readText(join(root, repoPath), repoPath);
      if (hasSopsMetadata(parseFile(text, formatFor(repoPath), repoPath))) out.push(repoPath);
    } catch {
      // Not a readable SOPS file: `myt validate` reports it where it is used.
    }
  }
  return out.sort();
}

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { MytError } from '../errors.js';
import { isAgeRecipient } from './age-keys.js';
import type { CryptRules } from './sops-file.js';

/** The `.sops.yaml` at the repository root: which recipients a new file is encrypted to, by path. */
export const SOPS_CONFIG = '.sops.yaml';

export interface CreationRule {
  readonly recipients: readonly string[];
  readonly rules: CryptRules;
  /** The rule's path_regex, for messages. */
  readonly pathRegex: string;
}

function recipientsOf(value: unknown): string[] {
  if (typeof value === 'string') return value.split(',').map((r) => r.trim()).filter(Boolean);
  if (Array.isArray(value)) return value.flatMap(recipientsOf);
  return [];
}

function optionalString(rule: Record<string, unknown>, key: string): string | undefined {
  const v = rule[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The first creation rule whose path_regex matches the file (a path relative to the repository
 * root, '/'-separated), as sops picks it; a rule without path_regex matches every file.
 */
export async function creationRuleFor(root: string, file: string, read = (p: string) => readFile(p, 'utf8')): Promise<CreationRule> {
  let text: string;
  try {
    text = await read(join(root, SOPS_CONFIG));
  } catch {
    throw new MytError(`no ${SOPS_CONFIG} at the repository root: run 'myt secrets init' to make a key and a rule for secrets/`);
  }
  const rule = ruleIn(text, file);
  if (rule === undefined) throw new MytError(`${SOPS_CONFIG}: no creation rule matches ${file} (add one whose path_regex matches it)`);
  return rule;
}

/**
 * The rule for a file when the repository has a `.sops.yaml` with a rule matching it, else
 * undefined; a `.sops.yaml` that cannot be used is still an error. For checks that compare a
 * file with its rule, where a repository without rules has nothing to compare with.
 */
export async function matchingRule(root: string, file: string, read = (p: string) => readFile(p, 'utf8')): Promise<CreationRule | undefined> {
  let text: string;
  try {
    text = await read(join(root, SOPS_CONFIG));
  } catch {
    return undefined;
  }
  return ruleIn(text, file);
}

function ruleIn(text: string, file: string): CreationRule | undefined {
  let config: unknown;
  try {
    config = parse(text);
  } catch {
    throw new MytError(`${SOPS_CONFIG} is not valid YAML`);
  }
  const rules = (config as { creation_rules?: unknown } | null)?.creation_rules;
  if (!Array.isArray(rules)) throw new MytError(`${SOPS_CONFIG} has no creation_rules list`);
  for (const [i, raw] of rules.entries()) {
    if (raw === null || typeof raw !== 'object') throw new MytError(`${SOPS_CONFIG}: creation_rules[${i}] is not a mapping`);
    const rule = raw as Record<string, unknown>;
    const pathRegex = optionalString(rule, 'path_regex') ?? optionalString(rule, 'filename_regex') ?? '';
    let matches: boolean;
    try {
      matches = pathRegex === '' || new RegExp(pathRegex, 'u').test(file);
    } catch {
      throw new MytError(`${SOPS_CONFIG}: creation_rules[${i}].path_regex is not a valid regular expression`);
    }
    if (!matches) continue;
    const groups = Array.isArray(rule.key_groups) ? (rule.key_groups as unknown[]) : [];
    if (groups.length > 1) throw new MytError(`${SOPS_CONFIG}: the rule for ${file} (creation_rules[${i}]) splits the key over several key_groups; MyT encrypts to one group of age recipients: use sops for that file`);
    const recipients = [...recipientsOf(rule.age), ...recipientsOf((groups[0] as { age?: unknown } | undefined)?.age)];
    if (recipients.length === 0) {
      throw new MytError(`${SOPS_CONFIG}: the rule for ${file} (creation_rules[${i}]) names no age recipient; MyT encrypts to age only`);
    }
    const bad = recipients.find((r) => !isAgeRecipient(r));
    if (bad !== undefined) throw new MytError(`${SOPS_CONFIG}: creation_rules[${i}] has '${bad}', which is not an age recipient (age1…)`);
    return {
      recipients: [...new Set(recipients)],
      pathRegex,
      rules: {
        unencryptedSuffix: optionalString(rule, 'unencrypted_suffix'),
        encryptedSuffix: optionalString(rule, 'encrypted_suffix'),
        unencryptedRegex: optionalString(rule, 'unencrypted_regex'),
        encryptedRegex: optionalString(rule, 'encrypted_regex'),
        macOnlyEncrypted: rule.mac_only_encrypted === true,
      },
    };
  }
  return undefined;
}

/** The text of a `.sops.yaml` that encrypts everything under secrets/ to the given recipients. */
export function sopsConfigText(recipients: readonly string[]): string {
  return `# Which age recipients sops (and myt secrets) encrypt new files to, by path.\ncreation_rules:\n  - path_regex: ^secrets/\n    age: ${recipients.join(',')}\n`;
}

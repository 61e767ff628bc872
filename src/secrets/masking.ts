/**
 * The one registry of secret values this process has learned. Front doors pass their output through
 * `maskSecrets`; in GitHub Actions every registered value is also handed to `core.setSecret`, so the
 * runner masks it in the job log even where MyT's own output is not involved.
 */

const MASK = '***';
/** Values shorter than this are not masked: hiding every "1" or "on" in a log protects nothing. */
const MIN_LENGTH = 4;

const registered = new Set<string>();
let actionsSetSecret: ((value: string) => void) | undefined;

/** A PEM armor line (-----BEGIN PRIVATE KEY-----) is the same in every key: masking it hides nothing. */
const PEM_ARMOR = /^-----(BEGIN|END) [A-Z0-9 ]+-----$/;

/**
 * The forms in which a value can show up in text as programs print it: itself, JSON-escaped, each
 * long line of it (a PEM key printed line by line), and base64 (a credential passed on encoded).
 */
function formsOf(value: string): string[] {
  const forms = [value, JSON.stringify(value).slice(1, -1), Buffer.from(value, 'utf8').toString('base64'), ...escapedForms(value)];
  if (value.includes('\n')) {
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= 8 && !PEM_ARMOR.test(line.trim())) forms.push(line.trim());
  }
  return [...new Set(forms)].filter((f) => f.trim().length >= MIN_LENGTH);
}

/**
 * The value as a job summary or PR comment holds it once escaped (HTML entities, a Markdown table's
 * '\\|'): reports escape what they quote before the text reaches the mask, which must still find it.
 */
function escapedForms(value: string): string[] {
  const html = value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return [html, html.replace(/"/g, '&quot;'), html.replace(/\|/g, '\\|')];
}

/** Remembers a secret value so it never reaches output (and, in Actions, the job log). */
export function registerSecret(value: string): void {
  for (const form of formsOf(value)) {
    if (registered.has(form)) continue;
    registered.add(form);
    actionsSetSecret?.(form);
  }
}

/**
 * Registers every string and number leaf of a decrypted document, except at the paths `skip` names.
 * A string holding a JSON document (a service-account key pasted as text) is registered whole, in
 * its compact form, and leaf by leaf at its own path: a program that parses it prints its fields.
 */
export function registerLeaves(value: unknown, skip: (path: readonly string[]) => boolean = () => false, path: readonly string[] = []): void {
  if (typeof value === 'string') {
    registerSecret(value);
    const inner = jsonDocument(value);
    if (inner !== undefined) {
      registerSecret(JSON.stringify(inner));
      registerLeaves(inner, skip, path);
    }
  } else if (typeof value === 'number' || typeof value === 'bigint') registerSecret(String(value));
  else if (Array.isArray(value)) for (const item of value) registerLeaves(item, skip, path);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const at = [...path, k];
      if (!skip(at)) registerLeaves(v, skip, at);
    }
  }
}

/** The object or list a string holds as JSON text, if it does. */
function jsonDocument(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Values shorter than this are masked only where they stand alone: a password 'admin' must not
 * turn the field name in "field 'adminPassword' is Grafana's default" into '***Password'.
 */
const WHOLE_WORD_BELOW = 8;

/** The text with every registered secret replaced by ***; longer values first, so no fragment survives. */
export function maskSecrets(text: string): string {
  if (registered.size === 0) return text;
  let out = text;
  for (const secret of [...registered].sort((a, b) => b.length - a.length)) {
    if (!out.includes(secret)) continue;
    if (secret.length >= WHOLE_WORD_BELOW) out = out.split(secret).join(MASK);
    else out = out.replace(new RegExp(`(?<![A-Za-z0-9])${secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9])`, 'g'), MASK);
  }
  return out;
}

/**
 * Switches on Actions mode: `setSecret` (the Actions pass `core.setSecret`) is told every value
 * registered so far and every one registered from now on.
 */
export function enableActionsMasking(setSecret: (value: string) => void): void {
  actionsSetSecret = setSecret;
  for (const value of registered) setSecret(value);
}

/** Forgets every value and leaves Actions mode; for tests. */
export function resetSecretRegistry(): void {
  registered.clear();
  actionsSetSecret = undefined;
}

/** How many values are registered (each form counted once); for tests and diagnostics. */
export function registeredSecretCount(): number {
  return registered.size;
}

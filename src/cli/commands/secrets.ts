import { resolve } from 'node:path';
import { findRepoRoot } from '../../config/find-root.js';
import { isInsideRepository } from '../../config/repo-path.js';
import { MytError, UsageError } from '../../errors.js';
import { DEMO_RECIPIENT, demoKeyWarning } from '../../secrets/demo-key.js';
import { maskSecrets } from '../../secrets/masking.js';
import { SOPS_CONFIG } from '../../secrets/sops-config.js';
import { sopsFilesUnder, updateKeys } from '../../secrets/update-keys.js';
import { decryptToText, editSecrets, encryptInPlace, fileRef, initSecrets, type InitResult } from '../../secrets/operations.js';
import { writeFile } from 'node:fs/promises';
import { parseCommandArgs, type Command } from '../command.js';
import { promptLine } from '../prompt.js';
import type { CliContext } from '../context.js';

const HELP = `Usage: myt secrets <init|encrypt|decrypt|edit|updatekeys> [options] [FILE...]

Secrets live in the repository as SOPS files (YAML or JSON) encrypted to the age recipients that
.sops.yaml names for their path; GitHub holds only the age private key (secret SOPS_AGE_KEY).
Decrypted values stay in memory: nothing here writes plaintext to a disk unless you say --out.

  init             make an age key pair: the private key goes to the sops keys file
                   (~/.config/sops/age/keys.txt, or --key-file), the public key is printed and
                   written to a new .sops.yaml rule for secrets/ (or replaces the demo key there).
                   Refused when .sops.yaml already names a key of the repository's own
  encrypt FILE     encrypt a plaintext YAML/JSON file in place (as 'sops -e -i'), to the
                   recipients of the first .sops.yaml rule whose path_regex matches it
  decrypt FILE     print the decrypted file to standard output
  edit FILE        open $VISUAL/$EDITOR on a decrypted copy in /dev/shm (memory), re-encrypt on
                   save, and scrub the copy; a new FILE is created. An edit keeps the file's
                   recipients (as 'sops edit'): it warns when they differ from .sops.yaml
  updatekeys [FILE...]
                   re-encrypt each file (default: every SOPS file under secrets/) to the
                   recipients .sops.yaml names for it, as 'sops updatekeys'; when a recipient is
                   removed, the values also get a new data key. Needs a key that opens the files

Nothing is encrypted to the public demo key (examples/demo.agekey) unless --allow-demo-key is
given: anyone can decrypt it. A repository started from the examples runs 'myt secrets init',
then 'SOPS_AGE_KEY_FILE=examples/demo.agekey myt secrets updatekeys'.

The private key is looked up as sops does: SOPS_AGE_KEY (the key text), SOPS_AGE_KEY_FILE, then
$XDG_CONFIG_HOME/sops/age/keys.txt (default ~/.config/sops/age/keys.txt).

Options:
  --root DIR       repository root (default: the nearest folder upwards with myt.yaml,
                   platforms/ or .git)
  --key-file PATH  init: where to append the private key
  --force          init: make a key even though .sops.yaml already names one of the repository's
  --out PATH       decrypt: write the plaintext to a new file outside the repository (it will be
                   on disk: avoid)
  --allow-demo-key encrypt, edit, updatekeys: allow the public demo key as a recipient (demo data)
  -h, --help       show this help
`;

export const secretsCommand: Command = {
  name: 'secrets',
  help: HELP,
  async run(args: string[], ctx: CliContext): Promise<number> {
    const { values, positionals } = parseCommandArgs('secrets', args, {
      root: { type: 'string' },
      'key-file': { type: 'string' },
      out: { type: 'string' },
      'allow-demo-key': { type: 'boolean' },
      force: { type: 'boolean' },
    });
    const [action, file, ...extra] = positionals;
    if (extra.length && action !== 'updatekeys') throw new UsageError(`secrets: unexpected argument '${extra[0]}'`);
    const allowDemoKey = values['allow-demo-key'] === true;
    const root = findRepoRoot(ctx.cwd, values.root);
    const needFile = () => {
      if (file === undefined) throw new UsageError(`secrets ${action}: FILE is required`);
      return fileRef(root, ctx.cwd, file);
    };
    if (values.out !== undefined && action !== 'decrypt') throw new UsageError('secrets: --out applies to decrypt only');
    if (values['key-file'] !== undefined && action !== 'init') throw new UsageError('secrets: --key-file applies to init only');
    if (values.force !== undefined && action !== 'init') throw new UsageError('secrets: --force applies to init only');
    switch (action) {
      case 'init': {
        if (file !== undefined) throw new UsageError(`secrets init: unexpected argument '${file}'`);
        const r = await initSecrets(root, ctx.env, { keyFile: values['key-file'] === undefined ? undefined : resolve(ctx.cwd, values['key-file']), force: values.force === true });
        ctx.stdout(`${r.recipient}\n`);
        ctx.stderr(`${initReport(r)}\n`);
        return 0;
      }
      case 'encrypt': {
        const ref = needFile();
        const r = await encryptInPlace(root, ref, { allowDemoKey });
        ctx.stderr(`encrypted ${ref.label} for ${r.recipients} age recipient${r.recipients === 1 ? '' : 's'}\n${demoKeyWarning(root) ?? ''}`);
        return 0;
      }
      case 'decrypt': {
        const ref = needFile();
        const text = await decryptToText(root, ref, { env: ctx.env });
        if (values.out === undefined) {
          ctx.stdout(text);
        } else {
          const out = resolve(ctx.cwd, values.out);
          // Plain text inside the repository is one `git add` from being committed; and never
          // overwrite a file (it could be the encrypted original itself).
          if (isInsideRepository(root, out)) {
            throw new MytError(`--out ${values.out} is inside the repository: write decrypted secrets outside it (or use 'myt secrets edit')`);
          }
          try {
            await writeFile(out, text, { mode: 0o600, flag: 'wx' });
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new MytError(`--out ${values.out} exists already: choose a new file`);
            throw err;
          }
          ctx.stderr(`warning: wrote the decrypted secrets of ${ref.label} to ${out} in plain text; delete it when done, and never commit it\n`);
        }
        return 0;
      }
      case 'edit': {
        const ref = needFile();
        // At a terminal, text that cannot be saved reopens the editor once the person has read why, as sops does.
        const reopen = async (why: string) => {
          ctx.stderr(`${maskSecrets(why)}\n`);
          const answer = await promptLine('Press Enter to return to the editor, or type q and Enter to give up (the file stays unchanged): ');
          return answer.trim().toLowerCase() !== 'q';
        };
        const result = await editSecrets(root, ref, { env: ctx.env, warn: ctx.stderr, reopen: ctx.interactive ? reopen : undefined, allowDemoKey });
        ctx.stderr(result === 'unchanged' ? `${ref.label}: no change\n` : `${ref.label}: ${result === 'created' ? 'created' : 're-encrypted'}\n${demoKeyWarning(root) ?? ''}`);
        return 0;
      }
      case 'updatekeys':
        return runUpdateKeys(root, positionals.slice(1), allowDemoKey, ctx);
      case undefined:
        throw new UsageError('secrets: say what to do: init, encrypt, decrypt, edit or updatekeys');
      default:
        throw new UsageError(`secrets: unknown action '${action}' (init, encrypt, decrypt, edit or updatekeys)`);
    }
  },
};

/** `myt secrets updatekeys [FILE...]`: every file is tried; the exit status says whether all succeeded. */
async function runUpdateKeys(root: string, files: readonly string[], allowDemoKey: boolean, ctx: CliContext): Promise<number> {
  const refs = files.length ? files.map((f) => fileRef(root, ctx.cwd, f)) : (await sopsFilesUnder(root)).map((f) => fileRef(root, root, f));
  if (refs.length === 0) throw new MytError('no SOPS file under secrets/ to update: name the files');
  let failed = 0;
  const dropped = new Set<string>();
  for (const ref of refs) {
    try {
      const r = await updateKeys(root, ref, { env: ctx.env, allowDemoKey });
      for (const d of r.removed) dropped.add(d);
      ctx.stderr(
        r.status === 'unchanged'
          ? `${ref.label}: already encrypted for the recipients ${SOPS_CONFIG} names\n`
          : r.status === 'rewrapped'
            ? `${ref.label}: data key wrapped for ${r.added.join(', ')} too (values unchanged)\n`
            : `${ref.label}: re-encrypted with a new data key${r.added.length ? ` for ${r.added.join(', ')}` : ''}; no longer readable with ${r.removed.join(', ')}\n`,
      );
    } catch (err) {
      if (!(err instanceof MytError)) throw err;
      failed++;
      ctx.stderr(`myt secrets updatekeys: error: ${maskSecrets(err.message)}\n`);
    }
  }
  if (dropped.size) {
    const demo = dropped.has(DEMO_RECIPIENT) ? ' (the public demo key: anyone)' : '';
    ctx.stderr(`The removed keys${demo} can still read these files' earlier versions in git history: change the secrets they hold (new cloud keys, new passwords).\n`);
  }
  return failed ? 1 : 0;
}

/** What `myt secrets init` tells a person: what was written, and which key GitHub needs. */
function initReport(r: InitResult): string {
  const lines = [`The public key (above) is the age recipient; the private key was appended to ${r.keyFile} (mode 0600).`];
  if (r.wroteConfig) lines.push('Wrote .sops.yaml: files under secrets/ are encrypted to this recipient.');
  else if (r.replacedDemo) {
    lines.push(
      'Replaced the public demo recipient in .sops.yaml with this one. Files still encrypted to the demo key stay readable by anyone until you run',
      '  SOPS_AGE_KEY_FILE=examples/demo.agekey myt secrets updatekeys',
      'which re-encrypts every file under secrets/ to your key (the demo key is needed once, to open them). Then change every real secret they held, and delete the examples you do not use.',
    );
  } else if (!r.ruleRecipients.includes(r.recipient)) {
    lines.push(`.sops.yaml is unchanged: to use the new key, add ${r.recipient} to the age recipients of its rules, then run 'myt secrets updatekeys'.`);
  }
  if (r.keyForGitHub) {
    lines.push(
      `In GitHub, set the repository secret SOPS_AGE_KEY to the private key of ${r.keyForGitHub.recipient} (the recipient .sops.yaml names), key line ${r.keyForGitHub.line} of ${r.keyFile}:`,
      `  grep '^AGE-SECRET-KEY-' '${r.keyFile.replace(/'/g, "'\\''")}' | sed -n '${r.keyForGitHub.line}p' | gh secret set SOPS_AGE_KEY`,
    );
  } else {
    lines.push(`None of the keys in ${r.keyFile} is a recipient .sops.yaml names (${r.ruleRecipients.join(', ') || 'none'}): set the GitHub secret SOPS_AGE_KEY to the private key of one of them.`);
  }
  lines.push('Keep a copy of the private key somewhere safe: without it the secrets cannot be decrypted.');
  return lines.join('\n');
}

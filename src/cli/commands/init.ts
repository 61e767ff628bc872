import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { MytError, UsageError } from '../../errors.js';
import { gitHub } from '../../github/client.js';
import { repositorySecretExists, setRepositorySecret } from '../../github/repo-secret.js';
import { initRepository } from '../../init/init.js';
import { PUBLISHED_ACTIONS, type ActionSource } from '../../init/workflows.js';
import { parseIdentities } from '../../secrets/age-keys.js';
import { registerSecret } from '../../secrets/masking.js';
import { parseCommandArgs, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const HELP = `Usage: myt init [DIR] [options]

Makes a new MyT repository in DIR (default: the current folder; made if missing):
  platforms/               where declarations go (README.md says how to start)
  examples/platform.yaml   an example platform, commented, to copy into platforms/
  processors/example.ts    a processing script to start from
  secrets/                 where SOPS files go ('myt secrets edit secrets/NAME.enc.yaml')
  .sops.yaml               encrypts secrets/ to a fresh age key ('myt secrets init'); the private
                           key goes to the sops keys file (~/.config/sops/age/keys.txt), never
                           into the repository
  myt.yaml                 repository settings (where Terraform state is kept)
  schemas/                 the JSON Schemas your editor checks the YAML files with
  .gitignore               MyT's working files and local Terraform state are never committed
  .github/workflows/       pull-request.yml (validate, plan, one comment) and deploy.yml
                           (deploy each changed platform on a push), using MyT's actions by version
It never overwrites: if any of these exist, nothing is written.

The workflows need one repository secret, SOPS_AGE_KEY: the private key. With --github OWNER/REPO
and a token in GITHUB_TOKEN (or GH_TOKEN) allowed to manage the repository's secrets, init sets
it through GitHub's REST API (sealed with the repository's public key, as GitHub requires;
GITHUB_API_URL for GitHub Enterprise Server). A repository that has SOPS_AGE_KEY already keeps
it: init then stops before writing anything.

Options:
  --github OWNER/REPO   set the SOPS_AGE_KEY secret of this GitHub repository
  --key-file PATH       where to append the age private key (default: the sops keys file)
  --actions OWNER/REPO@REF
                        where the workflows take MyT's actions from (default: ${PUBLISHED_ACTIONS.kind === 'published' ? `${PUBLISHED_ACTIONS.repository}@${PUBLISHED_ACTIONS.ref}` : ''})
  --branch NAME         the branch whose pushes deploy (default: main)
  -h, --help            show this help

Exit status: 0 made, 1 refused or failed, 2 usage error.
`;

const REPOSITORY = /^([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100})$/;
const ACTIONS = /^([A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100})@([A-Za-z0-9._/-]{1,100})$/;
const BRANCH = /^(?!-)[A-Za-z0-9._/-]{1,100}$/;

export const initCommand: Command = {
  name: 'init',
  help: HELP,
  async run(args: string[], ctx: CliContext): Promise<number> {
    const { values, positionals } = parseCommandArgs('init', args, {
      github: { type: 'string' },
      'key-file': { type: 'string' },
      actions: { type: 'string' },
      branch: { type: 'string' },
    });
    if (positionals.length > 1) throw new UsageError(`init: unexpected argument '${positionals[1]}'`);
    const dir = resolve(ctx.cwd, positionals[0] ?? '.');
    const github = values.github === undefined ? undefined : REPOSITORY.exec(values.github);
    if (values.github !== undefined && !github) throw new UsageError(`init: --github must be OWNER/REPO (got '${values.github}')`);
    let actions: ActionSource | undefined;
    if (values.actions !== undefined) {
      const m = ACTIONS.exec(values.actions);
      if (!m) throw new UsageError(`init: --actions must be OWNER/REPO@REF (got '${values.actions}')`);
      actions = { kind: 'published', repository: m[1]!, ref: m[2]! };
    }
    if (values.branch !== undefined && !BRANCH.test(values.branch)) throw new UsageError(`init: --branch '${values.branch}' is not a branch name`);
    const token = ctx.env.GITHUB_TOKEN || ctx.env.GH_TOKEN;
    if (token) registerSecret(token);
    if (github && !token) throw new MytError('--github needs a token in GITHUB_TOKEN or GH_TOKEN that may manage the repository\'s Actions secrets: nothing was written');

    const client = github ? gitHub({ token: token!, baseUrl: ctx.env.GITHUB_API_URL, log: (line) => ctx.stderr(`${line}\n`) }) : undefined;
    // A repository that has the secret already decrypts its secrets with that key: replacing it with
    // the new one would break every deploy, and GitHub keeps no copy of the old value. Asked first, so nothing is written.
    if (github && client) {
      const exists = await repositorySecretExists(client, { owner: github[1]!, repo: github[2]! }, 'SOPS_AGE_KEY').catch((err: unknown) => {
        const status = (err as { status?: number }).status;
        throw new MytError(`cannot read the Actions secrets of ${values.github}${status ? ` (GitHub answered ${status})` : ''}: ${(err as Error).message}. Nothing was written`);
      });
      if (exists) {
        throw new MytError(
          `${values.github} already has a SOPS_AGE_KEY secret, and myt init never replaces it: the repository's secrets may be encrypted to that key. Nothing was written. ` +
            'Run myt init without --github, or delete the secret in GitHub first if it is no longer used',
        );
      }
    }

    const made = await initRepository({ dir, env: ctx.env, keyFile: values['key-file'] === undefined ? undefined : resolve(ctx.cwd, values['key-file']), actions, branch: values.branch });
    const shown = relative(ctx.cwd, dir) || '.';
    ctx.stdout(`Made a MyT repository in ${shown}:\n${made.files.map((f) => `  ${f}`).join('\n')}\n`);
    if (made.gitInitialized) ctx.stdout('  (and ran git init)\n');
    ctx.stdout(`\nThe age recipient is ${made.secrets.recipient}; its private key was appended to ${made.secrets.keyFile}. Keep a copy of it somewhere safe.\n`);

    const keyLine = made.secrets.keyForGitHub?.line;
    if (github) {
      const identities = parseIdentities(await readFile(made.secrets.keyFile, 'utf8'));
      const key = keyLine === undefined ? undefined : identities[keyLine - 1];
      if (key === undefined) throw new MytError(`the new key was not found in ${made.secrets.keyFile}: set the SOPS_AGE_KEY secret by hand`);
      registerSecret(key);
      const done = await setRepositorySecret(client!, { owner: github[1]!, repo: github[2]! }, 'SOPS_AGE_KEY', key).catch((err: unknown) => {
        const status = (err as { status?: number }).status;
        throw new MytError(
          `the repository was made, but setting the SOPS_AGE_KEY secret of ${values.github} failed${status ? ` (GitHub answered ${status})` : ''}: ${(err as Error).message}. ` +
            'Check that the token may manage its Actions secrets, or set it by hand (below).',
        );
      });
      ctx.stdout(`${done === 'created' ? 'Set' : 'Replaced'} the SOPS_AGE_KEY secret of ${values.github}.\n`);
    } else {
      ctx.stdout(
        `\nOne secret is needed in GitHub (Settings → Secrets and variables → Actions): SOPS_AGE_KEY, the private key:\n` +
          `  grep '^AGE-SECRET-KEY-' '${made.secrets.keyFile.replace(/'/g, "'\\''")}' | sed -n '${keyLine ?? 1}p' | gh secret set SOPS_AGE_KEY\n` +
          `(or run myt init again in a new folder with --github OWNER/REPO).\n`,
      );
    }
    ctx.stdout(`\nNext: copy examples/platform.yaml into platforms/ and edit it, run 'myt validate', commit and push.\n`);
    return 0;
  },
};

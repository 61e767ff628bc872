// `myt init [dir]`: a new MyT repository, ready to commit and push. It never overwrites: when any
// file it would write exists, nothing is written.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../config/schemas.js';
import { REPO_CONFIG_FILE } from '../config/repo-config.js';
import { MytError } from '../errors.js';
import { initSecrets, type InitResult } from '../secrets/operations.js';
import { SOPS_CONFIG } from '../secrets/sops-config.js';
import { deployWorkflow, pullRequestWorkflow, PUBLISHED_ACTIONS, type ActionSource } from './workflows.js';

export interface InitOptions {
  /** The folder to make the repository in (made if missing). */
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  /** Where the age private key goes (default: the keys file sops reads, outside the repository). */
  readonly keyFile?: string;
  /** Where the workflows take MyT's actions from. */
  readonly actions?: ActionSource;
  /** The branch pushes to which deploy. */
  readonly branch?: string;
}

export interface InitRepositoryResult {
  /** Files written, repository-relative, in order. */
  readonly files: string[];
  readonly secrets: InitResult;
  /** Whether `git init` was run (there was no .git). */
  readonly gitInitialized: boolean;
}

const SCHEMAS = ['platform', 'space', 'repo'] as const;

const EXAMPLE_PLATFORM = `# yaml-language-server: $schema=../schemas/platform.schema.json
# An example platform. MyT reads declarations only under platforms/: copy this file there
# (platforms/greenhouse.yaml), change what you need, make the secrets it names, and push.
# Every property, its default and its allowed values are in ../schemas/platform.schema.json (an
# editor with the YAML language server shows them as you type).
apiVersion: myt/v1
kind: Platform
metadata:
  name: greenhouse                    # lowercase letters, digits and '-'; unique in the repository
spec:
  cloud:
    provider: gcp                     # aws | gcp | openstack | ssh (an existing server)
    project: my-gcp-project
    region: europe-west1
    zone: europe-west1-b
    credentials: secrets/gcp.enc.yaml # make it: myt secrets edit secrets/gcp.enc.yaml (field serviceAccountKey)
  database:
    engine: influxdb                  # influxdb | mongodb | timescaledb | mysql
    sizeGb: 10                        # the data volume, kept apart from the VM's disk
  processor:
    script: processors/example.ts     # optional: your processing of each device message
  destroy: deny                       # allow: deleting this file destroys the platform on merge
# The VM's SSH keys: myt keys generate greenhouse (writes secrets/keys/greenhouse.enc.yaml).
`;

const PLATFORMS_README = `# platforms/

Each YAML file here declares platforms (\`kind: Platform\`) and the networks they share
(\`kind: Space\`). Start from ../examples/platform.yaml: copy it here, edit it, run
\`myt validate\`, commit and push. A pull request shows the plan; merging deploys.
`;

const REPO_CONFIG = `# yaml-language-server: $schema=schemas/repo.schema.json
# Repository-wide MyT settings. Terraform state is kept locally by default, which a CI runner loses:
# before the first deploy from GitHub Actions, keep it in a bucket, for example:
#
# state:
#   backend: gcs                      # or s3 (bucket, region, credentials)
#   bucket: my-myt-state
#   credentials: secrets/gcp.enc.yaml
apiVersion: myt/v1
kind: Repo
`;

const GITIGNORE = `# MyT's working files: synthesized Terraform, rendered bundles, installed packages and local
# Terraform state. They must never be committed (state can hold resource details).
.myt/
.terraform/
*.tfstate
*.tfstate.*
*.tfplan
node_modules/
`;

const SECRETS_README = `# secrets/

SOPS files encrypted to the age recipient in ../.sops.yaml. Create or change one with
\`myt secrets edit secrets/NAME.enc.yaml\` (the plain text stays in memory). Never commit a
decrypted file. GitHub Actions decrypt them with the repository secret SOPS_AGE_KEY.
`;

/** The files of a new repository, repository-relative path → content. */
function files(opts: InitOptions): Map<string, string> {
  const source = opts.actions ?? PUBLISHED_ACTIONS;
  const out = new Map<string, string>();
  out.set('examples/platform.yaml', EXAMPLE_PLATFORM);
  out.set('platforms/README.md', PLATFORMS_README);
  out.set('processors/example.ts', readFileSync(join(PACKAGE_ROOT, 'templates/processor/script.ts'), 'utf8'));
  out.set('secrets/README.md', SECRETS_README);
  out.set(REPO_CONFIG_FILE, REPO_CONFIG);
  out.set('.gitignore', GITIGNORE);
  // The editor's $schema comments point here: a copy of this MyT version's schemas.
  for (const s of SCHEMAS) out.set(`schemas/${s}.schema.json`, readFileSync(join(PACKAGE_ROOT, 'schemas', `${s}.schema.json`), 'utf8'));
  out.set('.github/workflows/pull-request.yml', pullRequestWorkflow(source));
  out.set('.github/workflows/deploy.yml', deployWorkflow(source, opts.branch));
  return out;
}

export async function initRepository(opts: InitOptions): Promise<InitRepositoryResult> {
  const planned = files(opts);
  const conflicts = [...planned.keys(), SOPS_CONFIG].filter((f) => existsSync(join(opts.dir, f)));
  if (conflicts.length) {
    throw new MytError(`myt init never overwrites, and these exist in ${opts.dir}: ${conflicts.join(', ')}. Nothing was written: choose a new folder, or move them away`);
  }
  mkdirSync(opts.dir, { recursive: true });
  // The key first: if it cannot be made (a keys file inside the folder), nothing else is written.
  const secrets = await initSecrets(opts.dir, opts.env, { keyFile: opts.keyFile });
  for (const [path, content] of planned) {
    mkdirSync(dirname(join(opts.dir, path)), { recursive: true });
    writeFileSync(join(opts.dir, path), content, { flag: 'wx' });
  }
  let gitInitialized = false;
  if (!existsSync(join(opts.dir, '.git'))) {
    gitInitialized = await promisify(execFile)('git', ['init', '-q', opts.dir]).then(
      () => true,
      () => false,
    );
  }
  return { files: [...planned.keys(), SOPS_CONFIG].sort(), secrets, gitInitialized };
}

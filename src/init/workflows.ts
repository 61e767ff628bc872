// The two workflows of the GitOps loop, written once: this repository's .github/workflows use the
// actions from its own tree (./actions/plan), a user's repository (made by `myt init`) names them by
// version (<owner>/myt/actions/plan@v1). tests/init/workflows.test.ts checks that this repository's
// files are exactly these, and runs both through the Actions validator.

/** How a workflow names MyT's actions. */
export type ActionSource = { readonly kind: 'local' } | { readonly kind: 'published'; readonly repository: string; readonly ref: string };

/** Where a user's repository takes MyT's actions from, by default. */
export const PUBLISHED_ACTIONS: ActionSource = { kind: 'published', repository: 'myt-dev/myt', ref: 'v1' };

export function actionRef(source: ActionSource, name: string): string {
  return source.kind === 'local' ? `./actions/${name}` : `${source.repository}/actions/${name}@${source.ref}`;
}

const CHECKOUT = 'actions/checkout@v4';
// Every checkout says persist-credentials: false: MyT's steps never push, so the job's token need not
// stay in .git/config, where any later step (or code it runs) could read it.
const SETUP_TERRAFORM = 'hashicorp/setup-terraform@v3';

/**
 * MyT's own repository holds examples whose secrets are on the public demo key and whose clouds
 * are not real: there the plan runs only when started by hand, and pushes deploy nothing.
 */
function examplesOnly(source: ActionSource): boolean {
  return source.kind === 'local';
}

export function pullRequestWorkflow(source: ActionSource): string {
  const uses = (name: string) => actionRef(source, name);
  const planIf = examplesOnly(source)
    ? `# This repository's examples have no real cloud behind them: plan them by hand only.
    if: github.event_name == 'workflow_dispatch'`
    : `if: github.event_name == 'workflow_dispatch' || github.event.pull_request.head.repo.full_name == github.repository`;
  return `# Pull requests: every declaration is validated (each problem an annotation on its line); what
# changed is planned, and one comment on the pull request shows it, edited on every push.
# A pull request from a fork is validated only: its code never runs with the repository's secrets.
name: pull request
on:
  pull_request:
  workflow_dispatch:
    inputs:
      platforms:
        description: Platforms to plan, separated by spaces
        required: true
        type: string
permissions:
  contents: read
concurrency:
  # A newer push makes the older plan useless: plans change nothing, so cancelling one is safe.
  group: myt-plan-\${{ github.event.pull_request.number || github.ref }}
  cancel-in-progress: true
jobs:
  validate:
    runs-on: ubuntu-24.04
    steps:
      - uses: ${CHECKOUT}
        with:
          persist-credentials: false
      - uses: ${uses('validate')}
  plan:
    needs: validate
    ${planIf}
    runs-on: ubuntu-24.04
    permissions:
      contents: read
      pull-requests: write
    steps:
      - uses: ${CHECKOUT}
        with:
          fetch-depth: 0
          persist-credentials: false
      - uses: ${SETUP_TERRAFORM}
        with:
          terraform_wrapper: false
      - uses: ${uses('plan')}
        env:
          SOPS_AGE_KEY: \${{ secrets.SOPS_AGE_KEY }}
        with:
          platforms: \${{ inputs.platforms }}
`;
}

export function deployWorkflow(source: ActionSource, branch = 'main'): string {
  const uses = (name: string) => actionRef(source, name);
  const push = examplesOnly(source)
    ? `  # This repository's examples are not deployed on a push (their clouds are not real): by hand only.
`
    : `  push:
    branches: [${branch}]
`;
  return `# Pushes to ${branch}: each changed platform is deployed in its own job (grouped past GitHub's 256
# jobs per matrix), never two deploys of one platform at once, and a running deploy is never
# cancelled. The plan is made again from the merged commit: if it would replace or destroy a data
# volume or a VM, the job stops and says so. A deleted platform is destroyed only if its file set
# spec.destroy: allow; otherwise the run says what was left running.
name: deploy
on:
${push}  workflow_dispatch:
    inputs:
      platforms:
        description: Platforms to deploy, separated by spaces
        required: true
        type: string
      action:
        description: deploy (infrastructure and VM) or redeploy (the processor only)
        required: true
        type: choice
        options: [deploy, redeploy]
        default: deploy
permissions:
  contents: read
jobs:
  changes:
    runs-on: ubuntu-24.04
    outputs:
      matrix: \${{ steps.changes.outputs.matrix }}
      any: \${{ steps.changes.outputs.any }}
      destroy: \${{ steps.changes.outputs.destroy }}
      any-destroy: \${{ steps.changes.outputs.any-destroy }}
      base: \${{ steps.changes.outputs.base }}
    steps:
      - uses: ${CHECKOUT}
        with:
          fetch-depth: 0
          persist-credentials: false
      - id: changes
        uses: ${uses('changes')}
        with:
          platforms: \${{ inputs.platforms }}
          action: \${{ inputs.action }}
  deploy:
    needs: changes
    if: needs.changes.outputs.any == 'true'
    name: deploy \${{ matrix.key }}
    runs-on: ubuntu-24.04
    strategy:
      fail-fast: false
      max-parallel: 20
      matrix: \${{ fromJSON(needs.changes.outputs.matrix) }}
    concurrency:
      group: myt-deploy-\${{ matrix.key }}
      cancel-in-progress: false
    steps:
      - uses: ${CHECKOUT}
        with:
          persist-credentials: false
      - uses: ${SETUP_TERRAFORM}
        with:
          terraform_wrapper: false
      - uses: ${uses('deploy')}
        env:
          SOPS_AGE_KEY: \${{ secrets.SOPS_AGE_KEY }}
        with:
          deploy: \${{ matrix.deploy }}
          redeploy: \${{ matrix.redeploy }}
  destroy:
    needs: changes
    if: needs.changes.outputs.any-destroy == 'true'
    name: destroy \${{ matrix.platform }}
    runs-on: ubuntu-24.04
    strategy:
      fail-fast: false
      matrix: \${{ fromJSON(needs.changes.outputs.destroy) }}
    concurrency:
      group: myt-deploy-\${{ matrix.platform }}
      cancel-in-progress: false
    steps:
      # The platform's file exists only in the commit before its deletion; the history lets the
      # action check that the pushed commit does not declare it again.
      - uses: ${CHECKOUT}
        with:
          ref: \${{ needs.changes.outputs.base }}
          fetch-depth: 0
          persist-credentials: false
      - uses: ${SETUP_TERRAFORM}
        with:
          terraform_wrapper: false
      - uses: ${uses('destroy')}
        env:
          SOPS_AGE_KEY: \${{ secrets.SOPS_AGE_KEY }}
        with:
          platform: \${{ matrix.platform }}
`;
}

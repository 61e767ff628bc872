import type { DeployOptions, DeployResult } from '../../deploy/index.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { deployOptions } from './deploy.js';

const HELP = `Usage: myt redeploy PLATFORM [options]

Redeploys only the processor, when only the script or its packages changed: renders the bundle,
checks that nothing but processor/ differs from the release running on the host (otherwise use
'myt deploy'), uploads a new release with the new processor, switches 'current' to it and
recreates only the processor services. If they are not healthy within --wait seconds, 'current'
is switched back to the previous release, the previous processor is started again, and the
command fails saying so. Devices keep publishing meanwhile: RabbitMQ holds their messages until
a processor takes them, and a processor acknowledges a message only once it is stored, so none is
lost or stored twice. The infrastructure is never applied. docs/deploy.md has the details.

Options:
  --commit SHA        the commit being deployed, for the audit log (default: $GITHUB_SHA)
  --actor NAME        who deploys, for the audit log (default: $GITHUB_ACTOR or user@machine)
  --wait SECONDS      how long the new processor may take to become healthy (default: 60)
  --root DIR          repository root (default: the nearest folder upwards with myt.yaml,
                      platforms/ or .git)
  -h, --help          show this help

Exit status: 0 redeployed (or nothing to do), 1 failed (and rolled back when it got that far), 2 usage error.
`;

export function redeployCommandWith(deps?: { readonly redeploy: (o: DeployOptions) => Promise<DeployResult> }): Command {
  return {
    name: 'redeploy',
    help: HELP,
    async run(args: string[], ctx: CliContext): Promise<number> {
      const { options } = deployOptions('redeploy', args, ctx);
      const d = deps ?? (await import('../../deploy/index.js'));
      const r = await d.redeploy(options);
      ctx.stdout(`${r.platform} on ${r.host}: ${r.summary}\n`);
      return 0;
    },
  };
}

export const redeployCommand = redeployCommandWith();

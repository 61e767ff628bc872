import { MytError } from '../../errors.js';
import { findOnPath, isExecutableFile } from '../../find-on-path.js';

export interface TerraformBinary {
  readonly path: string;
  readonly flavor: 'terraform' | 'tofu';
}

/**
 * Finds `terraform`, else `tofu`, on the PATH (MYT_TERRAFORM names another binary). Looking it up
 * here, rather than letting spawn fail, is what lets the error say how to fix it.
 */
export function findTerraform(env: NodeJS.ProcessEnv, isExecutable: (path: string) => boolean = isExecutableFile): TerraformBinary {
  const chosen = env.MYT_TERRAFORM;
  if (chosen) {
    if (!isExecutable(chosen)) throw new MytError(`MYT_TERRAFORM is set to '${chosen}', which is not an executable file`);
    return { path: chosen, flavor: /tofu[^/\\]*$/.test(chosen) ? 'tofu' : 'terraform' };
  }
  for (const flavor of ['terraform', 'tofu'] as const) {
    const path = findOnPath(flavor, env, isExecutable);
    if (path) return { path, flavor };
  }
  throw new MytError(
    'neither terraform nor tofu was found on the PATH: install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install) ' +
      'or OpenTofu, or set MYT_TERRAFORM to its path. `myt plan` works without it.',
  );
}

// The deploy step's front: what `myt deploy`, `myt redeploy` and the GitHub Actions call. The work is
// done in the modules beside this one; this file only fixes the interface the front doors rely on.
import { MytError } from '../errors.js';

export interface DeployOptions {
  /** Repository root. */
  readonly root: string;
  /** Name of the platform to deploy. */
  readonly platform: string;
  /** The commit being deployed, written to the audit log on the host. */
  readonly commit?: string;
  /** Who deploys, written to the audit log on the host. */
  readonly actor?: string;
  /** Progress, one line per step (already masked). */
  readonly onProgress?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface DeployResult {
  readonly platform: string;
  /** The host deployed to (`user@host:port`). */
  readonly host: string;
  /** False when the host already ran exactly this release ("nothing changed"). */
  readonly changed: boolean;
  /** One line for people: what was done. */
  readonly summary: string;
}

/** `myt deploy`: provision the platform's host and bring the release up. */
export async function deploy(options: DeployOptions): Promise<DeployResult> {
  throw new MytError(`deploy ${options.platform}: not implemented yet`);
}

/** `myt redeploy`: upload only the processor and restart it; roll back when it is not healthy. */
export async function redeploy(options: DeployOptions): Promise<DeployResult> {
  throw new MytError(`redeploy ${options.platform}: not implemented yet`);
}

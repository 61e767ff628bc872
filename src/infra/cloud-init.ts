import type { Construct } from 'constructs';
import { Fn, TerraformVariable } from 'cdktf';
import { openSshKeyBody } from './public-keys.js';

/** The public keys a platform's VM is created with (from its key file; docs/secrets.md). */
export interface PlatformKeys {
  /** Login public key, `ssh-ed25519 AAAA…`: the default user's authorized key. */
  readonly publicKey: string;
  /** The VM's host public key; absent in a key file made before host keys existed. */
  readonly hostPublicKey?: string;
}

/**
 * The Terraform variable that carries the host private key. It is declared sensitive and has no
 * default: `myt apply` gives it through Terraform's environment (TF_VAR_host_private_key), so the
 * key never enters the synthesized JSON.
 */
export const HOST_KEY_VARIABLE = 'host_private_key';

/**
 * The VM's cloud-init user data (a Terraform expression): the login key for the image's default
 * user (ubuntu) and, when the key file has one, the SSH host key pair, so the VM answers with the key
 * MyT already knows from its first boot (cloud-init cc_ssh: ssh_keys replaces the image's host
 * keys and generates none). Keys are reduced to type and base64 body: cdktf writes strings into
 * the yamlencode() call without escaping quotes, and a comment could hold any character.
 *
 * cloud-init reads user data once, when the VM is created: each stack keeps a change of it from
 * replacing or restarting a running VM, and the deploy step installs rotated keys on a running VM.
 */
export function cloudInitUserData(scope: Construct, keys: PlatformKeys): string {
  const config: Record<string, unknown> = { ssh_authorized_keys: [keyBody(keys.publicKey)] };
  if (keys.hostPublicKey !== undefined) {
    const hostPrivateKey = new TerraformVariable(scope, HOST_KEY_VARIABLE, {
      type: 'string',
      sensitive: true,
      nullable: false,
      description: "The private half of the VM's SSH host key (the key file's hostPrivateKey); given through TF_VAR_host_private_key only.",
    });
    config.ssh_deletekeys = true;
    config.ssh_keys = { ed25519_private: hostPrivateKey.stringValue, ed25519_public: keyBody(keys.hostPublicKey) };
  }
  return `#cloud-config\n${Fn.yamlencode(config)}`;
}

function keyBody(line: string): string {
  const body = openSshKeyBody(line);
  if (body === undefined) throw new Error('not an OpenSSH public key line'); // readPlatformKeys checked it
  return body;
}

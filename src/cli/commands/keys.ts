import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findRepoRoot } from '../../config/find-root.js';
import { MytError, UsageError } from '../../errors.js';
import { readSecrets } from '../../secrets/index.js';
import { demoKeyWarning } from '../../secrets/demo-key.js';
import { platformKeyFile } from '../../config/key-file.js';
import { addHostKey, generateKeys } from '../../secrets/operations.js';
import { parseCommandArgs, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const HELP = `Usage: myt keys <generate|show|scan> NAME [options]

The SSH keys of a platform's VM: ed25519, OpenSSH format, kept encrypted in
secrets/keys/NAME.enc.yaml. The login key (privateKey, publicKey) is how MyT logs in; the host
key (hostPrivateKey, hostPublicKey) is the VM's own, installed by cloud-init when the VM is
created, so MyT's first connection already verifies it. A cloud platform's keys are named after
the platform.

  generate NAME    make both key pairs in memory and write them straight into the encrypted file
                   (refuses to replace existing keys unless --force); prints the login public key
  show NAME        print the public key; with --private, also the private key (after a warning)
  scan NAME        an existing server's (cloud provider ssh) host key, read from the server, as
                   the line to paste into spec.cloud.hostKey; its fingerprint goes to stderr, to
                   compare with the server's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)

Options:
  --force          generate: replace existing keys (a running VM keeps trusting the old ones
                   until the deploy step installs the new ones)
  --add-host-key   generate: give a key file made before host keys existed its host key, keeping
                   its login key; prints the host public key
  --private        show: print the private key too
  --allow-demo-key generate: allow the public demo key as a recipient (demo data only)
  --root DIR       repository root (default: the nearest folder upwards with myt.yaml,
                   platforms/ or .git)
  -h, --help       show this help
`;

export const keysCommand: Command = {
  name: 'keys',
  help: HELP,
  async run(args: string[], ctx: CliContext): Promise<number> {
    const { values, positionals } = parseCommandArgs('keys', args, {
      root: { type: 'string' },
      force: { type: 'boolean' },
      'add-host-key': { type: 'boolean' },
      private: { type: 'boolean' },
      'allow-demo-key': { type: 'boolean' },
    });
    const [action, name, ...extra] = positionals;
    if (extra.length) throw new UsageError(`keys: unexpected argument '${extra[0]}'`);
    if (action !== 'generate' && action !== 'show' && action !== 'scan') throw new UsageError(action === undefined ? 'keys: say generate, show or scan' : `keys: unknown action '${action}' (generate, show or scan)`);
    if (name === undefined) throw new UsageError(`keys ${action}: NAME is required`);
    if (values.force && action !== 'generate') throw new UsageError('keys: --force applies to generate only');
    if (values['add-host-key'] && (action !== 'generate' || values.force)) throw new UsageError('keys: --add-host-key applies to generate only, without --force');
    if (values.private && action !== 'show') throw new UsageError('keys: --private applies to show only');
    const root = findRepoRoot(ctx.cwd, values.root);
    if (action === 'scan') return scan(root, name, ctx);
    if (action === 'generate' && values['add-host-key']) {
      const r = await addHostKey(root, name, { env: ctx.env });
      ctx.stdout(`${r.hostPublicKey}\n`);
      ctx.stderr(`added a host key to ${r.file} (encrypted; the login key is unchanged); its public key is above. A VM that exists already keeps its own host key.\n`);
      return 0;
    }
    if (action === 'generate') {
      const r = await generateKeys(root, name, values.force === true, { allowDemoKey: values['allow-demo-key'] === true });
      ctx.stdout(`${r.publicKey}\n`);
      ctx.stderr(`wrote ${r.file} (encrypted): the login key, whose public key is above, and the VM's host key\n${demoKeyWarning(root) ?? ''}`);
      return 0;
    }
    const file = platformKeyFile(name);
    if (!existsSync(join(root, file))) throw new MytError(`${file} does not exist: make the key pair with 'myt keys generate ${name}'`);
    const data = await readSecrets(root, file, { env: ctx.env });
    if (typeof data.publicKey !== 'string' || typeof data.privateKey !== 'string') {
      throw new MytError(`${file}: it lacks privateKey or publicKey (make one with 'myt keys generate ${name}')`);
    }
    ctx.stdout(`${data.publicKey.trim()}\n`);
    if (values.private) {
      ctx.stderr(`warning: the private key of '${name}' follows. Anyone who has it can log in to the VM: do not paste it into chats, tickets or logs, and delete any copy you save.\n`);
      ctx.stdout(data.privateKey.endsWith('\n') ? data.privateKey : `${data.privateKey}\n`);
    } else {
      ctx.stderr(`(add --private to print the private key as well)\n`);
    }
    return 0;
  },
};

/** `myt keys scan NAME`: the host key of an existing server, read from it without logging in. */
async function scan(root: string, name: string, ctx: CliContext): Promise<number> {
  const { loadRepository } = await import('../../config/repository.js');
  const { resolvePlatform } = await import('../../config/defaults.js');
  const { scanHostKey } = await import('../../deploy/ssh.js');
  const declared = (await loadRepository(root)).platforms.find((p) => p.doc.metadata.name === name);
  if (!declared) throw new MytError(`no platform named '${name}' is declared`);
  const cloud = resolvePlatform(declared.doc).spec.cloud;
  if (cloud.provider !== 'ssh') {
    throw new MytError(`platform ${name} runs on ${cloud.provider}: its VM's host key is MyT's own (secrets/keys/${name}.enc.yaml, made by 'myt keys generate'), nothing to scan`);
  }
  const { line, fingerprint } = await scanHostKey(cloud.host, cloud.port);
  ctx.stdout(`${line}\n`);
  ctx.stderr(
    `${cloud.host}:${cloud.port} presented the host key above, fingerprint ${fingerprint}. Check it against the server itself ` +
      `(on its console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before you paste the line into spec.cloud.hostKey of ${declared.file}: ` +
      'until then anyone between you and the server could have answered.\n',
  );
  return 0;
}

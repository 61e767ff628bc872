import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findRepoRoot } from '../../config/find-root.js';
import { loadRepository } from '../../config/repository.js';
import { MytError, UsageError } from '../../errors.js';
import { demoKeyWarning } from '../../secrets/demo-key.js';
import { initCa, readCa } from '../../tls/ca-file.js';
import { issueDeviceCertificate, VALIDITY_DAYS } from '../../tls/certificates.js';
import { parseCommandArgs, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const HELP = `Usage: myt tls <init|ca|client> PLATFORM [DEVICE] [options]

TLS between devices and a platform's broker (spec.broker.tls: true). The platform has its own CA,
kept encrypted in secrets/tls/PLATFORM.enc.yaml; the broker's certificate is issued from it at
deploy time, for the VM's address.

  init PLATFORM            make the CA (once; refuses to replace one unless --force)
  ca PLATFORM              print the CA certificate: give it to devices, they verify the broker with it
  client PLATFORM DEVICE   issue a certificate for DEVICE (mutual TLS): printed, or written to --out

Options:
  --force          init: replace an existing CA (every device certificate issued from it stops working)
  --days N         client: validity in days (default ${VALIDITY_DAYS.device})
  --out DIR        client: write DIR/DEVICE.crt, DIR/DEVICE.key (mode 0600) and DIR/ca.crt
  --root DIR       repository root (default: the nearest folder upwards with myt.yaml,
                   platforms/ or .git)
  -h, --help       show this help
`;

async function declaredPlatform(root: string, name: string, ctx: CliContext): Promise<void> {
  const repo = await loadRepository(root);
  const p = repo.platforms.find((d) => d.doc.metadata.name === name);
  if (!p) throw new MytError(`no platform named '${name}' (platforms: ${repo.platforms.map((d) => d.doc.metadata.name).join(', ') || 'none'})`);
  if (p.doc.spec.broker?.tls !== true) ctx.stderr(`note: ${p.file} does not set spec.broker.tls: true, so its broker does not use TLS yet\n`);
}

export const tlsCommand: Command = {
  name: 'tls',
  help: HELP,
  async run(args: string[], ctx: CliContext): Promise<number> {
    const { values, positionals } = parseCommandArgs('tls', args, { root: { type: 'string' }, force: { type: 'boolean' }, days: { type: 'string' }, out: { type: 'string' } });
    const [action, platform, device, ...extra] = positionals;
    if (action !== 'init' && action !== 'ca' && action !== 'client') throw new UsageError(action === undefined ? 'tls: say init, ca or client' : `tls: unknown action '${action}' (init, ca or client)`);
    if (platform === undefined) throw new UsageError(`tls ${action}: PLATFORM is required`);
    if (action === 'client' ? device === undefined : device !== undefined) throw new UsageError(action === 'client' ? 'tls client: DEVICE is required' : `tls ${action}: unexpected argument '${device}'`);
    if (extra.length) throw new UsageError(`tls: unexpected argument '${extra[0]}'`);
    if (values.force && action !== 'init') throw new UsageError('tls: --force applies to init only');
    if ((values.days !== undefined || values.out !== undefined) && action !== 'client') throw new UsageError('tls: --days and --out apply to client only');
    const days = values.days === undefined ? VALIDITY_DAYS.device : Number(values.days);
    if (!Number.isInteger(days) || days < 1 || days > 3650) throw new UsageError(`tls client: --days must be a whole number from 1 to 3650 (got '${values.days}')`);
    const root = findRepoRoot(ctx.cwd, values.root);
    await declaredPlatform(root, platform, ctx);

    if (action === 'init') {
      const r = await initCa(root, platform, values.force === true);
      ctx.stdout(r.certificate);
      ctx.stderr(`wrote ${r.file} (encrypted); the CA certificate is above: commit the file, give the certificate to devices\n${demoKeyWarning(root) ?? ''}`);
      return 0;
    }
    const ca = await readCa(root, platform, ctx.env);
    if (action === 'ca') {
      ctx.stdout(ca.certificate);
      return 0;
    }
    const issued = await issueDeviceCertificate(ca, device!, new Date(), days);
    if (values.out === undefined) {
      ctx.stderr(`warning: the private key of device '${device}' follows. Put it on the device only; anyone who has it can connect as that device.\n`);
      ctx.stdout(`${issued.certificate}${issued.key}`);
      return 0;
    }
    const dir = resolve(ctx.cwd, values.out);
    mkdirSync(dir, { recursive: true });
    const keyFile = join(dir, `${device}.key`);
    writeFileSync(keyFile, issued.key, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    writeFileSync(join(dir, `${device}.crt`), issued.certificate);
    writeFileSync(join(dir, 'ca.crt'), ca.certificate);
    ctx.stderr(`wrote ${join(dir, `${device}.crt`)}, ${keyFile} (mode 0600) and ${join(dir, 'ca.crt')}, valid ${days} days\n`);
    return 0;
  },
};

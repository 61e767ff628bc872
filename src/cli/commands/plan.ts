import { isAbsolute, relative } from 'node:path';
import { writeBundles } from '../../bundle/bundle.js';
import { resolvePlatform } from '../../config/defaults.js';
import { COMMON_HELP, COMMON_OPTIONS, realInfraDeps, rootAndOut, type InfraDeps } from '../infra-support.js';
import { openPorts } from '../../infra/ports.js';
import type { SynthesizedStack } from '../../infra/stacks.js';
import { orphanNotice, prepareStacks } from '../../infra/workspace.js';
import type { Declared, Platform } from '../../config/repository.js';
import { oneOf, parseCommandArgs, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const HELP = `Usage: myt plan [options] [platforms...]

Offline preview of the infrastructure: validates the declarations exactly as 'myt validate' does
(with an age key, every secrets file is decrypted in memory and its fields checked), reads each
platform's SSH public key, and synthesizes one Terraform stack per Space and Platform (CDKTF) into
OUT/<stack>/cdk.tf.json. No cloud is contacted, and no secret is written or passed to anything:
'myt apply' plans against the real cloud state before it changes anything.

It also renders each platform's bundle, what runs on its VM (compose.yaml, RabbitMQ, Grafana, the
processor and its script), into OUT/<platform>/bundle/, with no secret value in it. A script's npm
packages are installed (without install scripts) from the lock beside the platform's file,
<platform>.lock.json; without one, npm resolves the declared ranges and the lock is written there
to be committed (not when CI is set). Only then is the npm registry contacted.

Spaces come before the platforms that use them. Platforms on an existing server (cloud
provider ssh) need no infrastructure and get no stack, only a bundle.

Options:
${COMMON_HELP}
  --format text|json  output format (default: text)
  -h, --help          show this help

Exit status: 0 synthesized, 1 invalid declarations or secrets, 2 usage error.
`;

interface Row {
  readonly stack: string;
  readonly kind: string;
  readonly resources: number;
  readonly after: string;
  readonly dataGb: string;
  readonly ports: string;
  readonly file: string;
}

export function planCommandWith(deps: InfraDeps = realInfraDeps): Command {
  return {
    name: 'plan',
    help: HELP,
    async run(args: string[], ctx: CliContext): Promise<number> {
      const { values, positionals } = parseCommandArgs('plan', args, { ...COMMON_OPTIONS, format: { type: 'string' } });
      const format = oneOf('plan', 'format', values.format, ['text', 'json'] as const, 'text');
      const { root, outDir } = rootAndOut(ctx, values);
      const started = performance.now();
      const secrets = await deps.secrets();
      const prepared = await prepareStacks({ root, outDir, readSecrets: secrets.readSecrets, env: ctx.env, only: positionals.length ? positionals : undefined });
      const wanted = prepared.repo.platforms.filter((p) => positionals.length === 0 || positionals.includes(p.doc.metadata.name));
      const bundles = await writeBundles(outDir, wanted, { root, writeLock: !ctx.env.CI });
      const ms = performance.now() - started;
      const rows = prepared.stacks.map((s) => rowOf(s, prepared.repo.platforms));
      const existing = prepared.repo.platforms.filter((p) => p.doc.spec.cloud.provider === 'ssh' && (positionals.length === 0 || positionals.includes(p.doc.metadata.name)));
      const shownOut = shownPath(ctx.cwd, outDir);

      if (format === 'json') {
        ctx.stdout(
          `${JSON.stringify(
            {
              outDir: shownOut,
              stacks: prepared.stacks.map((s, i) => ({ ...rows[i], dependsOn: s.dependsOn, dir: shownPath(ctx.cwd, prepared.folders.get(s.name)!), synthMs: Math.round(s.synthMs) })),
              withoutStack: existing.map((p) => ({ platform: p.doc.metadata.name, reason: 'existing server (cloud provider ssh)' })),
              bundles: bundles.map((b) => ({ platform: b.platform, dir: shownPath(ctx.cwd, b.dir), files: b.files.length, ...(b.lock ? { lock: b.lock } : {}) })),
              orphanedState: prepared.orphans,
              notices: prepared.notices,
            },
            null,
            2,
          )}\n`,
        );
        return 0;
      }
      ctx.stdout(`Synthesized ${prepared.stacks.length} stack${prepared.stacks.length === 1 ? '' : 's'} into ${shownOut}/ in ${Math.round(ms)} ms (no cloud was contacted and nothing was changed).\n\n`);
      ctx.stdout(`${table(rows)}\n`);
      for (const p of existing) ctx.stdout(`${p.doc.metadata.name}: an existing server (cloud provider ssh), no infrastructure to create.\n`);
      if (bundles.length) ctx.stdout(`\nRendered ${bundles.length} bundle${bundles.length === 1 ? '' : 's'} (what runs on each VM, no secret in it): ${bundles.map((b) => shownPath(ctx.cwd, b.dir)).join(', ')}\n`);
      for (const b of bundles) if (b.lock?.state === 'written') ctx.stdout(`${b.platform}: wrote ${b.lock.path}, the script's packages as resolved: commit it, so the next render installs the same versions.\n`);
      for (const b of bundles) if (b.lock?.state === 'stale') ctx.stdout(`${b.platform}: ${b.lock.path} is missing or does not match spec.processor.packages; the packages were resolved afresh (run 'myt plan' locally and commit the lock).\n`);
      for (const name of prepared.orphans) ctx.stdout(`${orphanNotice(name)}\n`);
      for (const notice of prepared.notices) ctx.stdout(`note: ${notice}\n`);
      ctx.stdout(`\nApply with 'myt apply${positionals.length ? ` ${positionals.join(' ')}` : ''}': it plans against the real state first and shows what would change.\n`);
      return 0;
    },
  };
}

export const planCommand = planCommandWith();

function rowOf(s: SynthesizedStack, platforms: readonly Declared<Platform>[]): Row {
  const json = s.json as { resource?: Record<string, Record<string, { size?: number }>> };
  const resources = Object.values(json.resource ?? {}).reduce((n, byName) => n + Object.keys(byName).length, 0);
  const volume = s.protects.dataVolumes[0];
  const [type = '', name = ''] = volume?.split('.') ?? [];
  const size = volume ? json.resource?.[type]?.[name]?.size : undefined;
  const declared = platforms.find((p) => p.doc.metadata.name === s.name);
  let ports = '-';
  if (declared) {
    const platform = resolvePlatform(declared.doc);
    ports = openPorts(platform).map((p) => p.port).join(',');
    // An OpenStack platform uses the Space's existing security group, which MyT does not change.
    if (s.kind === 'openstack-platform') ports = `${ports} (open them in the Space's security group)`;
  }
  return { stack: s.name, kind: s.kind, resources, after: s.dependsOn.join(',') || '-', dataGb: size === undefined ? '-' : `${size} GB`, ports, file: s.file };
}

/** A path relative to where the user is, unless it lies outside (then absolute). */
function shownPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

function table(rows: readonly Row[]): string {
  const head = ['STACK', 'KIND', 'RESOURCES', 'AFTER', 'DATA VOLUME', 'PORTS', 'FILE'];
  const cells = rows.map((r) => [r.stack, r.kind, String(r.resources), r.after, r.dataGb, r.ports, r.file]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  return [line(head), ...cells.map(line)].join('\n');
}

import type { CommandEntry } from '../command.js';

/**
 * Every `myt` command, in the order `myt --help` lists them. Each module is imported only when its
 * command runs (the infrastructure libraries alone take seconds to load). Add a command here.
 */
export const commands: readonly CommandEntry[] = [
  {
    name: 'init',
    summary: 'make a new MyT repository: example platform, age key, .gitignore, GitHub workflows',
    load: async () => (await import('./init.js')).initCommand,
  },
  {
    name: 'validate',
    summary: 'check platform declarations and report every problem with its file and line',
    load: async () => (await import('./validate.js')).validateCommand,
  },
  {
    name: 'plan',
    summary: 'offline: synthesize each Space and Platform into Terraform JSON and summarise it',
    load: async () => (await import('./plan.js')).planCommand,
  },
  {
    name: 'changes',
    summary: 'which platforms the commits from BASE to HEAD change: what a push would deploy, redeploy or destroy',
    load: async () => (await import('./changes.js')).changesCommand,
  },
  {
    name: 'apply',
    summary: 'create or update the infrastructure with Terraform, Spaces first',
    load: async () => (await import('./apply.js')).applyCommand,
  },
  {
    name: 'destroy',
    summary: "destroy one platform's infrastructure (only if it opts in, after typing its name)",
    load: async () => (await import('./destroy.js')).destroyCommand,
  },
  {
    name: 'deploy',
    summary: 'put a platform on its host over SSH: lock, upload a release, switch, compose up --wait, audit',
    load: async () => (await import('./deploy.js')).deployCommand,
  },
  {
    name: 'redeploy',
    summary: 'replace only the processor (script or packages changed); rolls back when it is not healthy',
    load: async () => (await import('./redeploy.js')).redeployCommand,
  },
  {
    name: 'status',
    summary: "each platform's health from its host: services, queues, dead letters, volume, certificate",
    load: async () => (await import('./status.js')).statusCommand,
  },
  {
    name: 'dump',
    summary: "download a platform's data: the database's native dump, compressed, streamed over SSH to a file",
    load: async () => (await import('./dump.js')).dumpCommand,
  },
  {
    name: 'secrets',
    summary: 'init an age key; encrypt, decrypt or edit SOPS secrets files (plaintext stays in memory)',
    load: async () => (await import('./secrets.js')).secretsCommand,
  },
  {
    name: 'dev',
    summary: "run a platform's processor here against local services, with its script, until Ctrl-C",
    load: async () => (await import('./dev.js')).devCommand,
  },
  {
    name: 'keys',
    summary: "generate or show a platform VM's SSH keys (kept encrypted in secrets/keys/); scan an existing server's host key",
    load: async () => (await import('./keys.js')).keysCommand,
  },
  {
    name: 'tls',
    summary: "a platform's TLS CA (kept encrypted in secrets/tls/), its certificate for devices, device certificates",
    load: async () => (await import('./tls.js')).tlsCommand,
  },
];

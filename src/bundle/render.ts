// The configuration part of a platform's bundle: every file except the processor's, rendered from
// the declaration alone (no secret, no clock, no network), so the same declaration always gives the
// same bytes and a pull request shows exactly what would land on the VM.
import { stringify } from 'yaml';
import type { ResolvedPlatform } from '../config/defaults.js';
import { composeFile } from './compose.js';
import { databaseInitFile } from './database.js';
import { dashboardProvisioning, datasourceProvisioning, starterDashboard } from './grafana.js';
import { enabledPlugins, rabbitmqConf, topologyDefinitions } from './rabbitmq.js';

export interface BundleFile {
  /** Relative to the bundle's folder, '/'-separated. */
  readonly path: string;
  readonly content: string | Uint8Array;
  /** Default 0o644. */
  readonly mode?: number;
}

// No YAML anchors: the same object appearing twice (the logging settings) is written out each time.
const yaml = (header: string, data: unknown) => `${header}\n${stringify(data, { lineWidth: 0, aliasDuplicateObjects: false })}`;
const json = (data: unknown) => `${JSON.stringify(data, null, 2)}\n`;

export function renderConfigFiles(platform: ResolvedPlatform): BundleFile[] {
  const name = platform.metadata.name;
  const engine = platform.spec.database.engine;
  const init = databaseInitFile(engine);
  return [
    {
      path: 'compose.yaml',
      content: yaml(
        `# What runs on the VM of platform ${name}, rendered by myt plan (docs/bundle.md). Secret values are\n# not here: services read them from files under /opt/myt/${name}/secrets/ that the deploy step writes.`,
        composeFile(platform),
      ),
    },
    { path: 'rabbitmq/rabbitmq.conf', content: rabbitmqConf(name, platform.spec.broker.tls) },
    { path: 'rabbitmq/enabled_plugins', content: enabledPlugins() },
    { path: 'rabbitmq/definitions.json', content: json(topologyDefinitions(platform.spec.processor.replicas)) },
    { path: 'grafana/provisioning/datasources/myt.yaml', content: yaml('# The platform database, read with the read-only user.', datasourceProvisioning(engine)) },
    { path: 'grafana/provisioning/dashboards/myt.yaml', content: yaml('# The starter dashboard of the release.', dashboardProvisioning()) },
    { path: `grafana/dashboards/${name}.json`, content: json(starterDashboard(platform)) },
    ...(init ? [{ path: init.path, content: init.text, mode: 0o755 }] : []),
  ];
}

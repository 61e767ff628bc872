// compose.yaml: the services of a platform's VM, in the order they start (each waits for the health
// of what it needs): the broker and the database, then the processors and Grafana.
import type { ResolvedPlatform } from '../config/defaults.js';
import { databaseComposeService, databaseService } from './database.js';
import { GRAFANA_UID, grafanaComposeService } from './grafana.js';
import { dataDir, type DataDirectory } from './layout.js';
import { processorComposeService, processorService } from './processor.js';
import { rabbitmqComposeService } from './rabbitmq.js';
import type { ComposeService } from './service.js';

export function composeFile(platform: ResolvedPlatform): { name: string; services: Record<string, ComposeService> } {
  const name = platform.metadata.name;
  const engine = platform.spec.database.engine;
  const services: Record<string, ComposeService> = {
    rabbitmq: rabbitmqComposeService(name, platform.spec.broker.tls),
    [databaseService(engine)]: databaseComposeService(name, engine),
  };
  for (let i = 0; i < platform.spec.processor.replicas; i++) services[processorService(i)] = processorComposeService(platform, i);
  services.grafana = grafanaComposeService(name, engine);
  return { name: `myt-${name}`, services };
}

/** The data directories the deploy step creates on the data volume before `docker compose up`. */
export function dataDirectories(platform: ResolvedPlatform): DataDirectory[] {
  const name = platform.metadata.name;
  return [
    { path: dataDir(name, 'rabbitmq') },
    { path: dataDir(name, databaseService(platform.spec.database.engine)) },
    // The other images start as root and take ownership of their directory; Grafana's runs as 472.
    { path: dataDir(name, 'grafana'), uid: GRAFANA_UID },
  ];
}

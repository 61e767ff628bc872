// The processor services: replica i consumes stream i, with the node flags every processor runs with.
// Its files (processor/main.mjs, and processor/script.mjs with a script) come from processor-files.ts.
import type { ResolvedPlatform } from '../config/defaults.js';
import { processorNodeFlags } from '../processor/node-flags.js';
import { processorBrokerEnvironment } from './broker.js';
import { databaseService } from './database.js';
import { IMAGES } from './images.js';
import { secretsDir } from './layout.js';
import { baseService, dependsOnHealthy, healthcheck, type ComposeService } from './service.js';

/** Where the release's processor/ folder is mounted in the container. */
export const PROCESSOR_DIR = '/opt/myt/processor';
export const PROCESSOR_MAIN_FILE = 'main.mjs';
export const PROCESSOR_SCRIPT_FILE = 'script.mjs';
export const METRICS_PORT = 9464;
/** SIGTERM drains (MYT_DRAIN_MS, default 8 s) before Docker's SIGKILL. */
const STOP_GRACE = '20s';

/** The compose service of replica i. */
export function processorService(i: number): string {
  return `processor-${i}`;
}

/** The env file with the two variables that hold passwords: MYT_AMQP_URL and MYT_DB_URL. */
export function processorEnvFile(platform: string): string {
  return `${secretsDir(platform)}/processor.env`;
}

/** The variables of processor/src/config.ts that hold no secret, for replica i. */
export function processorEnvironment(platform: ResolvedPlatform, i: number): Record<string, string> {
  const { database, processor } = platform.spec;
  return {
    MYT_DB_ENGINE: database.engine,
    ...('tables' in database ? { MYT_SCHEMA: JSON.stringify(database.tables) } : {}),
    ...(processor.script !== undefined ? { MYT_SCRIPT: `${PROCESSOR_DIR}/${PROCESSOR_SCRIPT_FILE}` } : {}),
    MYT_SCRIPT_TIMEOUT_MS: String(processor.timeoutMs),
    MYT_METRICS_PORT: String(METRICS_PORT),
    MYT_METRICS_HOST: '0.0.0.0',
    ...processorBrokerEnvironment(i),
  };
}

export function processorComposeService(platform: ResolvedPlatform, i: number): ComposeService {
  const name = platform.metadata.name;
  return {
    ...baseService(IMAGES.processor),
    user: 'node',
    working_dir: PROCESSOR_DIR,
    command: ['node', ...processorNodeFlags(platform.spec.processor.script !== undefined), PROCESSOR_MAIN_FILE],
    read_only: true,
    tmpfs: ['/tmp'],
    env_file: [processorEnvFile(name)],
    environment: processorEnvironment(platform, i),
    volumes: [`./processor:${PROCESSOR_DIR}:ro`],
    // /healthz and /metrics for `myt status` over SSH; never published beyond the VM itself.
    ports: [`127.0.0.1:${METRICS_PORT + i}:${METRICS_PORT}`],
    depends_on: dependsOnHealthy('rabbitmq', databaseService(platform.spec.database.engine)),
    healthcheck: healthcheck(['node', '-e', `fetch('http://127.0.0.1:${METRICS_PORT}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`]),
    stop_grace_period: STOP_GRACE,
  };
}

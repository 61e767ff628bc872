import type { ResolvedPlatform } from '../config/defaults.js';

export interface OpenPort {
  readonly port: number;
  readonly description: string;
}

/**
 * The TCP ports a platform's VM serves to the internet, the one place that decides them:
 * SSH for provisioning, AMQP for the devices (5671 with TLS, else 5672), Grafana.
 */
export function openPorts(platform: ResolvedPlatform): OpenPort[] {
  const tls = platform.spec.broker.tls;
  return [
    { port: 22, description: 'SSH' },
    tls ? { port: 5671, description: 'AMQP over TLS' } : { port: 5672, description: 'AMQP' },
    { port: 3000, description: 'Grafana' },
  ];
}

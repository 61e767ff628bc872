// What every service in compose.yaml shares: a restart policy, a health check, rotated logs.

/** A service of compose.yaml, as the Compose Specification writes it. */
export type ComposeService = Record<string, unknown>;

/** The seed's VMs filled their disks with container logs: each service keeps at most 5 × 10 MB. */
export const LOGGING = { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '5' } } as const;

export interface HealthTiming {
  readonly interval?: string;
  readonly timeout?: string;
  readonly retries?: number;
  /** Failures during this time do not count (first start, database initialisation). */
  readonly startPeriod?: string;
}

export function healthcheck(test: readonly string[], t: HealthTiming = {}) {
  return { test: ['CMD', ...test], interval: t.interval ?? '10s', timeout: t.timeout ?? '5s', retries: t.retries ?? 6, start_period: t.startPeriod ?? '30s' };
}

/** The fields every service gets; `unless-stopped` so a VM reboot brings the platform back. */
export function baseService(image: string): ComposeService {
  return { image, restart: 'unless-stopped', logging: LOGGING };
}

/** `depends_on` waiting for each named service's health check. */
export function dependsOnHealthy(...services: string[]): Record<string, { condition: 'service_healthy' }> {
  return Object.fromEntries(services.map((s) => [s, { condition: 'service_healthy' as const }]));
}

import { readSchema } from './schemas.js';
import type { AwsCloud, Backups, Broker, Database, GcpCloud, Grafana, Monitoring, OpenstackCloud, Platform, PlatformSpec, Processor, SshCloud } from './types/platform.generated.js';
import type { AwsSpace, OpenstackSpace, Space } from './types/space.generated.js';

type Filled<T, K extends keyof T> = T & Required<Pick<T, K>>;

export type ResolvedCloud = Filled<AwsCloud, 'instanceType' | 'diskGb'> | Filled<GcpCloud, 'machineType' | 'diskGb'> | OpenstackCloud | Filled<SshCloud, 'port'>;
export type ResolvedDatabase = Database & { sizeGb: number };

export interface ResolvedPlatformSpec extends PlatformSpec {
  cloud: ResolvedCloud;
  database: ResolvedDatabase;
  broker: Filled<Broker, 'tls'>;
  processor: Filled<Processor, 'packages' | 'timeoutMs' | 'replicas'>;
  grafana: Grafana;
  monitoring: Required<Monitoring>;
  backups: Required<Backups>;
  destroy: 'allow' | 'deny';
}
export interface ResolvedPlatform extends Platform {
  spec: ResolvedPlatformSpec;
}
export type ResolvedSpaceSpec = Filled<AwsSpace, 'cidr'> | Filled<OpenstackSpace, 'region'>;
export interface ResolvedSpace extends Space {
  spec: ResolvedSpaceSpec;
}

type JsonObject = Record<string, unknown>;
let schemas: { platform: JsonObject; space: JsonObject } | undefined;

/**
 * A property's `default` as the JSON Schema states it: the schemas are the one source of defaults
 * (editors show them too), so the code reads them instead of repeating them.
 */
export function schemaDefault<T>(schema: 'platform' | 'space', def: string, property: string): T {
  schemas ??= { platform: readSchema('platform'), space: readSchema('space') };
  const defs = schemas[schema].$defs as Record<string, JsonObject>;
  let prop = (defs[def]?.properties as Record<string, JsonObject> | undefined)?.[property];
  const ref = prop?.$ref;
  if (prop && !('default' in prop) && typeof ref === 'string' && ref.startsWith('#/$defs/')) prop = defs[ref.slice(8)];
  if (!prop || !('default' in prop)) throw new Error(`schemas/${schema}.schema.json has no default for ${def}.${property}`);
  return prop.default as T;
}

const d = <T>(def: string, property: string) => schemaDefault<T>('platform', def, property);

/** The platform with every documented default filled in; the input is not changed. */
export function resolvePlatform(doc: Platform): ResolvedPlatform {
  const spec = doc.spec;
  return {
    ...doc,
    spec: {
      ...spec,
      cloud: resolveCloud(spec.cloud),
      database: { ...spec.database, sizeGb: spec.database.sizeGb ?? d<number>('influxDatabase', 'sizeGb') },
      broker: { ...spec.broker, tls: spec.broker?.tls ?? d<boolean>('broker', 'tls') },
      processor: {
        ...spec.processor,
        packages: spec.processor?.packages ?? {},
        timeoutMs: spec.processor?.timeoutMs ?? d<number>('processor', 'timeoutMs'),
        replicas: spec.processor?.replicas ?? d<number>('processor', 'replicas'),
      },
      grafana: { ...spec.grafana },
      monitoring: {
        enabled: spec.monitoring?.enabled ?? d<boolean>('monitoring', 'enabled'),
        schedule: spec.monitoring?.schedule ?? d<string>('monitoring', 'schedule'),
      },
      backups: {
        enabled: spec.backups?.enabled ?? d<boolean>('backups', 'enabled'),
        schedule: spec.backups?.schedule ?? d<string>('backups', 'schedule'),
        keep: spec.backups?.keep ?? d<number>('backups', 'keep'),
      },
      destroy: spec.destroy ?? (schemaDefault<'deny'>('platform', 'platformSpec', 'destroy')),
    },
  };
}

function resolveCloud(cloud: PlatformSpec['cloud']): ResolvedCloud {
  switch (cloud.provider) {
    case 'aws':
      return { ...cloud, instanceType: cloud.instanceType ?? d('awsCloud', 'instanceType'), diskGb: cloud.diskGb ?? d('awsCloud', 'diskGb') };
    case 'gcp':
      return { ...cloud, machineType: cloud.machineType ?? d('gcpCloud', 'machineType'), diskGb: cloud.diskGb ?? d('gcpCloud', 'diskGb') };
    case 'ssh':
      return { ...cloud, port: cloud.port ?? d('sshCloud', 'port') };
    case 'openstack':
      return cloud;
  }
}

/** The space with every documented default filled in; the input is not changed. */
export function resolveSpace(doc: Space): ResolvedSpace {
  const spec = doc.spec;
  return {
    ...doc,
    spec:
      spec.provider === 'aws'
        ? { ...spec, cidr: spec.cidr ?? schemaDefault('space', 'awsSpace', 'cidr') }
        : { ...spec, region: spec.region ?? schemaDefault('space', 'openstackSpace', 'region') },
  };
}

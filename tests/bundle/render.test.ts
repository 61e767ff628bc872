// The configuration part of every shipped example's bundle, checked as data: what compose.yaml runs
// and how, what RabbitMQ declares at boot, what Grafana is given.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedPlatform } from '../../src/config/defaults.js';
import { dataDirectories } from '../../src/bundle/compose.js';
import { rabbitPasswordHash } from '../../src/bundle/rabbitmq.js';
import { renderConfigFiles } from '../../src/bundle/render.js';
import { composeOf, definitionsOf, examplePlatforms, fileOf, sourceOf, withSpec, type Datasource } from './helpers.js';

// The Compose Specification's JSON Schema (compose-spec/compose-spec, schema/compose-spec.json) as
// the dclint package ships it, kept current there (it knows top-level `name`, `include`, `models`).
const require = createRequire(import.meta.url);
const composeSchema = JSON.parse(readFileSync(join(dirname(require.resolve('dclint/package.json')), 'schemas/compose.schema.json'), 'utf8')) as object;
// Its $schema names draft-07 by an https URL Ajv does not register: the schema is used, not itself validated.
const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
(addFormatsModule as unknown as typeof addFormatsModule.default)(ajv);
const validateCompose = ajv.compile(composeSchema);

// Where each image keeps its data (the images' documentation), written out here independently of the code.
const DATA_PATHS: Record<string, string> = { influxdb: '/var/lib/influxdb', mongodb: '/data/db', timescaledb: '/var/lib/postgresql/data', mysql: '/var/lib/mysql' };

let examples: ResolvedPlatform[];
beforeAll(async () => {
  examples = await examplePlatforms();
});

describe('compose.yaml of every shipped example', () => {
  it('covers every engine, with and without TLS', () => {
    expect(new Set(examples.map((p) => p.spec.database.engine))).toEqual(new Set(['influxdb', 'mongodb', 'timescaledb', 'mysql']));
    expect(new Set(examples.map((p) => p.spec.broker.tls))).toEqual(new Set([true, false]));
  });

  it("is valid against the Compose Specification's JSON Schema", () => {
    for (const p of examples) {
      const ok = validateCompose(composeOf(p));
      expect(ok, `${p.metadata.name}: ${JSON.stringify(validateCompose.errors?.slice(0, 3))}`).toBe(true);
    }
  });

  it('the schema check can fail: a service with an unknown key is refused', () => {
    const compose = composeOf(examples[0]!);
    compose.services.rabbitmq!.restart_policy = 'always';
    expect(validateCompose(compose)).toBe(false);
  });

  it('runs the broker, the engine, one processor and Grafana, named for the platform', () => {
    for (const p of examples) {
      const c = composeOf(p);
      expect(c.name).toBe(`myt-${p.metadata.name}`);
      expect(Object.keys(c.services)).toEqual(['rabbitmq', p.spec.database.engine, 'processor-0', 'grafana']);
    }
  });

  it('pins every image to an exact version', () => {
    for (const p of examples) {
      for (const [name, s] of Object.entries(composeOf(p).services)) {
        const tag = String(s.image).split(':')[1] ?? '';
        expect(tag, `${p.metadata.name}/${name}: ${s.image}`).toMatch(/^\d+\.\d+\.\d+(-[a-z0-9.-]+)?$/);
      }
    }
  });

  it('gives every service a health check, a restart policy and rotated logs', () => {
    for (const p of examples) {
      for (const [name, s] of Object.entries(composeOf(p).services)) {
        const where = `${p.metadata.name}/${name}`;
        expect(s.healthcheck?.test?.[0], where).toBe('CMD');
        expect(s.healthcheck!.test.length, where).toBeGreaterThan(1);
        expect(s.restart, where).toBe('unless-stopped');
        expect(s.logging, where).toEqual({ driver: 'json-file', options: { 'max-size': '10m', 'max-file': '5' } });
      }
    }
  });

  it('starts each service only once what it needs is healthy', () => {
    for (const p of examples) {
      const { services } = composeOf(p);
      const engine = p.spec.database.engine;
      expect(services['processor-0']!.depends_on).toEqual({ rabbitmq: { condition: 'service_healthy' }, [engine]: { condition: 'service_healthy' } });
      expect(services.grafana!.depends_on).toEqual({ [engine]: { condition: 'service_healthy' } });
      for (const s of Object.values(services)) for (const d of Object.values(s.depends_on ?? {})) expect(d).toEqual({ condition: 'service_healthy' });
    }
  });

  it('keeps every data directory on the data volume', () => {
    for (const p of examples) {
      const { services } = composeOf(p);
      const name = p.metadata.name;
      const engine = p.spec.database.engine;
      // Never created by Docker: a data volume missing at boot stops the service instead of hiding its data.
      const data = (source: string, target: string) => ({ type: 'bind', source, target, bind: { create_host_path: false } });
      expect(services[engine]!.volumes).toContainEqual(data(`/var/lib/myt/${name}/${engine}`, DATA_PATHS[engine]!));
      expect(services.rabbitmq!.volumes).toContainEqual(data(`/var/lib/myt/${name}/rabbitmq`, '/var/lib/rabbitmq'));
      expect(services.grafana!.volumes).toContainEqual(data(`/var/lib/myt/${name}/grafana`, '/var/lib/grafana'));
    }
  });

  it('lists for the deploy step exactly the data directories compose.yaml mounts, Grafana\'s owned by its uid', () => {
    for (const p of examples) {
      const mounted = Object.values(composeOf(p).services)
        .flatMap((s) => s.volumes ?? [])
        .map(sourceOf)
        .filter((source) => source.startsWith('/var/lib/myt/'));
      const dirs = dataDirectories(p);
      expect(dirs.map((d) => d.path).sort()).toEqual(mounted.sort());
      expect(dirs.find((d) => d.path.endsWith('/grafana'))?.uid).toBe(472);
    }
  });

  it('publishes AMQP over TLS only when the platform asks for TLS, and Grafana; nothing else leaves the VM', () => {
    for (const p of examples) {
      const published = Object.values(composeOf(p).services).flatMap((s) => (s.ports ?? [])).filter((port) => !port.startsWith('127.0.0.1:'));
      expect(published.sort(), p.metadata.name).toEqual(p.spec.broker.tls ? ['3000:3000', '5671:5671'] : ['3000:3000', '5672:5672']);
    }
  });

  it('holds no $ (Compose would interpolate it) and reads secrets only from files under the secrets folder', () => {
    for (const p of examples) {
      const text = fileOf(renderConfigFiles(p), 'compose.yaml');
      expect(text).not.toContain('$');
      for (const s of Object.values(composeOf(p).services)) {
        for (const f of (s.env_file ?? [])) expect(f).toMatch(new RegExp(`^/opt/myt/${p.metadata.name}/secrets/[a-z]+\\.env$`));
        for (const key of Object.keys(s.environment ?? {})) expect(key).not.toMatch(/PASSWORD$|_URL$/);
      }
    }
  });

  it('runs the processor with the node flags of src/processor/node-flags.ts, its script from the release', () => {
    const greenhouse = examples.find((p) => p.metadata.name === 'greenhouse')!;
    const s = composeOf(greenhouse).services['processor-0']!;
    // greenhouse has a script: its processor also gets the smaller semi-space (node-flags.ts says why).
    expect(s.command).toEqual(['node', '--max-old-space-size=96', '--heap-growing-percent=100', '--max-semi-space-size=8', 'main.mjs']);
    expect(s.environment).toMatchObject({ MYT_DB_ENGINE: 'timescaledb', MYT_SCRIPT: '/opt/myt/processor/script.mjs', MYT_SCHEMA: JSON.stringify({ room_climate: { temperature: 'double', humidity: 'double', label: 'text' } }) });
    const minimal = composeOf(examples.find((p) => p.metadata.name === 'minimal')!).services['processor-0']!;
    expect(minimal.command).toEqual(['node', '--max-old-space-size=96', '--heap-growing-percent=100', 'main.mjs']);
    expect(minimal.environment).not.toHaveProperty('MYT_SCRIPT');
    expect(minimal.environment).not.toHaveProperty('MYT_SCHEMA');
    expect(Object.keys(s.environment!)).not.toContain('MYT_QUEUE');
  });
});

describe('RabbitMQ', () => {
  const definitions = definitionsOf;

  it('declares data exactly as the older devices do (fanout, not durable, not auto-delete), through the spread exchange to one stream per replica', () => {
    for (const p of examples) {
      const d = definitions(p);
      expect(d.exchanges).toContainEqual({ name: 'data', vhost: '/', type: 'fanout', durable: false, auto_delete: false, internal: false, arguments: {} });
      expect(d.exchanges).toContainEqual(expect.objectContaining({ name: 'myt.spread', type: 'x-random', durable: true }));
      expect(d.bindings).toContainEqual({ source: 'data', vhost: '/', destination: 'myt.spread', destination_type: 'exchange', routing_key: '', arguments: {} });
      expect(d.queues).toContainEqual({ name: 'myt.readings.0', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-queue-type': 'stream', 'x-max-age': '7D', 'x-max-length-bytes': 10_000_000_000 } });
      expect(d.bindings).toContainEqual(expect.objectContaining({ source: 'myt.spread', destination: 'myt.readings.0', destination_type: 'queue' }));
    }
  });

  it('dead letters: the durable fanout exchange myt.dead into the quorum queue myt.dead', () => {
    const d = definitions(examples[0]!);
    expect(d.exchanges).toContainEqual(expect.objectContaining({ name: 'myt.dead', type: 'fanout', durable: true }));
    expect(d.queues).toContainEqual({ name: 'myt.dead', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-queue-type': 'quorum' } });
    expect(d.bindings).toContainEqual(expect.objectContaining({ source: 'myt.dead', destination: 'myt.dead', destination_type: 'queue' }));
  });

  it('holds no user and no password: users come at deploy time', () => {
    for (const p of examples) {
      const d = definitions(p);
      expect(d).not.toHaveProperty('users');
      expect(d).not.toHaveProperty('permissions');
    }
  });

  it('three replicas: three streams, each bound to the spread exchange, each read by its own processor declaring the same arguments', () => {
    const p = withSpec(examples[0]!, { processor: { ...examples[0]!.spec.processor, replicas: 3 } });
    const d = definitions(p);
    const { services } = composeOf(p);
    for (let i = 0; i < 3; i++) {
      const env = services[`processor-${i}`]!.environment!;
      expect(env).toMatchObject({ MYT_EXCHANGE: 'data', MYT_SPREAD_EXCHANGE: 'myt.spread', MYT_STREAM: `myt.readings.${i}`, MYT_DEAD_EXCHANGE: 'myt.dead', MYT_DEAD_QUEUE: 'myt.dead' });
      const stream = d.queues.find((q) => q.name === env.MYT_STREAM)!;
      // What the processor declares from its environment must equal what the broker loaded at boot.
      expect(stream.arguments).toEqual({ 'x-queue-type': 'stream', 'x-max-age': env.MYT_STREAM_MAX_AGE, 'x-max-length-bytes': Number(env.MYT_STREAM_MAX_BYTES) });
      expect(d.bindings).toContainEqual(expect.objectContaining({ source: 'myt.spread', destination: `myt.readings.${i}` }));
      expect(services[`processor-${i}`]!.ports).toEqual([`127.0.0.1:${9464 + i}:9464`]);
    }
    expect(d.queues.filter((q) => q.name.startsWith('myt.readings.'))).toHaveLength(3);
  });

  it('more replicas only add to the definitions', () => {
    const one = definitions(examples[0]!);
    const two = definitions(withSpec(examples[0]!, { processor: { ...examples[0]!.spec.processor, replicas: 2 } }));
    for (const key of ['vhosts', 'exchanges', 'queues', 'bindings'] as const) for (const item of one[key]) expect(two[key]).toContainEqual(item);
  });

  it('rabbitmq.conf: definitions loaded at boot, the broker stamps receive times, a message size limit, TLS only with TLS', () => {
    for (const p of examples) {
      const conf = fileOf(renderConfigFiles(p), 'rabbitmq/rabbitmq.conf');
      const settings = new Map(conf.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' = ') as [string, string]));
      expect(settings.get('message_interceptors.incoming.set_header_timestamp.overwrite')).toBe('true');
      expect(settings.get('max_message_size')).toBe(String(16 * 1024 * 1024));
      // The processor dead-letters unread what is larger than the broker would have accepted anyway.
      expect(composeOf(p).services['processor-0']!.environment!.MYT_MAX_MESSAGE_BYTES).toBe(settings.get('max_message_size'));
      expect(settings.get('definitions.local.path')).toBe('/etc/rabbitmq/definitions');
      expect(settings.get('listeners.ssl.default')).toBe(p.spec.broker.tls ? '5671' : undefined);
      expect(settings.get('ssl_options.verify')).toBe(p.spec.broker.tls ? 'verify_peer' : undefined);
      expect(fileOf(renderConfigFiles(p), 'rabbitmq/enabled_plugins')).toBe('[rabbitmq_management,rabbitmq_random_exchange].\n');
    }
  });

  it("hashes passwords as rabbit_password_hashing_sha256 does: the documentation's hash of 'guest' is reproduced from its salt", () => {
    // From RabbitMQ's definitions guide (the default user re-created in a definitions file).
    const documented = '9/1i+jKFRpbTRV1PtRnzFFYibT3cEpP92JeZ8YKGtflf4e/u';
    const salt = Buffer.from(documented, 'base64').subarray(0, 4);
    expect(rabbitPasswordHash('guest', 'guest', salt)).toBe(documented);
    expect(rabbitPasswordHash('guest', 'guest2', salt)).not.toBe(documented);
  });
});

describe('Grafana', () => {
  it('provisions the database as the default data source, read with the read-only user, per engine', () => {
    const types = { influxdb: 'influxdb', mongodb: 'haohanyang-mongodb-datasource', timescaledb: 'grafana-postgresql-datasource', mysql: 'mysql' };
    for (const p of examples) {
      const engine = p.spec.database.engine;
      const { datasources } = parse(fileOf(renderConfigFiles(p), 'grafana/provisioning/datasources/myt.yaml')) as { datasources: Datasource[] };
      expect(datasources).toHaveLength(1);
      const ds = datasources[0]!;
      expect(ds).toMatchObject({ type: types[engine], isDefault: true, uid: 'myt-database', secureJsonData: { password: '$MYT_GRAFANA_DB_PASSWORD' } });
      expect(ds.user ?? ds.jsonData.username).toBe('myt_grafana');
      if (engine === 'timescaledb') expect(ds.jsonData).toMatchObject({ database: 'MyTData', timescaledb: true });
      if (engine === 'influxdb') expect(ds.jsonData).toEqual({ dbName: 'MyTData' });
      if (engine === 'mysql') expect(ds.jsonData).toEqual({ database: 'MyTData' });
    }
  });

  it('turns anonymous access off and takes the admin password from a file, never from compose.yaml', () => {
    for (const p of examples) {
      const g = composeOf(p).services.grafana!;
      expect(g.environment).toMatchObject({ GF_AUTH_ANONYMOUS_ENABLED: 'false', GF_USERS_ALLOW_SIGN_UP: 'false', GF_SECURITY_ADMIN_PASSWORD__FILE: '/run/secrets/myt/grafana-admin-password' });
      expect(g.environment).not.toHaveProperty('GF_SECURITY_ADMIN_PASSWORD');
      expect(g.volumes).toContain(`/opt/myt/${p.metadata.name}/secrets/grafana/admin-password:/run/secrets/myt/grafana-admin-password:ro`);
    }
  });

  it('allows and installs the MongoDB plugin only on MongoDB platforms', () => {
    for (const p of examples) {
      const env = composeOf(p).services.grafana!.environment!;
      const mongo = p.spec.database.engine === 'mongodb';
      expect(env.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS === 'haohanyang-mongodb-datasource', p.metadata.name).toBe(mongo);
      expect(String(env.GF_PLUGINS_PREINSTALL_SYNC ?? '').startsWith('haohanyang-mongodb-datasource@0.5.0@https://'), p.metadata.name).toBe(mongo);
    }
  });

  it('draws one panel per declared numeric field on the SQL engines', () => {
    const panels = (name: string) => {
      const p = examples.find((x) => x.metadata.name === name)!;
      return (JSON.parse(fileOf(renderConfigFiles(p), `grafana/dashboards/${name}.json`)) as { panels: { title: string; targets: { rawSql: string }[] }[] }).panels;
    };
    // factory: spindle (rpm int, load_pct double, running bool), alarms (code int, detail text, raised_at timestamp).
    expect(panels('factory').map((x) => x.title)).toEqual(['spindle.rpm', 'spindle.load_pct', 'alarms.code']);
    expect(panels('factory')[0]!.targets[0]!.rawSql).toContain('avg(`rpm`) AS `rpm` FROM `spindle`');
    // greenhouse: room_climate (temperature double, humidity double, label text).
    expect(panels('greenhouse').map((x) => x.title)).toEqual(['room_climate.temperature', 'room_climate.humidity']);
    expect(panels('greenhouse')[1]!.targets[0]!.rawSql).toContain('avg("humidity") AS "humidity" FROM "room_climate"');
  });
});

describe('names as the older devices send them', () => {
  it('panels query the lowercase SQL name of a mixed-case table and field; MySQL folds table names', () => {
    const factory = examples.find((p) => p.metadata.name === 'factory')!;
    const older = withSpec(factory, { database: { engine: 'mysql', sizeGb: 10, tables: { sensorData: { DaemonRoom: 'double' } } } });
    const dashboard = JSON.parse(fileOf(renderConfigFiles(older), 'grafana/dashboards/factory.json')) as { panels: { title: string; targets: { rawSql: string }[] }[] };
    expect(dashboard.panels[0]!.title).toBe('sensorData.DaemonRoom');
    expect(dashboard.panels[0]!.targets[0]!.rawSql).toContain('avg(`daemonroom`) AS `daemonroom` FROM `sensordata`');
    expect(composeOf(older).services.mysql!.command).toEqual(['--lower-case-table-names=1']);
    const pg = withSpec(older, { database: { engine: 'timescaledb', sizeGb: 10, tables: { sensorData: { DaemonRoom: 'double' } } } });
    expect(fileOf(renderConfigFiles(pg), 'grafana/dashboards/factory.json')).toContain('avg(\\"daemonroom\\") AS \\"daemonroom\\" FROM \\"sensordata\\"');
  });
});

describe('database init scripts', () => {
  it('create the processor and Grafana users on the engines whose image does not', () => {
    const byEngine = new Map(examples.map((p) => [p.spec.database.engine, renderConfigFiles(p).filter((f) => f.path.startsWith('database/')).map((f) => f.path)]));
    expect(byEngine.get('influxdb')).toEqual([]); // the image's INFLUXDB_USER / INFLUXDB_READ_USER
    expect(byEngine.get('timescaledb')).toEqual(['database/100-myt-users.sh']);
    expect(byEngine.get('mysql')).toEqual(['database/100-myt-grafana-user.sh']); // MYSQL_USER is the processor's
    expect(byEngine.get('mongodb')).toEqual(['database/100-myt-users.js']);
  });
});

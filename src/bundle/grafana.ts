// Grafana: the platform's database provisioned as the default data source, read with the read-only
// user; a starter dashboard; the admin password from a file the deploy step writes; no anonymous
// access and no sign-up.
import type { ResolvedPlatform } from '../config/defaults.js';
import { sqlName } from '../config/sql-names.js';
import { databasePort, databaseService, DB_NAME, DB_USERS, type Engine } from './database.js';
import { IMAGES, MONGODB_GRAFANA_PLUGIN } from './images.js';
import { dataMount, secretsDir } from './layout.js';
import { baseService, dependsOnHealthy, healthcheck, type ComposeService } from './service.js';

export const GRAFANA_PORT = 3000;
/** The user the grafana/grafana image runs as: it must own the data directory. */
export const GRAFANA_UID = 472;
export const DATASOURCE_UID = 'myt-database';
/** Provisioning reads the read-only user's password from this variable (Grafana expands $VAR there). */
export const GRAFANA_DB_PASSWORD_VARIABLE = 'MYT_GRAFANA_DB_PASSWORD';
const ADMIN_PASSWORD_IN_CONTAINER = '/run/secrets/myt/grafana-admin-password';

export function grafanaEnvFile(platform: string): string {
  return `${secretsDir(platform)}/grafana.env`;
}

export function grafanaAdminPasswordFile(platform: string): string {
  return `${secretsDir(platform)}/grafana/admin-password`;
}

export function grafanaComposeService(platform: string, engine: Engine): ComposeService {
  return {
    ...baseService(IMAGES.grafana),
    ports: [`${GRAFANA_PORT}:${GRAFANA_PORT}`],
    env_file: [grafanaEnvFile(platform)],
    environment: {
      GF_SECURITY_ADMIN_USER: 'admin',
      // Read from a file, so a password with any character needs no quoting anywhere.
      GF_SECURITY_ADMIN_PASSWORD__FILE: ADMIN_PASSWORD_IN_CONTAINER,
      GF_AUTH_ANONYMOUS_ENABLED: 'false',
      GF_USERS_ALLOW_SIGN_UP: 'false',
      GF_ANALYTICS_REPORTING_ENABLED: 'false',
      ...(engine === 'mongodb'
        ? {
            // Installed before Grafana starts, so the provisioned data source finds its plugin.
            GF_PLUGINS_PREINSTALL_SYNC: `${MONGODB_GRAFANA_PLUGIN.id}@${MONGODB_GRAFANA_PLUGIN.version}@${MONGODB_GRAFANA_PLUGIN.url}`,
            GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS: MONGODB_GRAFANA_PLUGIN.id,
          }
        : {}),
    },
    volumes: [
      './grafana/provisioning:/etc/grafana/provisioning:ro',
      './grafana/dashboards:/etc/grafana/dashboards:ro',
      `${grafanaAdminPasswordFile(platform)}:${ADMIN_PASSWORD_IN_CONTAINER}:ro`,
      dataMount(platform, 'grafana', '/var/lib/grafana'),
    ],
    depends_on: dependsOnHealthy(databaseService(engine)),
    // The image is Alpine-based: busybox wget, no curl.
    healthcheck: healthcheck(['wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${GRAFANA_PORT}/api/health`], { startPeriod: '60s' }),
  };
}

/** grafana/provisioning/datasources/myt.yaml, as data. */
export function datasourceProvisioning(engine: Engine) {
  const host = `${databaseService(engine)}:${databasePort(engine)}`;
  const password = { password: `$${GRAFANA_DB_PASSWORD_VARIABLE}` };
  const common = { name: DB_NAME, uid: DATASOURCE_UID, access: 'proxy', isDefault: true, editable: false, secureJsonData: password };
  const byEngine = {
    influxdb: { type: 'influxdb', url: `http://${host}`, user: DB_USERS.grafana, jsonData: { dbName: DB_NAME } },
    // grafana-postgresql-datasource is the core PostgreSQL plugin's id ('postgres' is its old alias).
    timescaledb: { type: 'grafana-postgresql-datasource', url: host, user: DB_USERS.grafana, jsonData: { database: DB_NAME, sslmode: 'disable', timescaledb: true, postgresVersion: 1700 } },
    mysql: { type: 'mysql', url: host, user: DB_USERS.grafana, jsonData: { database: DB_NAME } },
    // Field names from the plugin's src/types.ts (MongoDataSourceOptions) and pkg/plugin/constants.go.
    mongodb: {
      type: MONGODB_GRAFANA_PLUGIN.id,
      jsonData: { connectionStringScheme: 'mongodb', host, database: DB_NAME, authType: 'username-password', username: DB_USERS.grafana, authDb: DB_NAME },
    },
  } satisfies Record<Engine, object>;
  return { apiVersion: 1, datasources: [{ ...common, ...byEngine[engine] }] };
}

/** grafana/provisioning/dashboards/myt.yaml: the dashboards in the release, not editable in the UI. */
export function dashboardProvisioning() {
  return {
    apiVersion: 1,
    providers: [{ name: 'myt', type: 'file', disableDeletion: true, allowUiUpdates: false, options: { path: '/etc/grafana/dashboards' } }],
  };
}

const NUMERIC = new Set(['int', 'bigint', 'double']);
const DATASOURCE = { uid: DATASOURCE_UID };

/** The numeric fields a panel is drawn for: table → fields, in declaration order. */
export function numericFields(platform: ResolvedPlatform): [table: string, field: string][] {
  const db = platform.spec.database;
  if (!('tables' in db)) return [];
  return Object.entries(db.tables).flatMap(([table, fields]) => Object.entries(fields).filter(([, type]) => NUMERIC.has(type)).map(([field]) => [table, field] as [string, string]));
}

/**
 * One time-series panel per declared numeric field, a series per sensor (SQL engines), by the names
 * SQL stores them under (lowercase). Names were checked as identifiers (letters, digits, '_'), and are
 * quoted all the same.
 */
function sqlPanelQuery(engine: 'timescaledb' | 'mysql', table: string, field: string): string {
  const q = engine === 'mysql' ? (n: string) => `\`${sqlName(n)}\`` : (n: string) => `"${sqlName(n)}"`;
  return `SELECT $__timeGroupAlias(ts, $__interval), sensor AS metric, avg(${q(field)}) AS ${q(field)} FROM ${q(table)} WHERE $__timeFilter(ts) GROUP BY 1, 2 ORDER BY 1`;
}

function panel(id: number, title: string, target: object, type = 'timeseries') {
  return { id, type, title, datasource: { ...DATASOURCE }, gridPos: { x: ((id - 1) % 2) * 12, y: Math.floor((id - 1) / 2) * 8, w: 12, h: 8 }, targets: [{ refId: 'A', datasource: { ...DATASOURCE }, ...target }] };
}

/** grafana/dashboards/<platform>.json: the starter dashboard. */
export function starterDashboard(platform: ResolvedPlatform) {
  const engine = platform.spec.database.engine;
  const name = platform.metadata.name;
  let panels: object[];
  let templating: object[] = [];
  if (engine === 'timescaledb' || engine === 'mysql') {
    panels = numericFields(platform).map(([table, field], i) => panel(i + 1, `${table}.${field}`, { format: 'time_series', rawQuery: true, editorMode: 'code', rawSql: sqlPanelQuery(engine, table, field) }));
  } else if (engine === 'influxdb') {
    // InfluxDB stores any measurement and field: a variable picks the measurement, the panel shows its fields.
    templating = [{ name: 'measurement', type: 'query', datasource: { ...DATASOURCE }, query: 'SHOW MEASUREMENTS', refresh: 2 }];
    panels = [panel(1, '$measurement', { rawQuery: true, resultFormat: 'time_series', query: 'SELECT mean(*) FROM /^$measurement$/ WHERE $timeFilter GROUP BY time($__interval), "sensor" fill(null)' })];
  } else {
    panels = [
      {
        id: 1,
        type: 'text',
        title: 'MongoDB',
        gridPos: { x: 0, y: 0, w: 24, h: 6 },
        options: { mode: 'markdown', content: `Readings are stored one collection per measurement in **${DB_NAME}**, fields under \`data\`. Add a panel with the **${DB_NAME}** data source and an aggregation pipeline.` },
      },
    ];
  }
  return {
    uid: `myt-${name}`,
    title: name,
    tags: ['myt'],
    timezone: 'utc',
    schemaVersion: 39,
    editable: false,
    time: { from: 'now-24h', to: 'now' },
    refresh: '30s',
    templating: { list: templating },
    panels,
  };
}

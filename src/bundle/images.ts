// Every image the bundle runs, pinned to an exact version (never `latest`, never a moving minor
// tag), so a redeploy of an unchanged declaration pulls exactly what ran before. Where each tag was
// checked is said beside it; bump them here, in one place, and say where the new tag was checked.
import type { Engine } from './database.js';

export const IMAGES = {
  // docker-library/official-images library/rabbitmq (snapshot of 2026-08-21): "Tags: 4.2.9-management,
  // 4.2-management". 4.2 is the series whose docs (rabbitmq.com/docs/message-interceptors, version
  // 4.2) state the set_header_timestamp interceptor setting rabbitmq.conf uses.
  rabbitmq: 'rabbitmq:4.2.9-management',
  // grafana/grafana, not grafana/grafana-oss (which stopped at 12.4): 13.2.0 is the release of
  // 2026-08-18 (its changelog entry, CHANGELOG.md#1320-2026-08-18, fixes CVE-2026-17183).
  grafana: 'grafana/grafana:13.2.0',
  // official-images library/node (2026-08-21): "24.19.0-bookworm-slim", Node.js 24 LTS (krypton).
  // The processor is built for node20 and above.
  processor: 'node:24.19.0-bookworm-slim',
} as const;

export const DATABASE_IMAGES: Readonly<Record<Engine, string>> = {
  // official-images library/influxdb (2026-08-21): "Tags: 1.12, 1.12.4"; 1.12 is the last OSS 1.x
  // series (the 1.13 tags there are the Enterprise -data/-meta images).
  influxdb: 'influxdb:1.12.4',
  // official-images library/mongo (2026-08-21): "SharedTags: 8.0.29, 8.0".
  mongodb: 'mongo:8.0.29',
  // TimescaleDB images live outside the official library: timescale/timescaledb-docker issue #331
  // (2026-03) names timescale/timescaledb:2.26.0-pg17-oss, published with 2.26.0-pg17 (the full,
  // TSL-licensed build used here). PostgreSQL 17.
  timescaledb: 'timescale/timescaledb:2.26.0-pg17',
  // official-images library/mysql (2026-08-21): "Tags: 8.4.11, 8.4, 8": the 8.4 LTS series.
  mysql: 'mysql:8.4.11',
};

/**
 * The MongoDB data source for Grafana: Grafana's own is Enterprise-only, so the bundle uses
 * haohanyang-mongodb-datasource (Apache-2.0, github.com/haohanyang/mongodb-datasource, maintained:
 * v0.5.0 tagged 2026-03-29, commits into 2026-05). It is unsigned, so Grafana must be told to load
 * it, and it is installed from its release archive (the URL its docs/get-started.md gives).
 */
export const MONGODB_GRAFANA_PLUGIN = {
  id: 'haohanyang-mongodb-datasource',
  version: '0.5.0',
  url: 'https://github.com/haohanyang/mongodb-datasource/releases/download/v0.5.0/haohanyang-mongodb-datasource-0.5.0.zip',
} as const;

/* Generated from schemas/platform.schema.json by `npm run gen:types`: do not edit. */

/**
 * Where the platform's VM runs.
 */
export type Cloud = AwsCloud | GcpCloud | OpenstackCloud | SshCloud;
/**
 * The database the processor writes to (database MyTData).
 */
export type Database = InfluxDatabase | MongoDatabase | TimescaleDatabase | MysqlDatabase;
/**
 * Size of the data volume in GB, kept apart from the boot disk. Default: 10.
 */
export type SizeGb = number;
/**
 * Column type of a field.
 */
export type FieldType = 'int' | 'bigint' | 'double' | 'text' | 'bool' | 'timestamp' | 'json';

/**
 * One IoT data platform: a VM running RabbitMQ, the processor, a database and Grafana.
 */
export interface Platform {
  /**
   * Version of the MyT file format.
   */
  apiVersion: 'myt/v1';
  /**
   * What this file declares.
   */
  kind: 'Platform';
  metadata: Metadata;
  spec: PlatformSpec;
}
/**
 * Identifies this declaration.
 */
export interface Metadata {
  /**
   * Name, unique across the repository: lowercase letters, digits and '-'.
   */
  name: string;
  /**
   * Free text for people reading the repository.
   */
  description?: string;
}
/**
 * What the platform is made of.
 */
export interface PlatformSpec {
  cloud: Cloud;
  database: Database;
  broker?: Broker;
  processor?: Processor;
  grafana?: Grafana;
  monitoring?: Monitoring;
  backups?: Backups;
  /**
   * Whether removing this platform may destroy its infrastructure. Default: deny (deleting the file leaves everything running).
   */
  destroy?: 'allow' | 'deny';
}
/**
 * An EC2 instance in the network of an AWS Space.
 */
export interface AwsCloud {
  /**
   * aws: Amazon EC2.
   */
  provider: 'aws';
  /**
   * Name of the kind: Space (provider aws) whose network the VM joins.
   */
  space: string;
  /**
   * EC2 instance type. Default: t3a.small.
   */
  instanceType?: string;
  /**
   * Size of the boot disk in GB. Default: 10.
   */
  diskGb?: number;
}
/**
 * A Compute Engine instance. GCP platforms need no Space.
 */
export interface GcpCloud {
  /**
   * gcp: Google Compute Engine.
   */
  provider: 'gcp';
  /**
   * GCP project id.
   */
  project: string;
  /**
   * GCP region, for example europe-west1.
   */
  region: string;
  /**
   * GCP zone inside the region, for example europe-west1-b.
   */
  zone: string;
  /**
   * Compute Engine machine type. Default: e2-small.
   */
  machineType?: string;
  /**
   * Size of the boot disk in GB. Default: 10.
   */
  diskGb?: number;
  /**
   * Secrets file holding the service-account JSON key (field serviceAccountKey).
   */
  credentials: string;
}
/**
 * An OpenStack (Nova) instance in the network of an OpenStack Space.
 */
export interface OpenstackCloud {
  /**
   * openstack: an OpenStack cloud.
   */
  provider: 'openstack';
  /**
   * Name of the kind: Space (provider openstack) holding the network settings.
   */
  space: string;
  /**
   * Nova flavor name, for example m1.small.
   */
  flavor: string;
  /**
   * Glance image name, for example Ubuntu 24.04.
   */
  image: string;
}
/**
 * An existing server reached over SSH: MyT creates no infrastructure for it.
 */
export interface SshCloud {
  /**
   * ssh: an existing server.
   */
  provider: 'ssh';
  /**
   * Host name or IP address of the server.
   */
  host: string;
  /**
   * SSH port. Default: 22.
   */
  port?: number;
  /**
   * User to log in as; it needs sudo without a password.
   */
  user: string;
  /**
   * Secrets file holding the SSH private key (made by `myt keys generate`).
   */
  key: string;
  /**
   * The server's SSH host public key, one line as `myt keys scan PLATFORM` prints it. Deploys verify the server against it and stop on a mismatch; without it, `myt deploy` refuses (no trust on first use).
   */
  hostKey?: string;
}
/**
 * InfluxDB 1.x: measurement = message measurement, tag sensor, fields = message data.
 */
export interface InfluxDatabase {
  /**
   * influxdb: InfluxDB 1.x.
   */
  engine: 'influxdb';
  sizeGb?: SizeGb;
}
/**
 * MongoDB: one collection per measurement.
 */
export interface MongoDatabase {
  /**
   * mongodb: MongoDB.
   */
  engine: 'mongodb';
  sizeGb?: SizeGb;
}
/**
 * TimescaleDB (PostgreSQL): one hypertable per declared measurement.
 */
export interface TimescaleDatabase {
  /**
   * timescaledb: TimescaleDB on PostgreSQL.
   */
  engine: 'timescaledb';
  sizeGb?: SizeGb;
  tables: Tables;
}
/**
 * The measurements to store, by name: each maps its field names to column types. Every table also gets the columns ts, sensor and msg_id.
 */
export interface Tables {
  [k: string]: Fields;
}
/**
 * The fields of one measurement: field name to column type.
 */
export interface Fields {
  [k: string]: FieldType;
}
/**
 * MySQL: one table per declared measurement.
 */
export interface MysqlDatabase {
  /**
   * mysql: MySQL.
   */
  engine: 'mysql';
  sizeGb?: SizeGb;
  tables: Tables;
}
/**
 * RabbitMQ, where devices publish to the fanout exchange data.
 */
export interface Broker {
  /**
   * Serve AMQP over TLS on port 5671 instead of plain AMQP on 5672. Default: false.
   */
  tls?: boolean;
  /**
   * Secrets file listing device users and their passwords. Default: none (only the processor's own user exists).
   */
  users?: string;
}
/**
 * The data-processing script run on every message, and its npm packages.
 */
export interface Processor {
  /**
   * The script (.ts, .js or .mjs); its default export receives one message. Default: none (messages are stored as they come).
   */
  script?: string;
  /**
   * npm packages the script imports: name to semver range.
   */
  packages?: {
    [k: string]: string;
  };
  /**
   * How long the script may take on one message before it is dead-lettered. Default: 5000.
   */
  timeoutMs?: number;
  /**
   * How many processors run, each on its own stream fed at random from the exchange data, for a platform that outgrows one core. Default: 1.
   */
  replicas?: number;
}
/**
 * Grafana on port 3000, with the database provisioned as a data source.
 */
export interface Grafana {
  /**
   * Secrets file holding the Grafana admin password (field adminPassword). Default: none (a password is generated at first deploy).
   */
  credentials?: string;
}
/**
 * Scheduled health checks and drift detection.
 */
export interface Monitoring {
  /**
   * Run health checks and drift detection. Default: true.
   */
  enabled?: boolean;
  /**
   * When to check, as five-field cron in UTC. Default: * /15 * * * *.
   */
  schedule?: string;
}
/**
 * Scheduled database backups.
 */
export interface Backups {
  /**
   * Take backups. Default: true.
   */
  enabled?: boolean;
  /**
   * When to back up, as five-field cron in UTC. Default: 0 3 * * *.
   */
  schedule?: string;
  /**
   * How many backups to keep. Default: 7.
   */
  keep?: number;
}

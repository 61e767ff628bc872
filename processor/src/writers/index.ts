// Picks the writer for the configured engine: the only place that knows all four.
import type { ProcessorConfig } from '../config.js';
import type { Logger } from '../log.js';
import { InfluxWriter } from './influx.js';
import { MongoWriter } from './mongo.js';
import { MysqlWriter } from './mysql.js';
import { TimescaleWriter } from './timescale.js';
import type { Writer } from './writer.js';

export function createWriter(config: ProcessorConfig, log: Logger): Writer {
  switch (config.engine) {
    case 'influxdb':
      return new InfluxWriter({ url: config.dbUrl, schema: config.schema, log, dedupeHours: config.influxDedupeHours });
    case 'mongodb':
      return new MongoWriter({ url: config.dbUrl, log });
    case 'timescaledb':
      return new TimescaleWriter({ url: config.dbUrl, schema: config.schema ?? {}, log });
    case 'mysql':
      return new MysqlWriter({ url: config.dbUrl, schema: config.schema ?? {}, log });
  }
}

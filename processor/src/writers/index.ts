// Picks the writer for the configured engine: the only place that knows all four. Each writer (and
// its driver) is imported only when chosen, so a processor never evaluates the other three drivers
// (the MongoDB driver alone adds tens of MB of heap).
import type { ProcessorConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { Writer } from './writer.js';

export async function createWriter(config: ProcessorConfig, log: Logger): Promise<Writer> {
  switch (config.engine) {
    case 'influxdb': {
      const { InfluxWriter } = await import('./influx.js');
      return new InfluxWriter({ url: config.dbUrl, schema: config.schema, log, dedupeHours: config.influxDedupeHours });
    }
    case 'mongodb': {
      const { MongoWriter } = await import('./mongo.js');
      return new MongoWriter({ url: config.dbUrl, log });
    }
    case 'timescaledb': {
      const { TimescaleWriter } = await import('./timescale.js');
      return new TimescaleWriter({ url: config.dbUrl, schema: config.schema ?? {}, log, connections: config.concurrency });
    }
    case 'mysql': {
      const { MysqlWriter } = await import('./mysql.js');
      return new MysqlWriter({ url: config.dbUrl, schema: config.schema ?? {}, log, connections: config.concurrency });
    }
  }
}

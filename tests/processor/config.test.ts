import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../processor/src/config.js';

const base = {
  MYT_AMQP_URL: 'amqp://u:p@127.0.0.1:5672',
  MYT_DB_ENGINE: 'timescaledb',
  MYT_DB_URL: 'postgres://u:secret-pw@127.0.0.1:5432/MyTData',
  MYT_SCHEMA: '{"room_climate":{"temperature":"double","humidity":"double"}}',
};

describe('processor configuration (the only reader of MYT_* variables)', () => {
  it('reads the contract variables and applies documented defaults', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      engine: 'timescaledb',
      schema: { room_climate: { temperature: 'double', humidity: 'double' } },
      metricsPort: 9464,
      batchSize: 500,
      prefetch: 3000,
      concurrency: 2,
      scriptTimeoutMs: 5000,
      exchange: 'data',
      spreadExchange: undefined,
      stream: 'myt.readings',
      streamMaxAge: '7D',
      streamMaxBytes: 10_000_000_000,
      deadExchange: 'myt.dead',
      deadQueue: 'myt.dead',
      maxMessageBytes: 16 * 1024 * 1024,
      scriptPath: undefined,
    });
  });

  it.each([
    [{ MYT_AMQP_URL: undefined }, /MYT_AMQP_URL is not set/],
    [{ MYT_AMQP_URL: 'http://x' }, /MYT_AMQP_URL must start with amqp/],
    [{ MYT_DB_ENGINE: 'oracle' }, /MYT_DB_ENGINE must be one of influxdb, mongodb, timescaledb, mysql/],
    [{ MYT_DB_URL: 'mysql://127.0.0.1/MyTData' }, /must start with postgres: or postgresql:/],
    [{ MYT_DB_URL: 'postgres://127.0.0.1:5432/' }, /must name the database/],
    [{ MYT_SCHEMA: undefined }, /MYT_SCHEMA is not set/],
    [{ MYT_SCHEMA: '{oops' }, /MYT_SCHEMA is not valid JSON/],
    [{ MYT_SCHEMA: '{"Bad-Name":{"x":"double"}}' }, /table 'Bad-Name' is not a valid name/],
    [{ MYT_SCHEMA: '{"t":{"x":"float"}}' }, /field 't.x' has type "float"/],
    [{ MYT_SCHEMA: '{"t":{"msg_id":"text"}}' }, /field 't.msg_id' is a reserved name/],
    [{ MYT_SCHEMA: '{"t":{"time":"text"}}' }, /field 't.time' is a reserved name/],
    [{ MYT_SCHEMA: '{"myt_checkpoints":{"x":"text"}}' }, /keeps for itself/],
    [{ MYT_SCHEMA: '{"sensorData":{"t":"double"},"SensorData":{"t":"double"}}' }, /tables 'sensorData' and 'SensorData' have one SQL name, 'sensordata'/],
    [{ MYT_SCHEMA: '{"t":{"Temp":"double","temp":"double"}}' }, /fields 't.Temp' and 't.temp' have one SQL name/],
    [{ MYT_BATCH_SIZE: '0' }, /MYT_BATCH_SIZE must be a whole number from 1 to 10000/],
    [{ MYT_METRICS_PORT: 'http' }, /MYT_METRICS_PORT must be a whole number/],
    [{ MYT_STREAM: 'amq.mine' }, /MYT_STREAM must be/],
    [{ MYT_SPREAD_EXCHANGE: 'has space' }, /MYT_SPREAD_EXCHANGE must be/],
    [{ MYT_STREAM_MAX_AGE: '7 days' }, /MYT_STREAM_MAX_AGE must be a number and a unit/],
    [{ MYT_STREAM_MAX_BYTES: '10' }, /MYT_STREAM_MAX_BYTES must be a whole number/],
    [{ MYT_MAX_MESSAGE_BYTES: '12x' }, /MYT_MAX_MESSAGE_BYTES must be a whole number/],
  ])('refuses %o with a message naming the variable', (change, message) => {
    expect(() => loadConfig({ ...base, ...change })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...change })).toThrow(message);
  });

  it('sizes the default prefetch to six batches, and to four more than the batches in flight when more run at once', () => {
    expect(loadConfig({ ...base, MYT_BATCH_SIZE: '100' }).prefetch).toBe(600);
    expect(loadConfig({ ...base, MYT_CONCURRENCY: '6' }).prefetch).toBe(5000);
    expect(loadConfig({ ...base, MYT_PREFETCH: '50' }).prefetch).toBe(50);
  });

  it('never echoes a database password in its errors', () => {
    let message = '';
    try {
      loadConfig({ ...base, MYT_DB_URL: 'postgres://u:secret-pw@127.0.0.1:5432/bad name' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/MYT_DB_URL/);
    expect(message).not.toContain('secret-pw');
  });

  it("takes the older system's names as its devices send them (sensorData, DaemonRoom)", () => {
    expect(loadConfig({ ...base, MYT_SCHEMA: '{"sensorData":{"temp":"double"},"DaemonRoom":{"Temp":"double"}}' }).schema).toEqual({
      sensorData: { temp: 'double' },
      DaemonRoom: { Temp: 'double' },
    });
  });

  it('lets InfluxDB and MongoDB run without a schema (they declare no tables)', () => {
    expect(loadConfig({ ...base, MYT_DB_ENGINE: 'influxdb', MYT_DB_URL: 'http://127.0.0.1:8086/MyTData', MYT_SCHEMA: undefined }).schema).toBeUndefined();
    expect(loadConfig({ ...base, MYT_DB_ENGINE: 'mongodb', MYT_DB_URL: 'mongodb://127.0.0.1/MyTData', MYT_SCHEMA: '' }).schema).toBeUndefined();
  });
});

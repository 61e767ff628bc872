// The broker's topology, the one source of truth for both the definitions file RabbitMQ loads at
// boot and the environment each processor declares the same things from: if the two disagreed
// (a stream's arguments above all), the broker would refuse the processor's declare with
// PRECONDITION_FAILED.
//
//   devices ──> data (fanout, not durable) ──> myt.spread (x-random) ──> myt.readings.0 … N-1 (streams)
//                                                                         └─ processor replica i reads stream i
//   processor ──> myt.dead (fanout, durable) ──> myt.dead (quorum queue): messages that can never be stored
//
// The spread exchange is there even with one replica, so changing `replicas` only ever adds
// bindings (shrinking leaves a stale binding to a stream nobody reads: the deploy step removes it).

/** Devices publish here. Declared exactly as pika's defaults, as the older devices declare it themselves. */
export const DEVICE_EXCHANGE = { name: 'data', type: 'fanout', durable: false, autoDelete: false } as const;
/** Sends each message to one of the bound streams, chosen at random (plugin rabbitmq_random_exchange). */
export const SPREAD_EXCHANGE = { name: 'myt.spread', type: 'x-random', durable: true, autoDelete: false } as const;
export const DEAD_EXCHANGE = { name: 'myt.dead', type: 'fanout', durable: true, autoDelete: false } as const;
export const DEAD_QUEUE = { name: 'myt.dead', arguments: { 'x-queue-type': 'quorum' } } as const;

/** How much of the readings a stream keeps (whichever limit is reached first). */
export const STREAM_RETENTION = { maxAge: '7D', maxBytes: 10_000_000_000 } as const;

/** The stream processor replica `i` (0-based) consumes. */
export function streamName(i: number): string {
  return `myt.readings.${i}`;
}

export function streamArguments(): Record<string, string | number> {
  return { 'x-queue-type': 'stream', 'x-max-age': STREAM_RETENTION.maxAge, 'x-max-length-bytes': STREAM_RETENTION.maxBytes };
}

/** Largest message the broker accepts and the processor reads (16 MiB; RabbitMQ 4's own default is also 16 MiB). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** The plugins the broker needs: the management API (and its `rabbitmq-diagnostics` checks) and the spread exchange's type. */
export const BROKER_PLUGINS = ['rabbitmq_management', 'rabbitmq_random_exchange'] as const;

/** The processor's own broker user (device users come from spec.broker.users and may not take this name). */
export const PROCESSOR_BROKER_USER = 'myt-processor';

/** The broker names processor replica `i` declares and consumes (processor/src/config.ts reads them). */
export function processorBrokerEnvironment(i: number): Record<string, string> {
  return {
    MYT_EXCHANGE: DEVICE_EXCHANGE.name,
    MYT_SPREAD_EXCHANGE: SPREAD_EXCHANGE.name,
    MYT_STREAM: streamName(i),
    MYT_STREAM_MAX_AGE: STREAM_RETENTION.maxAge,
    MYT_STREAM_MAX_BYTES: String(STREAM_RETENTION.maxBytes),
    MYT_DEAD_EXCHANGE: DEAD_EXCHANGE.name,
    MYT_DEAD_QUEUE: DEAD_QUEUE.name,
    MYT_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
  };
}

// Prometheus metrics of one processor, in a registry of its own (tests run several side by side).
// Process figures are read when scraped; prom-client's collectDefaultMetrics is not used because its
// per-GC observer costs measurable CPU at tens of thousands of messages a second.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly consumed: Counter;
  readonly stored: Counter;
  readonly dropped: Counter;
  readonly deadLettered: Counter<'stage'>;
  readonly writeErrors: Counter;
  readonly batchSeconds: Histogram;
  readonly queueDepth: Gauge;
}

function processMetrics(registry: Registry): void {
  new Gauge({
    name: 'myt_processor_resident_memory_bytes',
    help: 'Resident memory of the processor',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'myt_processor_heap_used_bytes',
    help: 'V8 heap in use',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: 'myt_processor_cpu_seconds',
    help: 'CPU time used by the processor (user + system)',
    registers: [registry],
    collect() {
      const { user, system } = process.cpuUsage();
      this.set((user + system) / 1e6);
    },
  });
  new Gauge({ name: 'myt_processor_start_time_seconds', help: 'When the processor started', registers: [registry] }).set(
    Math.round(Date.now() / 1000 - process.uptime()),
  );
}

/** `queueDepth` is read when /metrics is scraped (null when the broker is not connected). */
export function createMetrics(queueDepth: () => Promise<number | null>): Metrics {
  const registry = new Registry();
  processMetrics(registry);
  return {
    registry,
    consumed: new Counter({ name: 'myt_processor_consumed_total', help: 'Messages received from the broker', registers: [registry] }),
    stored: new Counter({ name: 'myt_processor_stored_total', help: 'Messages whose records were committed', registers: [registry] }),
    dropped: new Counter({ name: 'myt_processor_dropped_total', help: 'Messages the script dropped on purpose (returned null)', registers: [registry] }),
    deadLettered: new Counter({
      name: 'myt_processor_dead_lettered_total',
      help: 'Messages sent to the dead-letter queue, by stage (parse, script, schema, database)',
      labelNames: ['stage'],
      registers: [registry],
    }),
    writeErrors: new Counter({ name: 'myt_processor_write_errors_total', help: 'Failed database write attempts (retried)', registers: [registry] }),
    batchSeconds: new Histogram({
      name: 'myt_processor_batch_seconds',
      help: 'Time from taking a batch to acknowledging it',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'myt_processor_queue_depth',
      help: 'Messages ready in the processor queue',
      registers: [registry],
      async collect() {
        const depth = await queueDepth();
        if (depth !== null) this.set(depth);
      },
    }),
  };
}

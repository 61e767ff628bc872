// Prometheus metrics of one processor, in a registry of its own (tests run several side by side).
// Process figures are read when scraped; prom-client's collectDefaultMetrics is not used because its
// per-GC observer costs measurable CPU at tens of thousands of messages a second.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly received: Counter;
  readonly redelivered: Counter;
  readonly rowsStored: Counter;
  readonly duplicates: Counter;
  readonly dropped: Counter;
  readonly deadLettered: Counter<'stage'>;
  readonly expired: Counter;
  readonly writeErrors: Counter;
  readonly batchSeconds: Histogram;
  readonly nextOffset: Gauge;
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

export function createMetrics(): Metrics {
  const registry = new Registry();
  processMetrics(registry);
  const counter = (name: string, help: string) => new Counter({ name: `myt_processor_${name}`, help, registers: [registry] });
  return {
    registry,
    received: counter('received_total', 'Messages read from the stream, each counted once (re-reads are redelivered_total)'),
    redelivered: counter('redelivered_total', 'Messages read again after a restart or a reconnect (possibly stored already)'),
    rowsStored: counter('rows_stored_total', 'Rows, points or documents the database newly stored'),
    duplicates: counter('duplicates_total', 'Records skipped because their identity was already stored'),
    dropped: counter('dropped_total', 'Messages the script dropped on purpose (returned null)'),
    deadLettered: new Counter({
      name: 'myt_processor_dead_lettered_total',
      help: 'Messages sent to the dead-letter queue, by stage (parse, script, schema, database)',
      labelNames: ['stage'],
      registers: [registry],
    }),
    expired: counter('expired_total', 'Messages the stream dropped (retention) before they were stored'),
    writeErrors: counter('write_errors_total', 'Failed database write attempts (retried)'),
    batchSeconds: new Histogram({
      name: 'myt_processor_batch_seconds',
      help: 'Time from taking a batch to acknowledging it',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    nextOffset: new Gauge({ name: 'myt_processor_stream_next_offset', help: 'The first stream offset not yet done', registers: [registry] }),
  };
}

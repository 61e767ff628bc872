// Wires the parts together: consumer → batcher → pipeline → writer, then dead letters and acks.
// Acknowledgement happens only after the batch's rows are committed (and its dead letters confirmed),
// so a crash at any point leaves every unfinished message in the broker to be redelivered; the
// writers' idempotency turns those redeliveries into no-ops.
import { performance } from 'node:perf_hooks';
import type amqp from 'amqplib';
import { backoffDelay, sleepUnless } from './backoff.js';
import { Batcher } from './batcher.js';
import type { ProcessorConfig } from './config.js';
import { Consumer, publishDeadLetters, type Received, type Session } from './consumer.js';
import { jsonLogger, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Pipeline } from './pipeline.js';
import { InlineScriptRunner, loadScript, type ScriptFunction, type ScriptRunner } from './script.js';
import { ScriptWorkerRunner } from './script-worker.js';
import { startHealthServer, type Health, type HealthServer } from './server.js';
import { createWriter } from './writers/index.js';
import type { Writer } from './writers/writer.js';

export interface ProcessorDeps {
  readonly log?: Logger;
  /** A script compiled into the bundle; MYT_SCRIPT, when set, wins over it. */
  readonly script?: ScriptFunction;
  /** The bundled script's name in the user's repository, for the log. */
  readonly scriptName?: string;
  /**
   * The processor's own file, started again as a worker thread to run the script (the bundle on the
   * VM). Without it the script runs in this thread, where a synchronous loop cannot be stopped.
   */
  readonly scriptWorker?: URL;
  readonly writer?: Writer;
  readonly connect?: (url: string) => Promise<amqp.ChannelModel>;
}

export class Processor {
  private readonly log: Logger;
  private writer: Writer | undefined;
  private readonly consumer: Consumer;
  private readonly batcher: Batcher<Received>;
  private readonly metrics: Metrics;
  private pipeline: Pipeline | undefined;
  private script: ScriptRunner | undefined;
  private server: HealthServer | undefined;
  private stopping = false;
  private abandoned = false;
  /** Settles when the previous batch has been acknowledged (or given up): acks go out in order. */
  private ackTurn: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: ProcessorConfig,
    private readonly deps: ProcessorDeps = {},
  ) {
    this.log = deps.log ?? jsonLogger();
    this.writer = deps.writer;
    // Queue depth costs the broker a round trip: asked at most once a second however often /metrics is scraped.
    let depth: { at: number; value: Promise<number | null> } | undefined;
    this.metrics = createMetrics(() => {
      if (depth && Date.now() - depth.at < 1000) return depth.value;
      const s = this.consumer.current;
      const value = s ? s.channel.checkQueue(config.queue).then((q) => q.messageCount, () => null) : Promise.resolve(null);
      depth = { at: Date.now(), value };
      return value;
    });
    this.batcher = new Batcher<Received>({
      maxSize: config.batchSize,
      maxWaitMs: config.batchMs,
      concurrency: config.concurrency,
      handle: (batch) => this.handleBatch(batch),
      onError: (err) => this.log.error('batch failed; its messages stay in the broker', { error: (err as Error).message }),
    });
    this.consumer = new Consumer({
      url: config.amqpUrl,
      topology: { ...config },
      retryMaxMs: config.retryMaxMs,
      log: this.log,
      connect: deps.connect,
      onMessage: (received) => this.batcher.add(received),
      onSessionLost: (session) => this.batcher.discard((r) => r.session === session),
    });
  }

  /** Port of /healthz and /metrics, once started. */
  get healthPort(): number | undefined {
    return this.server?.port;
  }

  /** Loads the script, prepares the database (retrying while it is down), serves health, consumes. */
  async start(): Promise<void> {
    const { config } = this;
    const script = (this.script = await this.startScript());
    this.log.info('starting', { engine: config.engine, script: config.scriptPath ?? (this.deps.script ? (this.deps.scriptName ?? 'built in') : 'none'), queue: config.queue });
    const writer = (this.writer ??= await createWriter(config, this.log));
    for (let attempt = 0; ; attempt++) {
      try {
        await writer.start();
        break;
      } catch (err) {
        if (this.stopping) return;
        const delay = backoffDelay(attempt, config.retryMaxMs);
        this.log.warn('database not ready; retrying', { error: (err as Error).message, retryInMs: delay });
        await sleepUnless(delay, () => this.stopping);
        if (this.stopping) return;
      }
    }
    this.pipeline = new Pipeline({
      engine: config.engine,
      schema: config.schema,
      writer,
      script,
      retryMaxMs: config.retryMaxMs,
      log: this.log,
      metrics: this.metrics,
    });
    this.server = await startHealthServer(config.metricsHost, config.metricsPort, () => this.health(), this.metrics.registry);
    if (this.stopping) return;
    this.consumer.start();
  }

  /** The script's runner: in a worker thread when there is a file to start one from. */
  private async startScript(): Promise<ScriptRunner | undefined> {
    const { scriptPath, scriptTimeoutMs } = this.config;
    const worker = this.deps.scriptWorker;
    if (worker && (scriptPath || this.deps.script)) {
      const runner = new ScriptWorkerRunner(worker, scriptTimeoutMs, this.log, scriptPath);
      await runner.start();
      return runner;
    }
    const script = scriptPath ? await loadScript(scriptPath) : this.deps.script;
    return script && new InlineScriptRunner(script, scriptTimeoutMs);
  }

  async health(): Promise<Health> {
    let database = false;
    if (this.pipeline && this.writer) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('ping timed out')), 2000)));
      database = await Promise.race([this.writer.ping(), timeout]).then(
        () => true,
        () => false,
      );
      clearTimeout(timer);
    }
    const last = this.pipeline?.lastWriteAt ?? 0;
    return { broker: this.consumer.connected, database, lastWriteAt: last ? new Date(last).toISOString() : null };
  }

  private async handleBatch(batch: Received[]): Promise<void> {
    // Batches start in delivery order; take this batch's turn to acknowledge now, use it later.
    const previous = this.ackTurn;
    let done!: () => void;
    this.ackTurn = new Promise<void>((resolve) => (done = resolve));
    let acked = false;
    try {
      acked = await this.processBatch(batch, previous);
    } catch (err) {
      // Unexpected: hand the batch back to the broker now rather than leave it unacknowledged
      // (and the prefetch window shrinking) until the connection drops.
      this.log.error('batch failed; returning its messages to the queue', { error: (err as Error).message });
      for (const r of batch) {
        try {
          if (r.session === this.consumer.current) r.session.channel.nack(r.message, false, true);
        } catch {
          // the channel is gone: the broker requeues them itself
        }
      }
    } finally {
      if (!acked) for (const r of batch) r.session.ackGap = true;
      done();
    }
  }

  /** Returns true when every message of the batch was acknowledged. */
  private async processBatch(batch: Received[], previous: Promise<void>): Promise<boolean> {
    const pipeline = this.pipeline;
    if (!pipeline) return false;
    const started = performance.now();
    this.metrics.consumed.inc(batch.length);
    const outcomes = await pipeline.process(
      batch.map((r) => r.delivery),
      () => this.abandoned || !batch.some((r) => r.session.open),
    );
    await previous;
    if (!outcomes) return false; // abandoned: nothing acknowledged, the broker redelivers
    // Normally one session per batch; after a reconnect the old one's messages are redelivered anyway.
    const sessions = new Map<Session, { items: Received[]; letters: { message: amqp.ConsumeMessage; reason: string }[] }>();
    batch.forEach((r, i) => {
      const entry = sessions.get(r.session) ?? { items: [], letters: [] };
      entry.items.push(r);
      const outcome = outcomes[i]!;
      if (outcome.kind === 'dead') entry.letters.push({ message: r.message, reason: outcome.reason });
      sessions.set(r.session, entry);
    });
    let acked = true;
    for (const [session, { items, letters }] of sessions) {
      if (!session.open) {
        acked = false;
        continue;
      }
      try {
        await publishDeadLetters(session, this.config.deadExchange, letters);
        // Acks go out in delivery order, so while no batch was skipped, "all up to this tag" is
        // exactly this batch; after a gap, each message is acknowledged by itself.
        if (!session.ackGap) session.channel.ack(items[items.length - 1]!.message, true);
        else for (const r of items) session.channel.ack(r.message);
      } catch (err) {
        acked = false;
        this.log.warn('could not acknowledge a batch; the broker will redeliver it', { error: (err as Error).message });
      }
    }
    let stored = 0;
    let dropped = 0;
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i]!;
      if (!batch[i]!.session.open) continue;
      if (outcome.kind === 'stored') stored++;
      else if (outcome.kind === 'dropped') dropped++;
      else {
        this.metrics.deadLettered.inc({ stage: outcome.stage });
        this.log.warn('dead-lettered a message', { stage: outcome.stage, reason: outcome.reason });
      }
    }
    this.metrics.stored.inc(stored);
    this.metrics.dropped.inc(dropped);
    this.metrics.batchSeconds.observe((performance.now() - started) / 1000);
    return acked;
  }

  /**
   * Drains: stops consuming, finishes and acknowledges what was received, closes everything.
   * Returns false when the database did not let the drain finish within MYT_DRAIN_MS; the messages
   * not acknowledged then stay in the broker (nothing is lost, they are redelivered next start).
   */
  async stop(): Promise<boolean> {
    this.stopping = true;
    await this.consumer.pause();
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.batcher.flush().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.config.drainMs))),
    ]);
    clearTimeout(timer);
    if (!drained) {
      this.abandoned = true;
      this.log.warn('drain time-out: leaving unacknowledged messages in the broker', { drainMs: this.config.drainMs });
    }
    await this.consumer.close();
    await this.script?.close();
    await this.writer?.close().catch((err: Error) => this.log.warn('closing the database failed', { error: err.message }));
    await this.server?.close();
    this.log.info('stopped', { drained });
    return drained;
  }
}

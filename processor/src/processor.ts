// Wires the parts together: consumer → batcher → pipeline → writer, then dead letters, acks and the
// stream position. A batch is done once its rows are committed and its dead letters confirmed; only
// then may the position move past it, and the position is what a restart resumes from. A crash at
// any point therefore leaves every unfinished message to be read again from the stream, and the
// records' fixed identities turn those re-reads into no-ops.
import { performance } from 'node:perf_hooks';
import type amqp from 'amqplib';
import { backoffDelay, sleepUnless } from './backoff.js';
import { Batcher } from './batcher.js';
import type { ProcessorConfig } from './config.js';
import { Consumer, fingerprintOf, publishDeadLetters, type Received, type Session } from './consumer.js';
import { jsonLogger, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Pipeline, type Outcome } from './pipeline.js';
import { StreamPosition } from './position.js';
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

/** How often a moved stream position is saved as the database's checkpoint. */
const CHECKPOINT_EVERY_MS = 1000;

const TIMED_OUT = Symbol('timed out');

/** The promise's value, or TIMED_OUT once `ms` have passed. */
async function within<T>(ms: number, work: Promise<T>): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export class Processor {
  private readonly log: Logger;
  private writer: Writer | undefined;
  private consumer: Consumer | undefined;
  private readonly batcher: Batcher<Received>;
  private readonly metrics: Metrics;
  private pipeline: Pipeline | undefined;
  private position: StreamPosition | undefined;
  private script: ScriptRunner | undefined;
  private server: HealthServer | undefined;
  private stopping = false;
  private abandoned = false;
  /** Settles when the previous batch has been acknowledged (or given up): acks go out in order. */
  private ackTurn: Promise<void> = Promise.resolve();
  /** Checkpoint saves, one after another (a later save never overtakes an earlier one). */
  private saving: Promise<void> = Promise.resolve();
  private positionMoved = false;
  private checkpointTimer: NodeJS.Timeout | undefined;
  /** The reservation being saved: batches that need it wait for the same save. */
  private reservation: { readonly high: number; readonly saved: Promise<void> } | undefined;

  constructor(
    private readonly config: ProcessorConfig,
    private readonly deps: ProcessorDeps = {},
  ) {
    this.log = deps.log ?? jsonLogger();
    this.writer = deps.writer;
    this.metrics = createMetrics();
    this.batcher = new Batcher<Received>({
      maxSize: config.batchSize,
      maxWaitMs: config.batchMs,
      concurrency: config.concurrency,
      handle: (batch) => this.handleBatch(batch),
      onError: (err) => this.log.error('batch failed; its messages will be read again', { error: (err as Error).message }),
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
    this.log.info('starting', { engine: config.engine, script: config.scriptPath ?? (this.deps.script ? (this.deps.scriptName ?? 'built in') : 'none'), stream: config.stream });
    const writer = (this.writer ??= await createWriter(config, this.log));
    let saved;
    for (let attempt = 0; ; attempt++) {
      try {
        await writer.start();
        saved = await writer.loadCheckpoint(config.stream);
        break;
      } catch (err) {
        if (this.stopping) return;
        const delay = backoffDelay(attempt, config.retryMaxMs);
        this.log.warn('database not ready; retrying', { error: (err as Error).message, retryInMs: delay });
        await sleepUnless(delay, () => this.stopping);
        if (this.stopping) return;
      }
    }
    const position = (this.position = new StreamPosition(config.stream, saved));
    this.metrics.nextOffset.set(position.next);
    this.pipeline = new Pipeline({
      engine: config.engine,
      schema: config.schema,
      writer,
      script,
      retryMaxMs: config.retryMaxMs,
      maxMessageBytes: config.maxMessageBytes,
      log: this.log,
      metrics: this.metrics,
    });
    this.server = await startHealthServer(config.metricsHost, config.metricsPort, () => this.health(), this.metrics.registry);
    if (this.stopping) return;
    this.consumer = new Consumer({
      url: config.amqpUrl,
      topology: config,
      position,
      retryMaxMs: config.retryMaxMs,
      log: this.log,
      connect: this.deps.connect,
      onMessage: (received) => this.batcher.add(received),
      onSessionLost: (session) => {
        this.batcher.discard((r) => r.session === session);
        position.reset();
      },
      onExpired: (lost) => this.metrics.expired.inc(lost),
    });
    this.checkpointTimer = setInterval(() => {
      if (this.positionMoved) void this.saveCheckpoint().catch(() => {});
    }, CHECKPOINT_EVERY_MS);
    this.consumer.start();
  }

  /** Saves the stream position (after any save already under way); errors are logged and thrown. */
  private saveCheckpoint(): Promise<void> {
    const writer = this.writer;
    const position = this.position;
    if (!writer || !position) return Promise.resolve();
    const run = this.saving.then(async () => {
      this.positionMoved = false;
      const checkpoint = position.checkpoint();
      try {
        await writer.saveCheckpoint(checkpoint);
      } catch (err) {
        this.positionMoved = true;
        this.log.warn('could not save the stream position; trying again', { error: (err as Error).message });
        throw err;
      }
    });
    this.saving = run.catch(() => {});
    return run;
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
    return { broker: this.consumer?.connected ?? false, database, lastWriteAt: last ? new Date(last).toISOString() : null };
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
      // Unexpected. A stream cannot take a message back (no nack): end the session instead, which
      // reads this batch again from the stream position rather than leave the prefetch window shrunk.
      this.log.error('batch failed; reading it again from the stream', { error: (err as Error).message });
      if (batch.some((r) => r.session === this.consumer?.current)) this.consumer?.restartSession();
    } finally {
      if (!acked && !this.stopping) this.log.info('a batch was not acknowledged; it will be read again', { messages: batch.length });
      done();
    }
  }

  /** Returns true when every message of the batch was acknowledged (and the position may move past it). */
  private async processBatch(batch: Received[], previous: Promise<void>): Promise<boolean> {
    const pipeline = this.pipeline;
    const position = this.position;
    if (!pipeline || !position) return false;
    const started = performance.now();
    const lastMessage = batch[batch.length - 1]!;
    const span = position.begin(batch[0]!.delivery.offset, lastMessage.delivery.offset, fingerprintOf(lastMessage.message));
    const result = await pipeline.process(
      batch.map((r) => r.delivery),
      () => this.abandoned || !batch.some((r) => r.session.open),
      () => this.reserve(span.last),
    );
    await previous;
    if (!result) return false; // abandoned: not done, read again from the position
    const { outcomes } = result;
    // Normally one session per batch; after a reconnect the old one's messages are read again anyway.
    const sessions = new Map<Session, { items: Received[]; letters: { message: amqp.ConsumeMessage; reason: string; from: string }[] }>();
    batch.forEach((r, i) => {
      const entry = sessions.get(r.session) ?? { items: [], letters: [] };
      entry.items.push(r);
      const outcome = outcomes[i]!;
      if (outcome.kind === 'dead') entry.letters.push({ message: r.message, reason: outcome.reason, from: `${r.delivery.source}:${r.delivery.offset}` });
      sessions.set(r.session, entry);
    });
    let acked = true;
    for (const [session, { items, letters }] of sessions) {
      if (!session.open) {
        acked = false;
        continue;
      }
      try {
        // Confirmed before the batch counts as done: a crash in between publishes them again.
        await publishDeadLetters(session, this.config.deadExchange, letters);
        // On a stream an ack only grants credit; acks go out in delivery order.
        session.channel.ack(items[items.length - 1]!.message, true);
      } catch (err) {
        acked = false;
        // The session may well be open still (the broker refused a dead letter): end it, so the
        // batch is read again from the position rather than left undone for good.
        this.log.warn('could not finish a batch; reading it again', { error: (err as Error).message });
        if (session === this.consumer?.current) this.consumer.restartSession();
      }
    }
    if (!acked) return false;
    if (position.finish(span)) {
      this.positionMoved = true;
      this.metrics.nextOffset.set(position.next);
    }
    this.count(batch, outcomes, result);
    this.metrics.batchSeconds.observe((performance.now() - started) / 1000);
    return true;
  }

  /**
   * Before records up to `last` reach the database, a checkpoint whose `high` covers them must be in
   * it: a batch written meanwhile by the other slot, or after a failed save, waits for (or makes) a
   * save of its own rather than trusting a raise that is only in memory.
   */
  private async reserve(last: number): Promise<void> {
    const position = this.position!;
    if (!position.needsReservation(last)) return;
    if (!this.reservation || this.reservation.high < last) {
      const high = position.reserve(last);
      const saved = this.saveCheckpoint().then(() => position.confirmHigh(high));
      const reservation = { high, saved };
      this.reservation = reservation;
      // A failed save is forgotten, so the next attempt saves again.
      saved.catch(() => {
        if (this.reservation === reservation) this.reservation = undefined;
      });
    }
    await this.reservation.saved;
  }

  private count(batch: readonly Received[], outcomes: readonly Outcome[], result: { stored: number; duplicates: number }): void {
    let received = 0;
    let redelivered = 0;
    let dropped = 0;
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome.kind === 'skipped') continue;
      if (batch[i]!.delivery.redelivered) redelivered++;
      else received++;
      if (outcome.kind === 'dropped') dropped++;
      else if (outcome.kind === 'dead') {
        this.metrics.deadLettered.inc({ stage: outcome.stage });
        this.log.warn('dead-lettered a message', { stage: outcome.stage, reason: outcome.reason });
      }
    }
    this.metrics.received.inc(received);
    this.metrics.redelivered.inc(redelivered);
    this.metrics.dropped.inc(dropped);
    this.metrics.rowsStored.inc(result.stored);
    this.metrics.duplicates.inc(result.duplicates);
  }

  /**
   * Drains: stops consuming, finishes and acknowledges what was received, closes everything.
   * Returns false when the database did not let the drain finish within MYT_DRAIN_MS; the messages
   * not acknowledged then stay in the broker (nothing is lost, they are redelivered next start).
   */
  async stop(): Promise<boolean> {
    this.stopping = true;
    await this.consumer?.pause();
    const drained = await within(this.config.drainMs, this.batcher.flush()).then((done) => done !== TIMED_OUT);
    if (!drained) {
      this.abandoned = true;
      this.log.warn('drain time-out: what was not done is read again at the next start', { drainMs: this.config.drainMs });
    }
    clearInterval(this.checkpointTimer);
    // The last steps are bounded too: a database that stopped answering must not keep the process up.
    const closed = await within(
      this.config.drainMs,
      (async () => {
        if (this.positionMoved) await this.saveCheckpoint().catch(() => {});
        await this.consumer?.close();
        await this.script?.close();
        await this.writer?.close().catch((err: Error) => this.log.warn('closing the database failed', { error: err.message }));
        await this.server?.close();
      })(),
    );
    if (closed === TIMED_OUT) this.log.warn('closing took longer than MYT_DRAIN_MS; exiting anyway', { drainMs: this.config.drainMs });
    this.log.info('stopped', { drained });
    return drained && closed !== TIMED_OUT;
  }
}

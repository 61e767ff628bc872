// The broker side: connect, declare the topology, consume with a prefetch window, and reconnect with
// back-off whenever the connection goes away. Each connection is a Session; acknowledgements only
// ever go to the session a message came from (a message of a lost session is redelivered anyway).
import amqp from 'amqplib';
import { backoffDelay, sleepUnless } from './backoff.js';
import type { Logger } from './log.js';
import type { Delivery } from './message.js';

export interface Topology {
  readonly exchange: string;
  readonly queue: string;
  readonly deadExchange: string;
  readonly deadQueue: string;
  readonly queueType: 'quorum' | 'classic';
  readonly prefetch: number;
}

/** A received message: the processor's view plus what is needed to acknowledge it. */
export interface Received {
  readonly delivery: Delivery;
  readonly session: Session;
  readonly message: amqp.ConsumeMessage;
}

/**
 * Declares what the processor needs, on every (re)connect: a non-durable exchange and its bindings
 * vanish when the broker restarts. `data` is declared exactly as pika's exchange_declare defaults
 * (fanout, durable false, auto_delete false) so devices running the older code, which declare it
 * themselves, agree with us; any other settings would fail their first call with PRECONDITION_FAILED.
 */
export async function declareTopology(ch: amqp.Channel, t: Topology): Promise<void> {
  const queueArgs = { 'x-queue-type': t.queueType };
  await ch.assertExchange(t.exchange, 'fanout', { durable: false, autoDelete: false, internal: false });
  await ch.assertExchange(t.deadExchange, 'fanout', { durable: true, autoDelete: false });
  await ch.assertQueue(t.deadQueue, { durable: true, arguments: queueArgs });
  await ch.bindQueue(t.deadQueue, t.deadExchange, '');
  await ch.assertQueue(t.queue, { durable: true, deadLetterExchange: t.deadExchange, arguments: queueArgs });
  await ch.bindQueue(t.queue, t.exchange, '');
}

export class Session {
  open = true;
  consumerTag = '';
  /** Set once a batch of this session went unacknowledged: later acks must then name each message. */
  ackGap = false;
  constructor(
    readonly connection: amqp.ChannelModel,
    readonly channel: amqp.ConfirmChannel,
  ) {}
}

export interface ConsumerOptions {
  readonly url: string;
  readonly topology: Topology;
  readonly retryMaxMs: number;
  readonly log: Logger;
  readonly onMessage: (received: Received) => void;
  /** Called when a session ends: its unacknowledged messages go back to the queue. */
  readonly onSessionLost: (session: Session) => void;
  readonly connect?: (url: string) => Promise<amqp.ChannelModel>;
  readonly now?: () => number;
}

function withHeartbeat(url: string): string {
  const u = new URL(url);
  // Notice a dead broker within ~20 s rather than the server's default 60 s.
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', '10');
  return u.href;
}

export class Consumer {
  private session: Session | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: ConsumerOptions) {}

  get connected(): boolean {
    return this.session?.open ?? false;
  }

  get current(): Session | undefined {
    return this.session?.open ? this.session : undefined;
  }

  /** Starts connecting (and reconnecting) in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    for (let attempt = 0; !this.stopping; ) {
      let lost: Promise<void>;
      try {
        lost = (await this.open()).ended;
        attempt = 0;
      } catch (err) {
        const delay = backoffDelay(attempt++, this.options.retryMaxMs);
        this.options.log.warn('broker connection failed; retrying', { error: (err as Error).message, retryInMs: delay });
        await sleepUnless(delay, () => this.stopping);
        continue;
      }
      await lost;
    }
  }

  /** Connects and starts consuming; `ended` settles when the session ends. */
  private async open(): Promise<{ ended: Promise<void> }> {
    const { options } = this;
    const connection = await (options.connect ?? ((u) => amqp.connect(u)))(withHeartbeat(options.url));
    let session: Session | undefined;
    const ended = new Promise<void>((resolve) => {
      this.wake = resolve;
      const end = (why: string) => {
        if (session?.open) {
          session.open = false;
          options.log.warn('broker session ended', { reason: why });
          options.onSessionLost(session);
        }
        resolve();
      };
      connection.on('error', (err: Error) => options.log.warn('broker connection error', { error: err.message }));
      connection.on('close', (err?: Error) => end(err?.message ?? 'connection closed'));
    });
    try {
      const channel = await connection.createConfirmChannel();
      channel.on('error', (err: Error) => options.log.warn('broker channel error', { error: err.message }));
      // A channel can close alone (e.g. an ack for an unknown tag): drop the whole connection then,
      // so the next session starts clean.
      channel.on('close', () => void connection.close().catch(() => {}));
      await declareTopology(channel, options.topology);
      await channel.prefetch(options.topology.prefetch);
      const now = options.now ?? Date.now;
      // The session exists before consume(): deliveries may arrive before its promise resolves.
      const current = new Session(connection, channel);
      session = current;
      const { consumerTag } = await channel.consume(options.topology.queue, (message) => {
        if (!message) {
          // The broker cancelled us (queue deleted): reconnect, which declares it again.
          void connection.close().catch(() => {});
          return;
        }
        options.onMessage({
          session: current,
          message,
          delivery: {
            body: message.content,
            messageId: typeof message.properties.messageId === 'string' ? message.properties.messageId : undefined,
            redelivered: message.fields.redelivered,
            receivedAt: now(),
          },
        });
      });
      current.consumerTag = consumerTag;
      this.session = current;
      options.log.info('consuming', { queue: options.topology.queue, prefetch: options.topology.prefetch });
    } catch (err) {
      await connection.close().catch(() => {});
      throw err;
    }
    return { ended };
  }

  /** Stops new deliveries (messages already received stay ours to finish and acknowledge). */
  async pause(): Promise<void> {
    this.stopping = true;
    const s = this.current;
    if (s) await s.channel.cancel(s.consumerTag).catch(() => {});
  }

  /** Closes the connection and ends the reconnect loop. */
  async close(): Promise<void> {
    this.stopping = true;
    const s = this.session;
    if (s) {
      s.open = false;
      // Channel first: its close-ok means the broker has the acks sent before it (closing the
      // connection straight away can drop acks still queued in the client).
      await s.channel.close().catch(() => {});
      await s.connection.close().catch(() => {});
    }
    this.wake?.();
    await this.loop;
  }
}

/** Publishes dead letters with their reasons and waits for the broker's confirms. */
export async function publishDeadLetters(
  session: Session,
  deadExchange: string,
  letters: readonly { message: amqp.ConsumeMessage; reason: string }[],
): Promise<void> {
  if (letters.length === 0) return;
  for (const { message, reason } of letters) {
    const p = message.properties;
    session.channel.publish(deadExchange, message.fields.routingKey, message.content, {
      persistent: true,
      contentType: p.contentType as string | undefined,
      messageId: p.messageId as string | undefined,
      timestamp: p.timestamp as number | undefined,
      headers: {
        ...(p.headers ?? {}),
        'x-myt-reason': reason,
        'x-myt-original-exchange': message.fields.exchange,
        'x-myt-dead-lettered-at': new Date().toISOString(),
      },
    });
  }
  await session.channel.waitForConfirms();
}

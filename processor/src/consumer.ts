// The broker side: connect, declare the topology, find where to read the stream from, consume with a
// prefetch window, and reconnect with back-off whenever the connection goes away. Each connection is
// a Session; acknowledgements (which on a stream only grant credit) go to the session a message came
// from. A message's identity is its offset in the stream, fixed for as long as the stream exists.
import { createHash, randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { backoffDelay, sleepUnless } from './backoff.js';
import type { Logger } from './log.js';
import type { Delivery } from './message.js';
import type { StreamPosition } from './position.js';

export interface Topology {
  /** The exchange devices publish to. */
  readonly exchange: string;
  /** An x-random exchange between `exchange` and the stream, when replicas share the work. */
  readonly spreadExchange: string | undefined;
  readonly stream: string;
  readonly streamMaxAge: string;
  readonly streamMaxBytes: number;
  readonly deadExchange: string;
  readonly deadQueue: string;
  readonly prefetch: number;
}

/** A received message: the processor's view plus what is needed to acknowledge it. */
export interface Received {
  readonly delivery: Delivery;
  readonly session: Session;
  readonly message: amqp.ConsumeMessage;
}

/** Header of the probe messages the processor writes into its own stream (see locate). */
export const PROBE_HEADER = 'x-myt-probe';
/** Header in which RabbitMQ >= 3.12 (message_interceptors.incoming.set_header_timestamp) stamps its receive time. */
export const BROKER_TIME_HEADER = 'timestamp_in_ms';

/**
 * Declares what the processor needs, on every (re)connect: a non-durable exchange and its bindings
 * vanish when the broker restarts. `data` is declared exactly as pika's exchange_declare defaults
 * (fanout, durable false, auto_delete false) so devices running the older code, which declare it
 * themselves, agree with us; any other settings would fail their first call with PRECONDITION_FAILED.
 * The stream's arguments must equal those of the VM's definitions file, for the same reason.
 */
export async function declareTopology(ch: amqp.Channel, t: Topology): Promise<void> {
  await ch.assertExchange(t.exchange, 'fanout', { durable: false, autoDelete: false, internal: false });
  let source = t.exchange;
  if (t.spreadExchange) {
    await ch.assertExchange(t.spreadExchange, 'x-random', { durable: true, autoDelete: false });
    await ch.bindExchange(t.spreadExchange, t.exchange, '');
    source = t.spreadExchange;
  }
  await ch.assertExchange(t.deadExchange, 'fanout', { durable: true, autoDelete: false });
  await ch.assertQueue(t.deadQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await ch.bindQueue(t.deadQueue, t.deadExchange, '');
  await ch.assertQueue(t.stream, {
    durable: true,
    arguments: { 'x-queue-type': 'stream', 'x-max-age': t.streamMaxAge, 'x-max-length-bytes': t.streamMaxBytes },
  });
  await ch.bindQueue(t.stream, source, '');
}

function header(message: amqp.Message, name: string): unknown {
  const headers: Record<string, unknown> | undefined = message.properties.headers;
  return headers?.[name];
}

/** A header's value as text ('' when absent or not a plain value). */
function headerText(message: amqp.Message, name: string): string {
  const value = header(message, name);
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

export function offsetOf(message: amqp.Message): number {
  return Number(header(message, 'x-stream-offset'));
}

/**
 * What tells a message at an offset from another one at the same offset of a stream made again: its
 * bytes, the broker's stamp and, for probes, the probe's own id.
 */
export function fingerprintOf(message: amqp.Message): string {
  const h = createHash('sha256').update(message.content);
  h.update(`\n${headerText(message, BROKER_TIME_HEADER)}\n${headerText(message, PROBE_HEADER)}`);
  return h.digest('hex').slice(0, 32);
}

/** Where to start reading, and what was found on the way. */
export type Start =
  | { readonly kind: 'resume'; readonly offset: number | 'first' }
  | { readonly kind: 'recreated' }
  | { readonly kind: 'expired'; readonly offset: number; readonly lost: number };

const LOCATE_TIMEOUT_MS = 15_000;

/**
 * Reads the stream from `offset` with a consumer of its own until `take` says it has seen enough.
 * `before` runs once the broker has attached the consumer (a probe published then is read by it).
 */
async function peek(ch: amqp.ConfirmChannel, stream: string, offset: number | 'next', take: (m: amqp.ConsumeMessage) => boolean, before?: () => Promise<void>): Promise<void> {
  let tag = '';
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from stream '${stream}' within ${LOCATE_TIMEOUT_MS} ms`)), LOCATE_TIMEOUT_MS);
      ch.consume(
        stream,
        (m) => {
          if (!m) return reject(new Error(`stream '${stream}' was deleted`));
          ch.ack(m);
          if (take(m)) resolve();
        },
        { arguments: { 'x-stream-offset': offset } },
      ).then(async (ok) => {
        tag = ok.consumerTag;
        await before?.();
      }, reject).catch(reject);
    });
  } finally {
    clearTimeout(timer);
    if (tag) await ch.cancel(tag);
  }
}

/** True for a probe of ours: published to the stream itself (the default exchange), with the probe header. */
export function isProbe(message: amqp.Message & { fields: { exchange: string } }): boolean {
  return message.fields.exchange === '' && header(message, PROBE_HEADER) !== undefined;
}

/**
 * Finds where to resume, and checks that the stream is the one the checkpoint was taken on. A probe
 * written to the stream now lands at its end: if that is not past `next - 1`, the stream is shorter
 * than the checkpoint says, so it was deleted and made again. Otherwise the message at `next - 1`
 * must be the one fingerprinted; a different one means the same. If it is gone (retention removed
 * it), reading resumes at the first message left, and any undone message before that is lost.
 * The probe is read by a consumer attached before it is published ('next'): one reading from the
 * stream's last chunk could start past it while devices publish.
 */
export async function locate(ch: amqp.ConfirmChannel, stream: string, next: number, fingerprint: string): Promise<Start> {
  if (next === 0) return { kind: 'resume', offset: 'first' };
  const probe = randomUUID();
  let end = -1;
  await peek(
    ch,
    stream,
    'next',
    (m) => header(m, PROBE_HEADER) === probe && ((end = offsetOf(m)), true),
    async () => {
      ch.sendToQueue(stream, Buffer.alloc(0), { persistent: true, headers: { [PROBE_HEADER]: probe } });
      await ch.waitForConfirms();
    },
  );
  if (end <= next - 1) return { kind: 'recreated' };
  let first: amqp.ConsumeMessage | undefined;
  await peek(ch, stream, next - 1, (m) => ((first ??= m), true));
  return judge(next, offsetOf(first!), fingerprintOf(first!) === fingerprint);
}

/**
 * What the first message read from `next - 1` says, for a stream longer than the checkpoint: at
 * `next - 1` it must be the message fingerprinted; past it, retention removed what was before, and
 * anything from `next` up to it was lost unread.
 */
export function judge(next: number, found: number, sameMessage: boolean): Start {
  if (found === next - 1) return sameMessage ? { kind: 'resume', offset: next } : { kind: 'recreated' };
  if (found < next - 1) return { kind: 'recreated' };
  return found <= next ? { kind: 'resume', offset: next } : { kind: 'expired', offset: found, lost: found - next };
}

export class Session {
  open = true;
  consumerTag = '';
  constructor(
    readonly connection: amqp.ChannelModel,
    readonly channel: amqp.ConfirmChannel,
  ) {}
}

export interface ConsumerOptions {
  readonly url: string;
  readonly topology: Topology;
  readonly position: StreamPosition;
  readonly retryMaxMs: number;
  readonly log: Logger;
  readonly onMessage: (received: Received) => void;
  /** Called when a session ends: its messages in flight will be read again from `position.next`. */
  readonly onSessionLost: (session: Session) => void;
  /** Called when messages left the stream (retention) before they were done. */
  readonly onExpired: (lost: number) => void;
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

  /** Where this session starts reading; handles a stream made again and messages lost to retention. */
  private async startingOffset(channel: amqp.ConfirmChannel): Promise<number | 'first'> {
    const { position, topology, log } = this.options;
    const found = await locate(channel, topology.stream, position.next, position.fingerprint);
    if (found.kind === 'resume') return found.offset;
    if (found.kind === 'expired') {
      log.error('messages left the stream before they were stored (the stream keeps messages for MYT_STREAM_MAX_AGE / MYT_STREAM_MAX_BYTES)', {
        stream: topology.stream,
        lost: found.lost,
        from: position.next,
      });
      this.options.onExpired(found.lost);
      position.skipTo(found.offset);
      return found.offset;
    }
    position.newEpoch();
    log.warn('the stream was made again since the last checkpoint: reading it from the start under a new epoch', { stream: topology.stream, epoch: position.epoch });
    return 'first';
  }

  /** Connects and starts consuming; `ended` settles when the session ends. */
  private async open(): Promise<{ ended: Promise<void> }> {
    const { options } = this;
    const connection = await (options.connect ?? ((u) => amqp.connect(u)))(withHeartbeat(options.url));
    if (this.stopping) {
      // Stopped while connecting: nobody would close this one.
      await connection.close().catch(() => {});
      throw new Error('stopped while connecting');
    }
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
      const { topology, position } = options;
      await declareTopology(channel, topology);
      await channel.prefetch(topology.prefetch);
      const from = await this.startingOffset(channel);
      const now = options.now ?? Date.now;
      const source = position.source;
      // The session exists before consume(): deliveries may arrive before its promise resolves.
      const current = new Session(connection, channel);
      session = current;
      const { consumerTag } = await channel.consume(
        topology.stream,
        (message) => {
          if (!message) {
            // The broker cancelled us (stream deleted): reconnect, which declares it again.
            void connection.close().catch(() => {});
            return;
          }
          const offset = offsetOf(message);
          const stamp = header(message, BROKER_TIME_HEADER);
          options.onMessage({
            session: current,
            message,
            delivery: {
              skip: isProbe(message) || offset < position.next,
              body: message.content,
              messageId: typeof message.properties.messageId === 'string' ? message.properties.messageId : undefined,
              source,
              offset,
              brokerTime: typeof stamp === 'number' && Number.isFinite(stamp) ? stamp : undefined,
              redelivered: position.seen(offset),
              receivedAt: now(),
            },
          });
        },
        { arguments: { 'x-stream-offset': from } },
      );
      current.consumerTag = consumerTag;
      this.session = current;
      if (this.stopping) throw new Error('stopped while connecting');
      options.log.info('consuming', { stream: topology.stream, from, epoch: position.epoch, prefetch: topology.prefetch });
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

  /** Ends the current session (its messages are read again from the position), then reconnects. */
  restartSession(): void {
    void this.session?.connection.close().catch(() => {});
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

/**
 * AMQP properties a publisher cannot set on a message it publishes again: RabbitMQ checks `userId`
 * against the connection's user, and an `expiration` would make the dead letter vanish. Both are
 * kept in headers instead, as RabbitMQ's own dead-lettering keeps the original expiration.
 */
function deadLetterProperties(message: amqp.ConsumeMessage, reason: string, from: string): amqp.Options.Publish {
  const properties: Record<string, unknown> = { ...message.properties };
  const { headers, userId, expiration, deliveryMode: _mode, ...kept } = properties;
  const extra: Record<string, unknown> = {};
  if (userId !== undefined) extra['x-myt-original-user-id'] = userId;
  if (expiration !== undefined) extra['x-myt-original-expiration'] = expiration;
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(kept)) if (value !== undefined) own[key] = value;
  return {
    ...own,
    persistent: true,
    headers: {
      ...(headers as Record<string, unknown> | undefined),
      ...extra,
      'x-myt-reason': reason,
      'x-myt-original-exchange': message.fields.exchange,
      // Where it was in the stream: a message dead-lettered twice (after a crash) has the same one.
      'x-myt-from': from,
      'x-myt-dead-lettered-at': new Date().toISOString(),
    },
  };
}

/** Publishes dead letters with their reasons and waits for the broker's confirms. */
export async function publishDeadLetters(
  session: Session,
  deadExchange: string,
  letters: readonly { message: amqp.ConsumeMessage; reason: string; from: string }[],
): Promise<void> {
  if (letters.length === 0) return;
  // Mandatory: a dead letter that reaches no queue (its binding gone) comes back before its confirm,
  // which the broker would otherwise give for a message it dropped.
  let returned = 0;
  const onReturn = () => void returned++;
  session.channel.on('return', onReturn);
  try {
    for (const { message, reason, from } of letters) {
      session.channel.publish(deadExchange, message.fields.routingKey, message.content, { ...deadLetterProperties(message, reason, from), mandatory: true });
    }
    await session.channel.waitForConfirms();
  } finally {
    session.channel.off('return', onReturn);
  }
  if (returned > 0) throw new Error(`${returned} dead letter(s) reached no queue: is '${deadExchange}' bound to its queue?`);
}

// The broker side against the real RabbitMQ: the processor and devices running the older code
// (pika) must agree on how `data` is declared, or every device's first call fails; and the stream
// position must find its place again, or notice that the stream is not the one it left.
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { declareTopology, fingerprintOf, isProbe, judge, locate, offsetOf, PROBE_HEADER, type Topology } from '../../processor/src/consumer.js';
import { AMQP_URL, deleteBrokerObjects, STREAM_ARGUMENTS, uniqueNames } from './support.js';

const names = uniqueNames('t_topology');
const topology: Topology = { ...names, spreadExchange: undefined, streamMaxAge: '7D', streamMaxBytes: 10_000_000_000, prefetch: 10 };
const spread = uniqueNames('t_spread');

afterAll(async () => {
  await deleteBrokerObjects(names);
  await deleteBrokerObjects(spread);
  await withChannel((ch) => ch.deleteExchange(`${spread.exchange}.spread`));
});

async function withChannel<T>(use: (ch: amqp.ConfirmChannel) => Promise<T>): Promise<T> {
  const c = await amqp.connect(AMQP_URL);
  c.on('error', () => {});
  try {
    const ch = await c.createConfirmChannel();
    ch.on('error', () => {});
    return await use(ch);
  } finally {
    await c.close().catch(() => {});
  }
}

/** locate() runs on the processor's channel, which has its prefetch set (streams require one). */
const locateOn = (stream: string, next: number, fingerprint: string) =>
  withChannel(async (ch) => {
    await ch.prefetch(10);
    return locate(ch, stream, next, fingerprint);
  });

/** Every message of a stream from `offset`, read for a moment. */
async function readStream(stream: string, offset: number | 'first' = 'first'): Promise<amqp.ConsumeMessage[]> {
  return withChannel(async (ch) => {
    await ch.prefetch(100);
    const got: amqp.ConsumeMessage[] = [];
    const { consumerTag } = await ch.consume(stream, (m) => m && (got.push(m), ch.ack(m)), { arguments: { 'x-stream-offset': offset } });
    await new Promise((done) => setTimeout(done, 400));
    await ch.cancel(consumerTag);
    return got;
  });
}

async function publishToStream(stream: string, bodies: string[]): Promise<void> {
  await withChannel(async (ch) => {
    for (const body of bodies) ch.sendToQueue(stream, Buffer.from(body));
    await ch.waitForConfirms();
  });
}

describe('broker topology', () => {
  it("declares the exchange as pika's exchange_declare(exchange_type='fanout') does, so both declarations agree", async () => {
    await withChannel((ch) => declareTopology(ch, topology));
    // pika's defaults: durable=False, auto_delete=False, internal=False, no arguments.
    await expect(withChannel((ch) => ch.assertExchange(names.exchange, 'fanout', { durable: false, autoDelete: false }))).resolves.toBeTruthy();
    // Declaring it any other way is refused by the broker: this is what the processor must avoid.
    await expect(withChannel((ch) => ch.assertExchange(names.exchange, 'fanout', { durable: true }))).rejects.toThrow(/PRECONDITION_FAILED/);
  });

  it('declares a stream bound to the exchange and a quorum dead-letter queue, and declaring again is a no-op', async () => {
    await withChannel((ch) => declareTopology(ch, topology));
    await withChannel(async (ch) => {
      ch.publish(names.exchange, '', Buffer.from('{"n":1}'));
      ch.publish(names.deadExchange, '', Buffer.from('{}'));
      await ch.waitForConfirms();
    });
    expect((await readStream(names.stream)).map((m) => m.content.toString())).toEqual(['{"n":1}']);
    expect(await withChannel(async (ch) => (await ch.checkQueue(names.deadQueue)).messageCount)).toBe(1);
    // The VM's definitions file declares the stream with these arguments: the processor agrees.
    await expect(withChannel((ch) => ch.assertQueue(names.stream, { durable: true, arguments: STREAM_ARGUMENTS }))).resolves.toBeTruthy();
    await expect(withChannel((ch) => ch.assertQueue(names.stream, { durable: true, arguments: { ...STREAM_ARGUMENTS, 'x-max-age': '1D' } }))).rejects.toThrow(/PRECONDITION_FAILED/);
  });

  it('with a spread exchange (replicas), each message reaches one of the streams behind it', async () => {
    const streams = [0, 1].map((i) => `${spread.stream}.${i}`);
    const spreadExchange = `${spread.exchange}.spread`;
    for (const stream of streams) await withChannel((ch) => declareTopology(ch, { ...topology, ...spread, stream, spreadExchange }));
    await withChannel(async (ch) => {
      for (let i = 0; i < 200; i++) ch.publish(spread.exchange, '', Buffer.from(String(i)));
      await ch.waitForConfirms();
    });
    const read = await Promise.all(streams.map((s) => readStream(s)));
    const all = read.flatMap((messages) => messages.map((m) => Number(m.content.toString())));
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(read.every((messages) => messages.length > 0)).toBe(true);
    for (const stream of streams) await withChannel((ch) => ch.deleteQueue(stream));
  });
});

describe('finding the place in the stream again (locate)', () => {
  const stream = `${names.stream}.locate`;

  async function freshStream(messages: number, prefix = 'm'): Promise<amqp.ConsumeMessage[]> {
    await withChannel(async (ch) => {
      await ch.deleteQueue(stream);
      await ch.assertQueue(stream, { durable: true, arguments: STREAM_ARGUMENTS });
    });
    await publishToStream(stream, Array.from({ length: messages }, (_, i) => `${prefix}${i}`));
    return readStream(stream);
  }

  afterAll(() => withChannel((ch) => ch.deleteQueue(stream)));

  it('starts at the first message when nothing was done yet', async () => {
    await freshStream(3);
    expect(await locateOn(stream, 0, '')).toEqual({ kind: 'resume', offset: 'first' });
  });

  it('resumes after the checkpoint when the message before it is the one fingerprinted (and writes a probe past the end)', async () => {
    const messages = await freshStream(5);
    expect(await locateOn(stream, 3, fingerprintOf(messages[2]!))).toEqual({ kind: 'resume', offset: 3 });
    const after = await readStream(stream);
    expect(after).toHaveLength(6);
    expect(after[5]!.properties.headers?.[PROBE_HEADER]).toBeDefined();
    expect(offsetOf(after[5]!)).toBe(5);
    // Only a message put into the stream itself is a probe: a device's, through the exchange, never is.
    expect(isProbe(after[5]!)).toBe(true);
    expect(isProbe({ ...after[5]!, fields: { ...after[5]!.fields, exchange: 'data' } })).toBe(false);
  });

  it('finds its place while devices keep publishing (the probe is read by a consumer attached before it is sent)', async () => {
    const messages = await freshStream(5);
    let publishing = true;
    const background = (async () => {
      // Bounded: at most 40 000 messages, as fast as the broker confirms them, until locate is done.
      for (let i = 0; publishing && i < 400; i++) await publishToStream(stream, Array.from({ length: 100 }, (_, j) => `device ${i}.${j}`));
    })();
    try {
      await new Promise((done) => setTimeout(done, 100)); // devices are mid-stream
      expect(await locateOn(stream, 3, fingerprintOf(messages[2]!))).toEqual({ kind: 'resume', offset: 3 });
    } finally {
      publishing = false;
      await background;
    }
  }, 60_000);

  it('notices a stream made again: shorter than the checkpoint, or a different message at its place', async () => {
    const old = await freshStream(5);
    const fingerprint = fingerprintOf(old[3]!);
    await freshStream(2);
    expect(await locateOn(stream, 4, fingerprint)).toEqual({ kind: 'recreated' });
    // (Its message at offset 3 differs: a steady sensor's identical bodies without a broker stamp would
    // not, which is one more reason the VM's broker stamps every message.)
    await freshStream(8, 'other ');
    expect(await locateOn(stream, 4, fingerprint)).toEqual({ kind: 'recreated' });
  });

  it('tells how many undone messages left the stream (retention) before they could be read', () => {
    // Judged from the first message read from next - 1. (Not made on the real broker: a stream small
    // enough for retention to run in a test crashed RabbitMQ 3.10's osiris_retention when deleted,
    // taking every stream of the node down until the broker application was restarted.)
    expect(judge(10, 9, true)).toEqual({ kind: 'resume', offset: 10 });
    expect(judge(10, 9, false)).toEqual({ kind: 'recreated' });
    expect(judge(10, 10, false), 'only done messages were removed').toEqual({ kind: 'resume', offset: 10 });
    expect(judge(10, 25, false)).toEqual({ kind: 'expired', offset: 25, lost: 15 });
  });
});

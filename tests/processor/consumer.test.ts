// The broker topology against the real RabbitMQ: the processor and devices running the older code
// (pika) must agree on how `data` is declared, or every device's first call fails.
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { declareTopology } from '../../processor/src/consumer.js';
import { AMQP_URL, deleteBrokerObjects, uniqueNames } from './support.js';

const names = uniqueNames('t_topology');
const topology = { ...names, queueType: 'quorum' as const, prefetch: 10 };

afterAll(() => deleteBrokerObjects(names));

async function withChannel<T>(use: (ch: amqp.Channel) => Promise<T>): Promise<T> {
  const c = await amqp.connect(AMQP_URL);
  c.on('error', () => {});
  try {
    const ch = await c.createChannel();
    ch.on('error', () => {});
    return await use(ch);
  } finally {
    await c.close().catch(() => {});
  }
}

describe('broker topology', () => {
  it("declares the exchange as pika's exchange_declare(exchange_type='fanout') does, so both declarations agree", async () => {
    await withChannel((ch) => declareTopology(ch, topology));
    // pika's defaults: durable=False, auto_delete=False, internal=False, no arguments.
    await expect(withChannel((ch) => ch.assertExchange(names.exchange, 'fanout', { durable: false, autoDelete: false }))).resolves.toBeTruthy();
    // Declaring it any other way is refused by the broker: this is what the processor must avoid.
    await expect(withChannel((ch) => ch.assertExchange(names.exchange, 'fanout', { durable: true }))).rejects.toThrow(/PRECONDITION_FAILED/);
  });

  it('declares durable quorum queues bound to the exchanges, and declaring again is a no-op', async () => {
    await withChannel((ch) => declareTopology(ch, topology));
    const published = await withChannel(async (ch) => {
      ch.publish(names.exchange, '', Buffer.from('{}'));
      ch.publish(names.deadExchange, '', Buffer.from('{}'));
      await new Promise((done) => setTimeout(done, 300));
      return [(await ch.checkQueue(names.queue)).messageCount, (await ch.checkQueue(names.deadQueue)).messageCount];
    });
    expect(published).toEqual([1, 1]);
    await expect(withChannel((ch) => ch.assertQueue(names.queue, { durable: true, arguments: { 'x-queue-type': 'classic' } }))).rejects.toThrow(/PRECONDITION_FAILED/);
  });
});

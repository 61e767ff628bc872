// The topology of the bundle imported into the real RabbitMQ here (3.10, with the
// rabbitmq_random_exchange plugin .ci/services.sh enables), in a virtual host of its own instead of
// '/': it imports, routes a device's message from `data` through the spread exchange into a stream,
// and accepts the processor's own declarations made from the environment the bundle gives it;
// different stream arguments would be refused. The broker's own timestamp interceptor needs 3.12 and
// is not exercised here.
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedPlatform } from '../../src/config/defaults.js';
import { composeOf, examplePlatforms, importTopology, withSpec, type ImportedTopology } from './helpers.js';

let platform: ResolvedPlatform;
let topology: ImportedTopology;
let url: string;

// rabbitmqctl starts an Erlang VM for each call: seconds each on a busy machine.
beforeAll(async () => {
  const example = (await examplePlatforms())[0]!;
  platform = withSpec(example, { processor: { ...example.spec.processor, replicas: 2 } });
  topology = await importTopology(platform, 'myt-bundle');
  url = topology.url;
}, 180_000);

afterAll(async () => {
  await topology?.remove();
});

async function withChannel<T>(fn: (ch: amqp.Channel) => Promise<T>): Promise<T> {
  const conn = await amqp.connect(url);
  conn.on('error', () => undefined);
  try {
    const ch = await conn.createChannel();
    // A refused declare closes the channel: the rejected promise reports it, not an 'error' event.
    ch.on('error', () => undefined);
    return await fn(ch);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

describe('the bundle topology on the real broker', () => {
  it("accepts data declared as pika's defaults, and the processor's declarations from its environment", async () => {
    const env = composeOf(platform).services['processor-1']!.environment!;
    await withChannel(async (ch) => {
      await ch.assertExchange('data', 'fanout', { durable: false, autoDelete: false });
      await ch.assertExchange(env.MYT_SPREAD_EXCHANGE!, 'x-random', { durable: true });
      await ch.assertQueue(env.MYT_STREAM, { durable: true, arguments: { 'x-queue-type': 'stream', 'x-max-age': env.MYT_STREAM_MAX_AGE, 'x-max-length-bytes': Number(env.MYT_STREAM_MAX_BYTES) } });
      await ch.assertExchange(env.MYT_DEAD_EXCHANGE!, 'fanout', { durable: true });
      await ch.assertQueue(env.MYT_DEAD_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    });
  });

  it('refuses a stream declared with other arguments (what one source of truth prevents)', async () => {
    await expect(
      withChannel((ch) => ch.assertQueue('myt.readings.0', { durable: true, arguments: { 'x-queue-type': 'stream', 'x-max-age': '1D', 'x-max-length-bytes': 10_000_000_000 } })),
    ).rejects.toThrow(/PRECONDITION_FAILED/);
  });

  it('routes each message published to data into one of the streams, through the spread exchange', async () => {
    const n = 40;
    await withChannel(async (ch) => {
      for (let i = 0; i < n; i++) ch.publish('data', '', Buffer.from(JSON.stringify({ measurement: 'm', sensor: 's', data: { i } })));
      await ch.close();
    });
    // A stream is read from an offset, with a prefetch; count what each holds.
    const counts = await Promise.all(
      ['myt.readings.0', 'myt.readings.1'].map((stream) =>
        withChannel(async (ch) => {
          await ch.prefetch(100);
          const seen = new Set<number>();
          await new Promise<void>((resolve) => {
            const done = setTimeout(resolve, 3000);
            void ch.consume(
              stream,
              (msg) => {
                if (!msg) return;
                seen.add((JSON.parse(msg.content.toString()) as { data: { i: number } }).data.i);
                ch.ack(msg);
                if (seen.size === n) {
                  clearTimeout(done);
                  resolve();
                }
              },
              { arguments: { 'x-stream-offset': 'first' } },
            );
          });
          return seen;
        }),
      ),
    );
    const all = [...counts[0]!, ...counts[1]!];
    expect(all.length).toBe(n); // each message in exactly one stream
    expect(new Set(all).size).toBe(n);
  }, 30_000);
});

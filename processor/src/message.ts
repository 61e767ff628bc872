// What a device message is, how one is recognised, and the id that makes storing it idempotent.
import { hash } from 'node:crypto';
import { parseTimestamp } from './schema.js';

/** A device message (the older system's shape, plus optional `ts` and `id`), as scripts see it. */
export interface DeviceMessage {
  measurement: string;
  sensor?: string;
  data: Record<string, unknown>;
  ts?: string | number;
  id?: string | number;
  [key: string]: unknown;
}

/** What the broker handed over, reduced to what the processor needs (no AMQP types here). */
export interface Delivery {
  readonly body: Buffer;
  /** The AMQP message-id property, if the publisher set one. */
  readonly messageId: string | undefined;
  readonly redelivered: boolean;
  /** When the processor received it (ms since the epoch). */
  readonly receivedAt: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Checks that a value has the device-message shape; used for input and for what a script returns. */
export function checkMessage(value: unknown, what: string): Parsed<DeviceMessage> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: `${what} is not a JSON object` };
  const m = value as Record<string, unknown>;
  if (typeof m.measurement !== 'string' || m.measurement === '') return { ok: false, reason: `${what} has no 'measurement' string` };
  if (typeof m.data !== 'object' || m.data === null || Array.isArray(m.data)) return { ok: false, reason: `${what} has no 'data' object` };
  if (m.sensor !== undefined && m.sensor !== null && typeof m.sensor !== 'string' && typeof m.sensor !== 'number') {
    return { ok: false, reason: `${what} has a 'sensor' that is not a string` };
  }
  if (m.ts !== undefined && m.ts !== null && parseTimestamp(m.ts) === undefined) {
    return { ok: false, reason: `${what} has a 'ts' that is neither ISO 8601 nor epoch milliseconds: ${JSON.stringify(m.ts).slice(0, 60)}` };
  }
  if (m.id !== undefined && m.id !== null && !((typeof m.id === 'string' && m.id.length > 0 && m.id.length <= 200) || Number.isSafeInteger(m.id))) {
    return { ok: false, reason: `${what} has an 'id' that is not a string of 1-200 characters or an integer` };
  }
  return { ok: true, value: m as DeviceMessage };
}

export function parseBody(body: Buffer): Parsed<DeviceMessage> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `body is not JSON: ${(err as Error).message}` };
  }
  return checkMessage(value, 'message');
}

/**
 * The idempotency key of a delivery: the message's own `id`, else the AMQP message-id property,
 * else a SHA-256 of the body. The hash is deterministic, so a redelivery of the same bytes maps to
 * the same key and is stored once; the price is that two byte-identical messages (same sensor,
 * same data, and no `ts` or `id` to tell them apart) are also stored once.
 */
export function messageKey(message: DeviceMessage, delivery: Delivery): string {
  if (message.id !== undefined && message.id !== null) return String(message.id);
  if (delivery.messageId) return delivery.messageId.slice(0, 200);
  return `sha256:${hash('sha256', delivery.body, 'hex').slice(0, 40)}`;
}

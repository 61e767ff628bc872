// What a device message is, how one is recognised, and the identity that makes storing it idempotent.
import { parseTimestamp, TIMESTAMP_RULE } from './time.js';

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
  /**
   * Where the message came from: the stream and the stream's epoch (a new epoch starts when the
   * stream was deleted and made again, and offsets restart). One string shared by a session.
   */
  readonly source: string;
  /** The message's offset in the stream: fixed for as long as the stream exists. */
  readonly offset: number;
  /** When the broker received it (its `timestamp_in_ms` header), if the broker stamps messages. */
  readonly brokerTime: number | undefined;
  /** True when the message may have been stored already (read again after a restart). */
  readonly redelivered: boolean;
  /** When the processor received it (ms since the epoch): the time of last resort. */
  readonly receivedAt: number;
  /** A probe the processor wrote into its stream, or a message already done: never stored. */
  readonly skip: boolean;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** At most this long: the SQL engines keep `sensor` in a VARCHAR(255)-sized column and index. */
const SENSOR_MAX = 200;
// Control characters cannot travel in InfluxDB's line protocol (a newline ends the point) and are
// never part of a sensor's name; a backslash makes the protocol's parser skip the character after
// it, so a crafted sensor could put it out of step and have a text field's newline start a point
// of its own. The same rule holds on every engine, so a platform can change engines without surprises.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SENSOR_REFUSED = /[\u0000-\u001f\u007f\\]/;

function sensorProblem(sensor: unknown): string | undefined {
  if (sensor === undefined || sensor === null) return undefined;
  if (typeof sensor !== 'string' && !(typeof sensor === 'number' && Number.isFinite(sensor))) return `has a 'sensor' that is not a string`;
  const text = String(sensor);
  if (text.length === 0 || text.length > SENSOR_MAX) return `has a 'sensor' of ${text.length} characters (1-${SENSOR_MAX})`;
  if (SENSOR_REFUSED.test(text)) return `has a 'sensor' with a control character or a backslash`;
  return undefined;
}

/** Checks that a value has the device-message shape; used for input and for what a script returns. */
export function checkMessage(value: unknown, what: string): Parsed<DeviceMessage> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: `${what} is not a JSON object` };
  const m = value as Record<string, unknown>;
  if (typeof m.measurement !== 'string' || m.measurement === '') return { ok: false, reason: `${what} has no 'measurement' string` };
  if (typeof m.data !== 'object' || m.data === null || Array.isArray(m.data)) return { ok: false, reason: `${what} has no 'data' object` };
  const sensor = sensorProblem(m.sensor);
  if (sensor) return { ok: false, reason: `${what} ${sensor}` };
  if (m.ts !== undefined && m.ts !== null && parseTimestamp(m.ts) === undefined) {
    return { ok: false, reason: `${what} has a 'ts' that breaks the rule (${TIMESTAMP_RULE}): ${JSON.stringify(m.ts).slice(0, 60)}` };
  }
  if (m.id !== undefined && m.id !== null && !((typeof m.id === 'string' && m.id.length > 0 && m.id.length <= 200) || Number.isSafeInteger(m.id))) {
    return { ok: false, reason: `${what} has an 'id' that is not a string of 1-200 characters or an integer` };
  }
  return { ok: true, value: m as DeviceMessage };
}

export function parseBody(body: Buffer | string): Parsed<DeviceMessage> {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `body is not JSON: ${(err as Error).message}` };
  }
  return checkMessage(value, 'message');
}

/**
 * The parts of a message its identity and its records' default time come from. Taken from the
 * message as received, before a script can change it.
 */
export interface MessageHead {
  readonly id?: string | number | null;
  readonly sensor?: string | number | null;
  readonly ts?: string | number | null;
}

export function headOf(message: DeviceMessage): MessageHead {
  return { id: message.id, sensor: message.sensor, ts: message.ts };
}

/** The sensor as stored: text, or null when the message names none. */
export function sensorOf(message: MessageHead): string | null {
  return message.sensor === undefined || message.sensor === null ? null : String(message.sensor);
}

/**
 * A device's own idempotency key, scoped to its sensor: devices that each count from 1 do not
 * collide. JSON keeps the pair unambiguous whatever characters the sensor or the id hold.
 */
export function deviceKey(sensor: string | null, id: string): string {
  return JSON.stringify([sensor, id]);
}

/**
 * The identity of a delivery. A device that sends an `id` (or the AMQP message-id property) names
 * its readings, and a copy it sends again is the same reading. Otherwise the broker's position of
 * the message in the stream names it: fixed across every re-read, and different for two readings
 * with the same bytes (a steady sensor sends the same body again and again).
 */
export function messageKey(message: MessageHead, delivery: Delivery): string {
  // (The two forms never meet: a device key starts with '[', a stream position with '@'.)
  if (message.id !== undefined && message.id !== null) return deviceKey(sensorOf(message), String(message.id));
  if (delivery.messageId) return deviceKey(sensorOf(message), delivery.messageId.slice(0, 200));
  return `${delivery.source}:${delivery.offset}`;
}

/** True for an identity given by the stream position, false for a device's own id. */
export function isStreamKey(key: string): boolean {
  return key.charCodeAt(0) === 64; // '@'
}

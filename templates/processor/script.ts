// A MyT processing script: starter template.
//
// Point spec.processor.script at this file (e.g. processors/my-platform.ts). The processor calls the
// default export once per device message and stores what it returns:
//   - a message                 → stored (one row / point / document)
//   - an array of messages      → each stored; they get ids `${id}#0`, `${id}#1`, … unless you set `id`
//   - null                      → dropped on purpose (acknowledged, not stored, not an error)
// Throwing, rejecting, taking longer than spec.processor.timeoutMs (default 5000 ms) or returning
// anything else sends the message to the dead-letter queue `myt.dead`, with the reason in the
// `x-myt-reason` header; the processor carries on with the next one.
//
// Storage rules (checked after your script runs):
//   - SQL engines (timescaledb, mysql): `measurement` must be a table declared in
//     spec.database.tables, and every key of `data` a declared field of the declared type.
//   - InfluxDB: `data` values must be numbers, strings or booleans; `sensor` becomes a tag.
//   - `ts` (ISO 8601 text or epoch milliseconds) is the time stored; without it, the time received.
//
// npm packages: import them as usual and list them in spec.processor.packages; they are bundled
// with the processor into one file for the VM. Try it locally with `npx myt dev <platform>`.

/** What a device sends (the older system's format), and what you return. */
export interface Message {
  measurement: string;
  sensor?: string;
  data: Record<string, unknown>;
  /** ISO 8601 text or epoch milliseconds. */
  ts?: string | number;
  /** Idempotency key: a message with an id already stored is never stored twice. */
  id?: string | number;
}

export default function process(message: Message): Message | Message[] | null {
  // Example: ignore heartbeats that carry no reading.
  if (Object.keys(message.data).length === 0) return null;

  // Example: readings in tenths of a degree become degrees.
  const { temperature } = message.data;
  if (typeof temperature === 'number' && message.sensor?.startsWith('legacy-')) {
    return { ...message, data: { ...message.data, temperature: temperature / 10 } };
  }

  return message;
}

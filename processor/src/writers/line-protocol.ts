// InfluxDB 1.x line protocol, written here rather than by the `influx` library: the library floors
// integer fields through a JavaScript number (a bigint given as text, "12345678901234567", became
// …568) and escapes tag values only for `,`, `=` and space. Names reaching this module have passed
// the processor's checks (sensor without control characters or a trailing backslash, field and
// measurement names of letters, digits and `_`); values are escaped by the protocol's own rules.

/** Escapes a measurement name (commas and spaces). */
export function escapeMeasurement(name: string): string {
  return name.replace(/[, ]/g, '\\$&');
}

/** Escapes a tag key, tag value or field key (commas, equals signs and spaces). */
export function escapeKey(text: string): string {
  return text.replace(/[,= ]/g, '\\$&');
}

/** A string field value: double-quoted, with `"` and `\` escaped. */
export function quoteString(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/** A field value already in line-protocol form (`1.5`, `42i`, `T`, `"text"`). */
export type LineValue = string;

export function floatValue(value: number): LineValue {
  return String(value);
}

/** An integer, exact: a JavaScript integer or its decimal text (a bigint beyond 2^53). */
export function integerValue(value: number | string): LineValue {
  return `${typeof value === 'number' ? Math.trunc(value) : value}i`;
}

export function booleanValue(value: boolean): LineValue {
  return value ? 'T' : 'F';
}

/** One point; `nanos` is the time in nanoseconds as decimal text (beyond a double's precision). */
export function pointLine(measurement: string, tags: Readonly<Record<string, string>>, fields: Readonly<Record<string, LineValue>>, nanos: string): string {
  let line = escapeMeasurement(measurement);
  for (const key of Object.keys(tags).sort()) line += `,${escapeKey(key)}=${escapeKey(tags[key]!)}`;
  let first = true;
  for (const key in fields) {
    line += `${first ? ' ' : ','}${escapeKey(key)}=${fields[key]}`;
    first = false;
  }
  return `${line} ${nanos}`;
}

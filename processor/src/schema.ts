// The declared tables (spec.database.tables) and the checks every stored record passes against them.
import { parseTimestamp } from './time.js';

export const FIELD_TYPES = ['int', 'bigint', 'double', 'text', 'bool', 'timestamp', 'json'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
/** Table name to (field name to type). */
export type Schema = Readonly<Record<string, Readonly<Record<string, FieldType>>>>;

/** Columns every SQL table has besides the declared fields. */
export const BUILT_IN_COLUMNS = ['ts', 'sensor', 'msg_id'] as const;

/**
 * Field names no message may use, on any engine: the built-in columns, and `time`, which InfluxDB
 * keeps for the point's time (it dropped such a field silently). One rule everywhere, so a
 * platform can change engines without surprises.
 */
export const RESERVED_FIELDS: ReadonlySet<string> = new Set([...BUILT_IN_COLUMNS, 'time']);

/** Tables the processor keeps for itself beside the declared ones (checkpoints, the hypertable id ledger). */
export const RESERVED_TABLES: ReadonlySet<string> = new Set(['myt_checkpoints', 'myt_msg_ids']);

// A declared table or field name: as devices send it (letters of either case, digits, '_'), the
// same pattern `myt validate` enforces. Checked again here (defence in depth): such a name needs no
// escaping in SQL, InfluxDB line protocol or MongoDB, and the writers quote it anyway.
const DECLARED = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
// A name as SQL stores it: the declared name in lowercase.
const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** True for a name a table or field may be declared with. */
export function isDeclaredName(name: string): boolean {
  return DECLARED.test(name);
}

/** True for a name as SQL stores it (see sqlName). */
export function isIdentifier(name: string): boolean {
  return SQL_IDENTIFIER.test(name);
}

/**
 * The SQL name of a declared table or field: lowercase. PostgreSQL folds unquoted names to
 * lowercase and the VM's MySQL runs with lower_case_table_names=1 (columns never depended on case),
 * so the older system's queries (`SELECT … FROM SensorData`, unquoted) find the `sensorData`
 * measurement's table on both, and Grafana's query editor lists it. Two declared names with one SQL
 * name are refused (schemaProblems, and `myt validate` on the line of the second).
 */
export function sqlName(name: string): string {
  return name.toLowerCase();
}

/** Checks parsed MYT_SCHEMA JSON; returns the problems found (empty = valid). */
export function schemaProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['must be a JSON object of tables'];
  const problems: string[] = [];
  const tables = new Map<string, string>();
  for (const [table, fields] of Object.entries(value)) {
    if (!isDeclaredName(table)) problems.push(`table '${table}' is not a valid name (${DECLARED.source})`);
    if (RESERVED_TABLES.has(sqlName(table))) problems.push(`table '${table}' is a name the processor keeps for itself`);
    const sameTable = tables.get(sqlName(table));
    if (sameTable !== undefined) problems.push(`tables '${sameTable}' and '${table}' have one SQL name, '${sqlName(table)}'`);
    tables.set(sqlName(table), table);
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
      problems.push(`table '${table}' must map field names to types`);
      continue;
    }
    const columns = new Map<string, string>();
    for (const [field, type] of Object.entries(fields as Record<string, unknown>)) {
      if (!isDeclaredName(field)) problems.push(`field '${table}.${field}' is not a valid name (${DECLARED.source})`);
      if (RESERVED_FIELDS.has(sqlName(field))) problems.push(`field '${table}.${field}' is a reserved name (${[...RESERVED_FIELDS].join(', ')})`);
      const sameColumn = columns.get(sqlName(field));
      if (sameColumn !== undefined) problems.push(`fields '${table}.${sameColumn}' and '${table}.${field}' have one SQL name, '${sqlName(field)}'`);
      columns.set(sqlName(field), field);
      if (!(FIELD_TYPES as readonly unknown[]).includes(type)) {
        problems.push(`field '${table}.${field}' has type ${JSON.stringify(type)}; use one of ${FIELD_TYPES.join(', ')}`);
      }
    }
  }
  return problems;
}

/** A field value as the writers receive it, after the type check. */
export type FieldValue = number | string | boolean | Date | null | { readonly json: string };

export type FieldCheck = { ok: true; fields: Record<string, FieldValue> } | { ok: false; reason: string };

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

function checkValue(type: FieldType, value: unknown): FieldValue | undefined {
  if (value === null) return null;
  switch (type) {
    case 'int':
      return Number.isInteger(value) && (value as number) >= INT_MIN && (value as number) <= INT_MAX ? (value as number) : undefined;
    case 'bigint':
      if (Number.isSafeInteger(value)) return value as number;
      return typeof value === 'string' && /^-?\d{1,19}$/.test(value) && BigInt(value) >= -(2n ** 63n) && BigInt(value) < 2n ** 63n ? value : undefined;
    case 'double':
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    case 'text':
      return typeof value === 'string' ? value : undefined;
    case 'bool':
      return typeof value === 'boolean' ? value : undefined;
    case 'timestamp':
      return parseTimestamp(value);
    case 'json':
      return value === undefined ? undefined : { json: JSON.stringify(value) };
  }
}

/**
 * Checks a record's fields against its measurement's declared fields. An undeclared measurement or
 * field, or a value of the wrong type, is refused with a reason (the message is dead-lettered rather
 * than silently losing a field). Declared fields that are absent are stored as NULL.
 */
export function checkFields(schema: Schema, measurement: string, data: Readonly<Record<string, unknown>>): FieldCheck {
  const declared = Object.hasOwn(schema, measurement) ? schema[measurement] : undefined;
  if (!declared) return { ok: false, reason: `measurement '${measurement}' is not declared in spec.database.tables` };
  const fields: Record<string, FieldValue> = {};
  // for…in rather than Object.entries: no array per field on the hot path. A script may return an
  // object with inherited keys; like Object.entries, only own keys count.
  for (const name in data) {
    if (!Object.hasOwn(data, name)) continue;
    const value = data[name];
    const type = Object.hasOwn(declared, name) ? declared[name] : undefined;
    if (!type) return { ok: false, reason: `field '${name}' is not declared for measurement '${measurement}'` };
    const checked = checkValue(type, value);
    if (checked === undefined) {
      return { ok: false, reason: `field '${measurement}.${name}' must be ${type}, got ${JSON.stringify(value)?.slice(0, 80)}` };
    }
    fields[name] = checked;
  }
  return { ok: true, fields };
}

/**
 * Without a declared schema (InfluxDB or MongoDB platforms declare no tables), values are stored as
 * they come, within what the engine can hold: `scalarOnly` (InfluxDB) refuses objects and arrays.
 */
export function checkFreeFields(data: Readonly<Record<string, unknown>>, scalarOnly: boolean): FieldCheck {
  const fields: Record<string, FieldValue> = {};
  for (const [name, value] of Object.entries(data)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) return { ok: false, reason: `field name '${name.slice(0, 80)}' is not a valid name` };
    if (RESERVED_FIELDS.has(name)) return { ok: false, reason: `field '${name}' is a reserved name (${[...RESERVED_FIELDS].join(', ')})` };
    if (value === null) continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { ok: false, reason: `field '${name}' is not a finite number` };
      fields[name] = value;
    } else if (typeof value === 'string' || typeof value === 'boolean') fields[name] = value;
    else if (scalarOnly) return { ok: false, reason: `field '${name}' is an ${Array.isArray(value) ? 'array' : 'object'}; InfluxDB fields are numbers, strings or booleans` };
    else fields[name] = { json: JSON.stringify(value) };
  }
  if (scalarOnly && Object.keys(fields).length === 0) return { ok: false, reason: 'data has no field to store (InfluxDB needs at least one)' };
  return { ok: true, fields };
}

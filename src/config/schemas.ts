import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import * as compiledValidators from './validators.generated.js';
import type { PathSegment } from './yaml-source.js';

/** The package root: this file sits two folders down in both src/ and dist/. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type SchemaName = 'platform' | 'space' | 'repo';

type JsonObject = Record<string, unknown>;

export function readSchema(name: SchemaName): JsonObject {
  return JSON.parse(readFileSync(`${PACKAGE_ROOT}schemas/${name}.schema.json`, 'utf8')) as JsonObject;
}

export interface SchemaError {
  readonly path: PathSegment[];
  /** Point at the key rather than the value (unknown and misnamed properties). */
  readonly atKey: boolean;
  readonly message: string;
}

interface Compiled {
  validate: Record<SchemaName, ValidateFunction>;
  raw: Record<SchemaName, JsonObject>;
}

let compiled: Compiled | undefined;

/**
 * The validators, compiled from the schemas ahead of time at build time (scripts/gen-validators.ts),
 * and the raw schemas the error wording reads.
 */
function schemas(): Compiled {
  compiled ??= {
    validate: compiledValidators as unknown as Record<SchemaName, ValidateFunction>,
    raw: { platform: readSchema('platform'), space: readSchema('space'), repo: readSchema('repo') },
  };
  return compiled;
}

/** Validates one document against a schema and returns every error, worded for a person. */
export function validateAgainst(name: SchemaName, value: unknown): SchemaError[] {
  const { validate, raw } = schemas();
  if (validate[name](value)) return [];
  const seen = new Set<string>();
  const out: SchemaError[] = [];
  for (const err of validate[name].errors ?? []) {
    const described = describe(err, raw[name]);
    if (!described) continue;
    const key = `${described.path.join('/')}|${described.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(described);
  }
  return out;
}

function describe(err: ErrorObject, root: JsonObject): SchemaError | undefined {
  const path = pointerToPath(err.instancePath);
  const params = err.params as Record<string, unknown>;
  const at = (p: PathSegment[], message: string, atKey = false): SchemaError => ({
    path: p,
    atKey,
    message: `${label(p)}${message}`,
  });
  // Errors about an object's key names carry the offending name.
  const propertyName = (err as ErrorObject & { propertyName?: string }).propertyName;
  switch (err.keyword) {
    case 'propertyNames':
      return undefined; // its inner error, which names the property, says it better
    case 'required': {
      // A missing discriminator tag is reported by the discriminator error, with the allowed values.
      const tag = (err.parentSchema?.discriminator as { propertyName?: string } | undefined)?.propertyName;
      if (tag !== undefined && tag === params.missingProperty) return undefined;
      return at(path, `missing required property '${String(params.missingProperty)}'`, true);
    }
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const allowed = Object.keys((err.parentSchema?.properties as JsonObject | undefined) ?? {});
      const near = closest(name, allowed);
      const hint = near ? `; did you mean '${near}'?` : allowed.length ? ` (allowed: ${allowed.join(', ')})` : '';
      return { path: [...path, name], atKey: true, message: `${label(path)}unknown property '${name}'${hint}` };
    }
    case 'discriminator': {
      const tag = String(params.tag);
      const values = branchValues(err.parentSchema, tag, root);
      const choices = values.length ? ` (one of: ${values.join(', ')})` : '';
      if (params.error !== 'tag') return at([...path, tag], `must be one of: ${values.join(', ')} (got ${show(params.tagValue)})`);
      // A misspelt tag ('engin:') says which key it meant, as other misspelt properties do.
      const data = err.data !== null && typeof err.data === 'object' ? Object.keys(err.data) : [];
      const typo = data.find((key) => key !== tag && closest(key, [tag]) === tag);
      if (typo !== undefined) return { path: [...path, typo], atKey: true, message: `${label(path)}unknown property '${typo}'; did you mean '${tag}'?${choices}` };
      return at(path, `missing required property '${tag}'${choices}`, true);
    }
    case 'minProperties': {
      const limit = Number(params.limit);
      return at(path, `must have at least ${limit} entr${limit === 1 ? 'y' : 'ies'}`);
    }
    case 'const':
      return at(path, `must be ${show(params.allowedValue)} (got ${show(err.data)})`);
    case 'enum':
      return at(path, `must be one of: ${(params.allowedValues as unknown[]).map((v) => String(v)).join(', ')} (got ${show(err.data)})`);
    case 'type':
      return at(path, `must be ${article(String(params.type))} (got ${typeName(err.data)})`);
    default:
      if (propertyName !== undefined) {
        return { path: [...path, propertyName], atKey: true, message: `${label(path)}name '${propertyName}' ${wordsOf(err)}` };
      }
      return at(path, `${wordsOf(err)}${err.keyword === 'errorMessage' ? '' : ` (got ${show(err.data)})`}`);
  }
}

function wordsOf(err: ErrorObject): string {
  if (err.keyword === 'pattern') {
    const description: unknown = err.parentSchema?.description;
    return typeof description === 'string' ? `is not valid: ${lowerFirst(description).replace(/\.$/, '')}` : `must match ${String(err.schema)}`;
  }
  return err.message ?? `fails ${err.keyword}`;
}

/** The allowed values of a discriminated oneOf, read from each branch's `const`. */
function branchValues(parent: unknown, tag: string, root: JsonObject): string[] {
  const branches = ((parent as JsonObject | undefined)?.oneOf as JsonObject[] | undefined) ?? [];
  return branches.flatMap((branch) => {
    const ref = typeof branch.$ref === 'string' ? branch.$ref : '';
    const target = ref.startsWith('#/$defs/') ? ((root.$defs as JsonObject)[ref.slice(8)] as JsonObject) : branch;
    const value = ((target.properties as JsonObject | undefined)?.[tag] as JsonObject | undefined)?.const;
    return typeof value === 'string' ? [value] : [];
  });
}

function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function label(path: PathSegment[]): string {
  return path.length ? `${path.join('.')}: ` : '';
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
  if (value === null || typeof value !== 'object') return String(value);
  return typeName(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'string' ? `the string ${show(value)}` : `${typeof value} ${JSON.stringify(value)}`;
}

function article(type: string): string {
  const names: Record<string, string> = { object: 'a mapping', array: 'a list', integer: 'a whole number', number: 'a number' };
  return names[type] ?? `a ${type}`;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** The allowed name a typo most likely meant: at most two edits away (Levenshtein distance). */
function closest(name: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

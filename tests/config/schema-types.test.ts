import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolvePlatform, resolveSpace, schemaDefault } from '../../src/config/defaults.js';
import { readSchema, type SchemaName } from '../../src/config/schemas.js';
import type { Platform } from '../../src/config/types/platform.generated.js';
import { generatedTypes } from '../../scripts/types-from-schemas.js';

const ROOT = join(import.meta.dirname, '../..');

describe('types generated from the schemas', () => {
  it('are up to date with the committed schemas (run `npm run gen:types` when this fails)', async () => {
    for (const [file, text] of Object.entries(await generatedTypes(ROOT))) {
      expect(readFileSync(join(ROOT, file), 'utf8'), file).toBe(text);
    }
  });
});

describe('the schemas', () => {
  // A property is described by its own description or by that of the definition it refers to.
  function describedByRef(prop: Record<string, unknown>): boolean {
    const m = typeof prop.$ref === 'string' ? /^(?:(\w+)\.schema\.json)?#\/\$defs\/(\w+)$/.exec(prop.$ref) : null;
    if (!m) return false;
    const defs = readSchema((m[1] ?? current) as SchemaName).$defs as Record<string, Record<string, unknown>>;
    return typeof defs[m[2]!]?.description === 'string';
  }
  let current: SchemaName = 'platform';

  function propertiesWithoutDescription(node: unknown, path: string, out: string[]): string[] {
    if (node === null || typeof node !== 'object') return out;
    const obj = node as Record<string, unknown>;
    for (const [name, prop] of Object.entries((obj.properties as Record<string, Record<string, unknown>> | undefined) ?? {})) {
      if (typeof prop.description !== 'string' && !describedByRef(prop)) out.push(`${path}.${name}`);
    }
    for (const [key, child] of Object.entries(obj)) propertiesWithoutDescription(child, `${path}/${key}`, out);
    return out;
  }

  it.each<SchemaName>(['platform', 'space', 'repo'])('%s describes every property, for editors', (name) => {
    current = name;
    expect(propertiesWithoutDescription(readSchema(name), name, [])).toEqual([]);
  });
});

describe('defaults', () => {
  const minimal: Platform = {
    apiVersion: 'myt/v1',
    kind: 'Platform',
    metadata: { name: 'minimal' },
    spec: { cloud: { provider: 'aws', space: 'net' }, database: { engine: 'influxdb' } },
  };

  it('fill every documented default of a minimal platform', () => {
    expect(resolvePlatform(minimal).spec).toEqual({
      cloud: { provider: 'aws', space: 'net', instanceType: 't3a.small', diskGb: 10 },
      database: { engine: 'influxdb', sizeGb: 10 },
      broker: { tls: false },
      processor: { packages: {}, timeoutMs: 5000, replicas: 1 },
      grafana: {},
      monitoring: { enabled: true, schedule: '*/15 * * * *' },
      backups: { enabled: true, schedule: '0 3 * * *', keep: 7 },
      destroy: 'deny',
    });
  });

  it('keep what the user wrote and leave the input unchanged', () => {
    const written: Platform = { ...minimal, spec: { ...minimal.spec, backups: { keep: 30 }, destroy: 'allow' } };
    const before = JSON.stringify(written);
    const resolved = resolvePlatform(written);
    expect(resolved.spec.backups).toEqual({ enabled: true, schedule: '0 3 * * *', keep: 30 });
    expect(resolved.spec.destroy).toBe('allow');
    expect(JSON.stringify(written)).toBe(before);
  });

  it('fill space defaults per provider', () => {
    const aws = resolveSpace({ apiVersion: 'myt/v1', kind: 'Space', metadata: { name: 'n' }, spec: { provider: 'aws', region: 'eu-west-1', zone: 'eu-west-1a', credentials: 'c' } });
    expect(aws.spec).toMatchObject({ cidr: '10.42.0.0/16' });
  });

  it('refuse to invent a default the schema does not state', () => {
    expect(() => schemaDefault('platform', 'awsCloud', 'space')).toThrow(/no default for awsCloud.space/);
  });
});

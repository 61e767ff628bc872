import { CronExpressionParser } from 'cron-parser';
import semver from 'semver';
import validatePackageName from 'validate-npm-package-name';
import type { Declared, Platform, Space } from './declared.js';
import { platformCloudProblems, spaceCloudProblems } from './cloud-checks.js';
import { platformKeyFile, tlsCaFile } from './key-file.js';
import { problemAt, type Problem } from './problem.js';
import { resolveRepoFile } from './repo-path.js';
import { checkScript, relativeTo } from './script-check.js';
import { BUILT_IN_COLUMNS, isReservedWord, RESERVED_FIELD, RESERVED_TABLES, sqlName } from './sql-names.js';
import type { PathSegment } from './yaml-source.js';


/**
 * The checks a JSON Schema cannot express, over every schema-valid declaration at once:
 * names, references between files, files that must exist, SQL names, schedules and packages.
 */
export async function crossChecks(
  root: string,
  platforms: readonly Declared<Platform>[],
  spaces: readonly Declared<Space>[],
  /** `Kind:name` of declarations that failed their schema: references to them are not reported again. */
  invalid: ReadonlySet<string> = new Set(),
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const report = <T>(d: Declared<T>, path: PathSegment[], message: string, key = false) =>
    problems.push(problemAt(d.file, d.positionOf(path, key), message));

  checkUniqueNames([...spaces, ...platforms], report);
  const scripts = new Map<string, ReturnType<typeof checkScript>>();
  for (const p of platforms) {
    checkSpaceReference(p, spaces, invalid, report);
    checkReferencedFiles(root, p, report);
    checkTables(p, report);
    checkSchedules(p, report);
    checkPackages(p, report);
    for (const c of platformCloudProblems(p.doc)) report(p, c.path, c.message);
    await checkProcessorScript(root, p, scripts, report, problems);
  }
  for (const s of spaces) {
    const credentials = resolveRepoFile(root, s.doc.spec.credentials);
    if (!credentials.ok) report(s, ['spec', 'credentials'], `spec.credentials: ${credentials.message}`);
    for (const c of spaceCloudProblems(s.doc)) report(s, c.path, c.message);
  }
  return problems;
}

type Report = <T>(d: Declared<T>, path: PathSegment[], message: string, key?: boolean) => void;

function checkUniqueNames(all: readonly Declared<Platform | Space>[], report: Report): void {
  const byName = new Map<string, Declared<Platform | Space>[]>();
  for (const d of all) byName.set(d.doc.metadata.name, [...(byName.get(d.doc.metadata.name) ?? []), d]);
  // Every holder of a shared name is told where the others are: whichever file the user is
  // looking at (or passed to validate) shows the problem.
  for (const [name, holders] of byName) {
    if (holders.length < 2) continue;
    for (const d of holders) {
      const others = holders.filter((o) => o !== d).map((o) => `the ${o.doc.kind} in ${o.file}:${o.positionOf(['metadata', 'name']).line}`);
      report(d, ['metadata', 'name'], `metadata.name: '${name}' is already the name of ${others.join(' and ')}; names must be unique across the repository`);
    }
  }
}

function checkSpaceReference(p: Declared<Platform>, spaces: readonly Declared<Space>[], invalid: ReadonlySet<string>, report: Report): void {
  const cloud = p.doc.spec.cloud;
  if (cloud.provider !== 'aws' && cloud.provider !== 'openstack') return;
  const space = spaces.find((s) => s.doc.metadata.name === cloud.space);
  if (!space && invalid.has(`Space:${cloud.space}`)) return; // declared, with problems of its own
  if (!space) {
    const known = spaces.filter((s) => s.doc.spec.provider === cloud.provider).map((s) => s.doc.metadata.name);
    report(p, ['spec', 'cloud', 'space'], `spec.cloud.space: no kind: Space named '${cloud.space}'${known.length ? ` (${cloud.provider} spaces: ${known.join(', ')})` : `; declare one with provider ${cloud.provider} under platforms/`}`);
  } else if (space.doc.spec.provider !== cloud.provider) {
    report(p, ['spec', 'cloud', 'space'], `spec.cloud.space: Space '${cloud.space}' (${space.file}) is provider ${space.doc.spec.provider}, but this platform's cloud is ${cloud.provider}`);
  }
}

function checkReferencedFiles(root: string, p: Declared<Platform>, report: Report): void {
  const spec = p.doc.spec;
  const refs: [PathSegment[], string | undefined][] = [
    [['spec', 'cloud', 'credentials'], spec.cloud.provider === 'gcp' ? spec.cloud.credentials : undefined],
    [['spec', 'cloud', 'key'], spec.cloud.provider === 'ssh' ? spec.cloud.key : undefined],
    [['spec', 'broker', 'users'], spec.broker?.users],
    [['spec', 'grafana', 'credentials'], spec.grafana?.credentials],
  ];
  for (const [path, written] of refs) {
    if (written === undefined) continue;
    const result = resolveRepoFile(root, written);
    if (!result.ok) report(p, path, `${path.join('.')}: ${result.message}`);
  }
  if (spec.cloud.provider !== 'ssh') {
    const key = platformKeyFile(p.doc.metadata.name);
    if (!resolveRepoFile(root, key).ok) {
      report(p, ['metadata', 'name'], `platform '${p.doc.metadata.name}' has no SSH key at ${key}: run 'myt keys generate ${p.doc.metadata.name}'`);
    }
  }
  if (spec.broker?.tls === true) {
    const ca = tlsCaFile(p.doc.metadata.name);
    if (!resolveRepoFile(root, ca).ok) report(p, ['spec', 'broker', 'tls'], `spec.broker.tls: platform '${p.doc.metadata.name}' has no TLS CA at ${ca}: run 'myt tls init ${p.doc.metadata.name}'`);
  }
}

function checkTables(p: Declared<Platform>, report: Report): void {
  const db = p.doc.spec.database;
  if (db.engine !== 'timescaledb' && db.engine !== 'mysql') return;
  // SQL keeps names in lowercase: two that differ only in case would be one table or column.
  const tables = new Map<string, string>();
  for (const [table, fields] of Object.entries(db.tables)) {
    const tablePath = ['spec', 'database', 'tables', table];
    const sql = sqlName(table);
    const twin = tables.get(sql);
    if (twin !== undefined) report(p, tablePath, `table '${table}' and table '${twin}' would both be the SQL table '${sql}': rename one`, true);
    else if (RESERVED_TABLES.includes(sql)) report(p, tablePath, `table '${table}' is a name MyT keeps for itself (${RESERVED_TABLES.join(', ')})`, true);
    else if (isReservedWord(table)) report(p, tablePath, `table '${table}' is an SQL reserved word: choose another name`, true);
    tables.set(sql, table);
    const columns = new Map<string, string>();
    for (const field of Object.keys(fields)) {
      const fieldPath = [...tablePath, field];
      const column = sqlName(field);
      const same = columns.get(column);
      columns.set(column, field);
      if (same !== undefined) {
        report(p, fieldPath, `field '${field}' and field '${same}' of table '${table}' would both be the SQL column '${column}': rename one`, true);
      } else if ((BUILT_IN_COLUMNS as readonly string[]).includes(column)) {
        report(p, fieldPath, `field '${field}' of table '${table}' clashes with a column every table has (${BUILT_IN_COLUMNS.join(', ')})`, true);
      } else if (column === RESERVED_FIELD) {
        report(p, fieldPath, `field '${field}' of table '${table}' is reserved: InfluxDB keeps '${RESERVED_FIELD}' for a point's time, and MyT refuses it on every engine`, true);
      } else if (isReservedWord(field)) {
        report(p, fieldPath, `field '${field}' of table '${table}' is an SQL reserved word: choose another name`, true);
      }
    }
  }
}

function checkSchedules(p: Declared<Platform>, report: Report): void {
  for (const section of ['monitoring', 'backups'] as const) {
    const schedule = p.doc.spec[section]?.schedule;
    if (schedule === undefined) continue;
    const problem = cronProblem(schedule);
    if (problem) report(p, ['spec', section, 'schedule'], `spec.${section}.schedule: ${problem}`);
  }
}

const cronVerdicts = new Map<string, string | undefined>();

/** Why a schedule is not five-field cron, or undefined when it is (memoised: most repeat). */
export function cronProblem(schedule: string): string | undefined {
  if (!cronVerdicts.has(schedule)) cronVerdicts.set(schedule, judgeCron(schedule));
  return cronVerdicts.get(schedule);
}

function judgeCron(schedule: string): string | undefined {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) {
    return `'${schedule}' has ${fields.length} field${fields.length === 1 ? '' : 's'}; cron schedules here have five (minute hour day-of-month month day-of-week)`;
  }
  try {
    CronExpressionParser.parse(schedule, { strict: false });
    return undefined;
  } catch (err) {
    return `'${schedule}' is not a valid cron schedule: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function checkPackages(p: Declared<Platform>, report: Report): void {
  for (const [name, range] of Object.entries(p.doc.spec.processor?.packages ?? {})) {
    const path = ['spec', 'processor', 'packages', name];
    const validity = validatePackageName(name);
    if (!validity.validForOldPackages) {
      const why = [...(validity.errors ?? []), ...(validity.warnings ?? [])].join('; ');
      report(p, path, `package '${name}' is not a valid npm package name: ${why}`, true);
    } else if (semver.validRange(range) === null) {
      report(p, path, `package '${name}': '${range}' is not a valid semver range (for example ^1.2.3)`);
    }
  }
}

async function checkProcessorScript(
  root: string,
  p: Declared<Platform>,
  cache: Map<string, ReturnType<typeof checkScript>>,
  report: Report,
  problems: Problem[],
): Promise<void> {
  const script = p.doc.spec.processor?.script;
  if (script === undefined) return;
  const path = ['spec', 'processor', 'script'];
  if (!/\.(ts|mts|js|mjs)$/.test(script)) {
    report(p, path, `spec.processor.script: '${script}' must be a .ts, .mts, .js or .mjs file`);
    return;
  }
  const resolved = resolveRepoFile(root, script);
  if (!resolved.ok) return report(p, path, `spec.processor.script: ${resolved.message}`);
  let pending = cache.get(resolved.absolute);
  const firstUse = pending === undefined;
  if (!pending) cache.set(resolved.absolute, (pending = checkScript(resolved.absolute, root)));
  const result = await pending;
  // Compile errors belong to the script's own file; report them once however many platforms use it.
  if (firstUse) for (const e of result.errors) problems.push(problemAt(relativeTo(root, e.file), e, e.message));
  if (result.errors.length) return; // reported in the script itself, above
  if (!result.hasDefaultExport) {
    report(p, path, `spec.processor.script: ${script} has no default export; write 'export default function (message) { ... }'`);
  }
  const declared = p.doc.spec.processor?.packages ?? {};
  for (const pkg of result.packages) {
    if (!(pkg in declared)) report(p, path, `spec.processor.script: ${script} imports '${pkg}', which is not listed in spec.processor.packages`);
  }
}

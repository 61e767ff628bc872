import type { ProtectedResources } from '../platform-stack.js';

/** The parts of Terraform's JSON plan representation (`show -json`) the summary reads. */
export interface TerraformPlanJson {
  readonly format_version?: string;
  readonly resource_changes?: readonly ResourceChange[];
  readonly resource_drift?: readonly ResourceChange[];
  readonly output_changes?: Record<string, { actions: readonly string[] }>;
  readonly errored?: boolean;
}

interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly mode?: 'managed' | 'data';
  /** `replace_paths`: the attributes whose change forces the replacement (each a path of keys and indices). */
  readonly change: { readonly actions: readonly string[]; readonly replace_paths?: readonly (readonly (string | number)[])[] };
  readonly action_reason?: string;
}

export type ChangeAction = 'create' | 'update' | 'delete' | 'replace';

export interface PlannedChange {
  readonly address: string;
  readonly action: ChangeAction;
  /** For a replacement: the attributes that force it, as `a.0.b` (when Terraform says). */
  readonly forcedBy?: string[];
}

export interface PlanSummary {
  /** Counted as Terraform counts them: a replacement is one to add and one to destroy. */
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
  readonly changes: PlannedChange[];
  /** Addresses that would be destroyed and created again. */
  readonly replaced: string[];
  /** What changed outside Terraform since the last apply (the state no longer matches). */
  readonly drift: PlannedChange[];
  /** Plain-language warnings about data loss or a platform going away. */
  readonly warnings: string[];
  /** True when a warning is about losing data or the platform: apply refuses without consent. */
  readonly dangerous: boolean;
}

function actionOf(actions: readonly string[]): ChangeAction | undefined {
  if (actions.includes('delete') && actions.includes('create')) return 'replace';
  if (actions.includes('create')) return 'create';
  if (actions.includes('delete')) return 'delete';
  if (actions.includes('update')) return 'update';
  return undefined; // no-op, read
}

/** Summarises a saved plan: counts, replacements, drift, and what would lose data. */
export function summarizePlan(plan: TerraformPlanJson, protects: ProtectedResources): PlanSummary {
  const changes: PlannedChange[] = [];
  for (const rc of plan.resource_changes ?? []) {
    if (rc.mode === 'data') continue;
    const action = actionOf(rc.change.actions);
    const forcedBy = rc.change.replace_paths?.map((path) => path.join('.'));
    if (action) changes.push(action === 'replace' && forcedBy?.length ? { address: rc.address, action, forcedBy } : { address: rc.address, action });
  }
  const drift: PlannedChange[] = [];
  for (const rc of plan.resource_drift ?? []) {
    if (rc.mode === 'data') continue;
    const action = actionOf(rc.change.actions);
    if (action) drift.push({ address: rc.address, action });
  }
  const count = (...actions: ChangeAction[]) => changes.filter((c) => actions.includes(c.action)).length;
  const warnings: string[] = [];
  // A replacement is a destruction too (Terraform plans it as delete and create, in either order).
  for (const c of changes) {
    const why = c.forcedBy ? ` (forced by a change of ${c.forcedBy.join(', ')})` : '';
    if (protects.dataVolumes.includes(c.address) && (c.action === 'replace' || c.action === 'delete')) {
      warnings.push(`${c.address} (the data volume) would be ${c.action === 'replace' ? 'replaced' : 'destroyed'}${why}: the database on it would be lost`);
    }
    if (protects.instances.includes(c.address) && c.action === 'delete') {
      warnings.push(`${c.address} (the platform's VM) would be destroyed`);
    }
    if (protects.instances.includes(c.address) && c.action === 'replace') {
      warnings.push(
        `${c.address} (the platform's VM) would be replaced${why}: the platform is down until it is provisioned again, and what is on its boot disk is lost (the data volume is kept)`,
      );
    }
  }
  return {
    add: count('create', 'replace'),
    change: count('update'),
    destroy: count('delete', 'replace'),
    changes,
    replaced: changes.filter((c) => c.action === 'replace').map((c) => c.address),
    drift,
    warnings,
    dangerous: warnings.length > 0,
  };
}

const SYMBOL: Record<ChangeAction, string> = { create: '+', update: '~', delete: '-', replace: '-/+' };

/** The summary as text for a terminal or a job log. */
export function formatPlanSummary(stack: string, s: PlanSummary): string {
  const lines = [`${stack}: ${s.add} to add, ${s.change} to change, ${s.destroy} to destroy`];
  for (const c of s.changes) lines.push(`  ${SYMBOL[c.action].padEnd(3)} ${c.address}${c.action === 'replace' ? '  (replaced)' : ''}`);
  if (s.drift.length) {
    lines.push('  changed outside Terraform since the last apply:');
    for (const d of s.drift) lines.push(`    ${d.address} (${d.action === 'delete' ? 'gone' : 'changed'})`);
  }
  for (const w of s.warnings) lines.push(`  WARNING: ${w}`);
  return lines.join('\n');
}

import { describe, expect, it } from 'vitest';
import { formatPlanSummary, summarizePlan, type TerraformPlanJson } from '../../src/infra/terraform/plan-summary.js';

const protects = { dataVolumes: ['aws_ebs_volume.data_volume'], instances: ['aws_instance.instance'] };
const rc = (address: string, actions: string[], mode: 'managed' | 'data' = 'managed') => ({ address, type: address.split('.')[0]!, mode, change: { actions } });

describe('plan summary (Terraform JSON plan representation)', () => {
  it('counts a replacement as one to add and one to destroy, in either order, and ignores reads and no-ops', () => {
    const plan: TerraformPlanJson = {
      resource_changes: [
        rc('aws_volume_attachment.data_volume_attachment', ['delete', 'create']),
        rc('aws_eip.address', ['create', 'delete']),
        rc('aws_instance.instance', ['update']),
        rc('aws_security_group.firewall', ['no-op']),
        rc('data.aws_ami.ubuntu', ['read'], 'data'),
      ],
    };
    const s = summarizePlan(plan, protects);
    expect(s).toMatchObject({ add: 2, change: 1, destroy: 2, replaced: ['aws_volume_attachment.data_volume_attachment', 'aws_eip.address'], dangerous: false, warnings: [] });
  });

  it('flags replacing or destroying the data volume, and destroying the VM', () => {
    expect(summarizePlan({ resource_changes: [rc('aws_ebs_volume.data_volume', ['delete', 'create'])] }, protects).warnings).toEqual([
      'aws_ebs_volume.data_volume (the data volume) would be replaced: the database on it would be lost',
    ]);
    expect(summarizePlan({ resource_changes: [rc('aws_instance.instance', ['delete'])] }, protects).dangerous).toBe(true);
  });

  // What `terraform show -json` (format 1.2, Terraform 1.11) prints for a replacement: the shape
  // below was taken from a real plan of terraform_data resources whose triggers_replace changed,
  // with the addresses and attributes of a GCP platform whose boot disk size (ForceNew in
  // google 6.50) changed. A replacement comes as ["delete","create"], or ["create","delete"]
  // under create_before_destroy.
  const replacement = (address: string, actions: string[], path: (string | number)[]) => ({
    address,
    mode: 'managed' as const,
    type: address.split('.')[0]!,
    name: address.split('.')[1]!,
    provider_name: 'registry.terraform.io/hashicorp/google',
    change: {
      actions,
      before: { id: 'projects/p/zones/europe-west1-b/instances/myt-meteo', boot_disk: [{ initialize_params: [{ size: 10 }] }] },
      after: { boot_disk: [{ initialize_params: [{ size: 20 }] }] },
      after_unknown: { id: true },
      before_sensitive: {},
      after_sensitive: {},
      replace_paths: [path],
    },
    action_reason: 'replace_because_cannot_update',
  });
  const gcp = { dataVolumes: ['google_compute_disk.data_volume'], instances: ['google_compute_instance.instance'] };

  it.each([[['delete', 'create']], [['create', 'delete']]])('refuses replacing the VM (actions %j), naming what forces it', (actions) => {
    const plan: TerraformPlanJson = { format_version: '1.2', resource_changes: [replacement('google_compute_instance.instance', actions, ['boot_disk', 0, 'initialize_params', 0, 'size'])] };
    const s = summarizePlan(plan, gcp);
    expect(s).toMatchObject({ add: 1, destroy: 1, replaced: ['google_compute_instance.instance'], dangerous: true });
    expect(s.warnings).toEqual([
      "google_compute_instance.instance (the platform's VM) would be replaced (forced by a change of boot_disk.0.initialize_params.0.size): " +
        'the platform is down until it is provisioned again, and what is on its boot disk is lost (the data volume is kept)',
    ]);
  });

  it.each([[['delete', 'create']], [['create', 'delete']]])('refuses replacing the data volume (actions %j)', (actions) => {
    const s = summarizePlan({ format_version: '1.2', resource_changes: [replacement('google_compute_disk.data_volume', actions, ['type'])] }, gcp);
    expect(s.dangerous).toBe(true);
    expect(s.warnings).toEqual(['google_compute_disk.data_volume (the data volume) would be replaced (forced by a change of type): the database on it would be lost']);
  });

  it('lets other replacements through: only the VM and the data volume are protected', () => {
    const s = summarizePlan({ format_version: '1.2', resource_changes: [replacement('google_compute_address.address', ['delete', 'create'], ['name'])] }, gcp);
    expect(s).toMatchObject({ replaced: ['google_compute_address.address'], dangerous: false, warnings: [] });
  });

  it('lists drift found by the refresh, and prints a readable table', () => {
    const s = summarizePlan({ resource_changes: [rc('aws_instance.instance', ['update'])], resource_drift: [rc('aws_instance.instance', ['update']), rc('aws_eip.address', ['delete'])] }, protects);
    expect(s.drift).toEqual([{ address: 'aws_instance.instance', action: 'update' }, { address: 'aws_eip.address', action: 'delete' }]);
    expect(formatPlanSummary('greenhouse', s)).toBe(
      [
        'greenhouse: 0 to add, 1 to change, 0 to destroy',
        '  ~   aws_instance.instance',
        '  changed outside Terraform since the last apply:',
        '    aws_instance.instance (changed)',
        '    aws_eip.address (gone)',
      ].join('\n'),
    );
  });

  it('lists only real changes: no reads of data sources or no-ops, in the changes or in the drift', () => {
    const plan: TerraformPlanJson = {
      resource_changes: [rc('aws_security_group.firewall', ['no-op']), rc('data.aws_ami.ubuntu', ['delete'], 'data'), rc('aws_eip.address', ['create'])],
      resource_drift: [rc('data.aws_ami.ubuntu', ['update'], 'data'), rc('aws_key_pair.key_pair', ['no-op'])],
    };
    const s = summarizePlan(plan, protects);
    expect(s.changes).toEqual([{ address: 'aws_eip.address', action: 'create' }]);
    expect(s.drift).toEqual([]);
  });

  it('flags destroying the data volume, counts each deletion, and marks each kind of change in the table', () => {
    const s = summarizePlan(
      { resource_changes: [rc('aws_ebs_volume.data_volume', ['delete']), rc('aws_eip.address', ['create']), rc('aws_key_pair.key_pair', ['delete', 'create'])] },
      protects,
    );
    expect(s).toMatchObject({ add: 2, destroy: 2, dangerous: true, warnings: ['aws_ebs_volume.data_volume (the data volume) would be destroyed: the database on it would be lost'] });
    expect(formatPlanSummary('greenhouse', s).split('\n').slice(1, 4)).toEqual([
      '  -   aws_ebs_volume.data_volume',
      '  +   aws_eip.address',
      '  -/+ aws_key_pair.key_pair  (replaced)',
    ]);
  });

  it('reads an empty plan as nothing to do', () => {
    expect(summarizePlan({}, protects)).toMatchObject({ add: 0, change: 0, destroy: 0, changes: [], drift: [] });
  });
});

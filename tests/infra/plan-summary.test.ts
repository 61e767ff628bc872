import { describe, expect, it } from 'vitest';
import { formatPlanSummary, summarizePlan, type TerraformPlanJson } from '../../src/infra/terraform/plan-summary.js';

const protects = { dataVolumes: ['aws_ebs_volume.data_volume'], instances: ['aws_instance.instance'] };
const rc = (address: string, actions: string[], mode: 'managed' | 'data' = 'managed') => ({ address, type: address.split('.')[0]!, mode, change: { actions } });

describe('plan summary (Terraform JSON plan representation)', () => {
  it('counts a replacement as one to add and one to destroy, in either order, and ignores reads and no-ops', () => {
    const plan: TerraformPlanJson = {
      resource_changes: [
        rc('aws_instance.instance', ['delete', 'create']),
        rc('aws_eip.address', ['create', 'delete']),
        rc('aws_key_pair.key_pair', ['update']),
        rc('aws_security_group.firewall', ['no-op']),
        rc('data.aws_ami.ubuntu', ['read'], 'data'),
      ],
    };
    const s = summarizePlan(plan, protects);
    expect(s).toMatchObject({ add: 2, change: 1, destroy: 2, replaced: ['aws_instance.instance', 'aws_eip.address'], dangerous: false, warnings: [] });
  });

  it("flags replacing the data volume, and destroying the VM, but not replacing the VM (the volume survives it)", () => {
    expect(summarizePlan({ resource_changes: [rc('aws_ebs_volume.data_volume', ['delete', 'create'])] }, protects).warnings).toEqual([
      'aws_ebs_volume.data_volume (the data volume) would be replaced: the database on it would be lost',
    ]);
    expect(summarizePlan({ resource_changes: [rc('aws_instance.instance', ['delete'])] }, protects).dangerous).toBe(true);
    expect(summarizePlan({ resource_changes: [rc('aws_instance.instance', ['create', 'delete'])] }, protects).dangerous).toBe(false);
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

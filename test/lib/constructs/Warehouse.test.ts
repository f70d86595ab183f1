import { definitionWithPlaceholders } from '../../support/asl';
import { synthEnvironment } from '../../support/synth';

type Json = Record<string, unknown>;
type Statement = { Action: string | string[]; Resource: unknown; Condition?: Json };

const asArray = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

describe.each(['dev', 'prod'])('Warehouse in the %s template', (envName) => {
  const { template } = synthEnvironment(envName);
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;

  it('gives the Redshift Serverless workgroup subnets in at least 3 availability zones', () => {
    const [workgroup] = Object.values(template.findResources('AWS::RedshiftServerless::Workgroup'));
    const subnetIds = workgroup.Properties.SubnetIds as Array<{ Ref: string }>;
    expect(subnetIds.length).toBeGreaterThanOrEqual(3);
    const azs = new Set(subnetIds.map(({ Ref }) => JSON.stringify(resources[Ref].Properties.AvailabilityZone)));
    expect(azs.size).toBeGreaterThanOrEqual(3);
  });

  /** The role (logical id) of each Lambda function. */
  const roleOfFunction = (functionId: string): string => (resources[functionId].Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const statementsOfRole = (roleId: string): Statement[] =>
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(`"${roleId}"`))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  const mayDescribeOwnStatements = (roleId: string) =>
    statementsOfRole(roleId).some(
      (s) =>
        asArray(s.Action).includes('redshift-data:DescribeStatement') &&
        JSON.stringify(s.Condition) ===
          JSON.stringify({ StringLike: { 'redshift-data:statement-owner-iam-userid': { 'Fn::Join': ['', [{ 'Fn::GetAtt': [roleId, 'RoleId'] }, ':*']] } } }),
    );

  it('lets CheckStatement describe the statements SubmitLoad submitted: one role, its own statements', () => {
    const [[, machine]] = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).filter(([id]) => id.startsWith('LoadWorkflow'));
    const states: Record<string, Json> = {};
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
          if (k === 'States') Object.assign(states, v);
          walk(v);
        }
      }
    };
    walk(definitionWithPlaceholders(machine.Properties.DefinitionString));
    const functionOf = (state: string) => {
      const match = /^\$\{(\w+)\.Arn\}$/.exec(String(states[state]?.Resource));
      if (!match) throw new Error(`no Lambda task ${state} in the load workflow`);
      return match[1];
    };
    const submitter = roleOfFunction(functionOf('SubmitLoad'));
    const poller = roleOfFunction(functionOf('CheckStatement'));
    expect(poller).toBe(submitter);
    expect(mayDescribeOwnStatements(poller)).toBe(true);
  });

  it('runs every function that submits statements as one database user, which may describe them', () => {
    const submitters = new Set<string>();
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::Lambda::Function' || id.startsWith('WarehouseBootstrapFunction')) continue;
      const role = roleOfFunction(id);
      if (statementsOfRole(role).some((s) => asArray(s.Action).some((a) => /^redshift-data:(Batch)?ExecuteStatement$/.test(a)))) submitters.add(role);
    }
    expect([...submitters]).toHaveLength(1);
    const [role] = submitters;
    expect(mayDescribeOwnStatements(role)).toBe(true);
    // Redshift reads RedshiftDbRoles as a colon-separated list of database roles: one role, no colon.
    const tags = resources[role].Properties.Tags as Array<{ Key: string; Value: string }>;
    expect(tags).toContainEqual({ Key: 'RedshiftDbRoles', Value: 'clickstream_loader' });
    // Redshift Serverless reads that tag as the caller.
    expect(statementsOfRole(role).some((s) => asArray(s.Action).includes('tag:GetResources') && asArray(s.Action).includes('tag:GetTagKeys'))).toBe(true);
  });

  it("bootstraps the loaders' database role as the namespace admin, whose password only Secrets Manager holds", () => {
    const [bootstrap] = Object.values(template.findResources('Custom::WarehouseBootstrap'));
    expect(bootstrap.Properties).toMatchObject({
      Role: 'clickstream_loader',
      Database: 'clickstream',
      SecretArn: { Ref: expect.stringMatching(/^WarehouseAdminSecret/) },
    });
    expect(bootstrap.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^WarehouseWorkgroup/)]));
  });
});

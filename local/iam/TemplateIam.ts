import { LOCAL_ACCOUNT, localRoleId, type LocalTemplate } from '../template';
import type { Statement } from './evaluate';

/** The identity a function's calls carry: its role, and the session Lambda opens for it. */
export interface FunctionIdentity {
  readonly functionId: string;
  readonly roleLogicalId: string;
  readonly roleName: string;
  readonly roleId: string;
  /** `arn:aws:sts::<account>:assumed-role/<role>/<function>`: what an error message names. */
  readonly sessionArn: string;
  /** `<role id>:<function>`: `aws:userid` of the session. */
  readonly userId: string;
  /** The role's tags (`RedshiftDbRoles` names the database roles its database user gets). */
  readonly roleTags: Readonly<Record<string, string>>;
}

/** AWS managed policies the template attaches, by name (IAM's managed policy reference). */
const MANAGED: Record<string, Statement[]> = {
  'service-role/AWSLambdaBasicExecutionRole': [
    { Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' },
  ],
};

type Json = Record<string, unknown>;
const asList = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

/**
 * The IAM of the synthesized template: each function's role, each role's identity policies
 * (inline, attached `AWS::IAM::Policy`, AWS managed), and the resource policies of the buckets.
 * Intrinsics resolve to the same local ARNs the edge computes for requests.
 */
export class TemplateIam {
  private readonly roleOf = new Map<string, string>();
  private readonly policies = new Map<string, Statement[]>();
  private readonly bucketPolicies = new Map<string, Statement[]>();
  private readonly tagsOf = new Map<string, Record<string, string>>();

  constructor(private readonly t: LocalTemplate) {
    for (const [id, fn] of t.resourcesOfType('AWS::Lambda::Function')) {
      const role = (fn.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
      if (role) this.roleOf.set(id, role);
    }
    for (const [id, role] of t.resourcesOfType('AWS::IAM::Role')) {
      const statements: Statement[] = [];
      for (const p of asList(role.Properties?.Policies as Json[] | undefined)) statements.push(...this.statements(p.PolicyDocument));
      for (const arn of asList(role.Properties?.ManagedPolicyArns)) {
        const name = String(t.resolve(arn)).replace(/^arn:aws[a-z-]*:iam::aws:policy\//, '');
        const managed = MANAGED[name];
        if (!managed) throw new Error(`local IAM: managed policy ${name} of role ${id} is not known; add its statements to local/iam/TemplateIam.ts`);
        statements.push(...managed);
      }
      this.policies.set(id, statements);
      this.tagsOf.set(
        id,
        Object.fromEntries(
          asList(role.Properties?.Tags as Array<{ Key: string; Value: unknown }> | undefined).map((tag) => [tag.Key, String(t.resolve(tag.Value))]),
        ),
      );
    }
    for (const [, policy] of t.resourcesOfType('AWS::IAM::Policy')) {
      const statements = this.statements(policy.Properties?.PolicyDocument);
      for (const role of asList(policy.Properties?.Roles as Array<{ Ref: string }>)) this.policies.get(role.Ref)?.push(...statements);
    }
    for (const [, policy] of t.resourcesOfType('AWS::S3::BucketPolicy')) {
      const bucket = String(t.resolve(policy.Properties?.Bucket));
      this.bucketPolicies.set(bucket, [...(this.bucketPolicies.get(bucket) ?? []), ...this.statements(policy.Properties?.PolicyDocument)]);
    }
  }

  private statements(document: unknown): Statement[] {
    return asList((this.t.resolve(document) as { Statement?: Statement | Statement[] } | undefined)?.Statement);
  }

  /** The identity of a function of the template, or undefined for a function it does not have. */
  identity(functionId: string): FunctionIdentity | undefined {
    const roleLogicalId = this.roleOf.get(functionId);
    if (!roleLogicalId) return undefined;
    const roleName = roleLogicalId;
    const roleId = localRoleId(roleLogicalId);
    return {
      functionId,
      roleLogicalId,
      roleName,
      roleId,
      sessionArn: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${roleName}/${functionId}`,
      userId: `${roleId}:${functionId}`,
      roleTags: this.tagsOf.get(roleLogicalId) ?? {},
    };
  }

  identityPolicy(roleLogicalId: string): Statement[] {
    return this.policies.get(roleLogicalId) ?? [];
  }

  /** The resource policy that governs an ARN (bucket policies; nothing else in the stack has one the edge serves). */
  resourcePolicy(resourceArn: string): Statement[] {
    const bucket = /^arn:aws:s3:::([^/]+)/.exec(resourceArn)?.[1];
    return bucket ? (this.bucketPolicies.get(bucket) ?? []) : [];
  }
}

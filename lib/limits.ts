import { CfnOutput, CfnParameter, CfnResource, Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * CloudFormation and service limits a template must respect to deploy, checked at synth so that a
 * config that cannot deploy fails `cdk synth` (not CloudFormation, half-way through a deploy).
 */
export const LIMITS = {
  /** CloudFormation: resources per stack ("CloudFormation quotas"). */
  resourcesPerStack: 500,
  /** CloudFormation: outputs and parameters per template ("CloudFormation quotas"). */
  outputsPerStack: 200,
  parametersPerStack: 200,
  /** Lambda: total size of a function's environment variables, keys and values ("Lambda quotas"). */
  lambdaEnvironmentBytes: 4096,
  /** IAM: all inline policies of a role together, in non-whitespace characters ("IAM and AWS STS quotas"). */
  rolePolicyChars: 10240,
  /** Systems Manager: a standard-tier parameter's value ("Parameter Store quotas"). */
  ssmStandardValueChars: 4096,
} as const;

/** Name properties with a length limit, per resource type (each service's API reference). */
const NAME_LIMITS: Record<string, { property: string; max: number }> = {
  'AWS::KinesisFirehose::DeliveryStream': { property: 'DeliveryStreamName', max: 64 },
  'AWS::Scheduler::Schedule': { property: 'Name', max: 64 },
  'AWS::StepFunctions::StateMachine': { property: 'StateMachineName', max: 80 },
  'AWS::RedshiftServerless::Workgroup': { property: 'WorkgroupName', max: 64 },
  'AWS::RedshiftServerless::Namespace': { property: 'NamespaceName', max: 64 },
  'AWS::Lambda::Function': { property: 'FunctionName', max: 64 },
  'AWS::IAM::Role': { property: 'RoleName', max: 64 },
  'AWS::CloudWatch::Alarm': { property: 'AlarmName', max: 255 },
};

/**
 * What a resolved value will weigh once deployed: a reference (`Ref`, `Fn::GetAtt`, …) counts as
 * 100 bytes — more than a bucket name or a stream name, less than the longest ARN; the estimate
 * errs on the safe side for what this stack puts in environments.
 */
const TOKEN_BYTES = 100;
function deployedBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + deployedBytes(v), 0);
  if (value && typeof value === 'object') {
    const [key] = Object.keys(value);
    if (key === 'Fn::Join') {
      const [sep, parts] = (value as Record<string, [string, unknown[]]>)[key];
      return parts.reduce((n: number, p) => n + deployedBytes(p), 0) + Buffer.byteLength(sep) * Math.max(0, parts.length - 1);
    }
    return TOKEN_BYTES;
  }
  return String(value ?? '').length;
}

/**
 * Every limit the stack and its nested stacks break, each message naming the resource and what
 * to change. Counts are per template: a nested stack is a template of its own.
 */
export function limitViolations(stack: Stack): string[] {
  const errors: string[] = [];
  const all = stack.node.findAll();
  const stacks = [stack, ...all.filter((c): c is Stack => Stack.isStack(c) && c !== stack)];
  const of = <T extends IConstruct>(s: Stack, list: T[]) => list.filter((c) => Stack.of(c) === s);
  const cfnResources = all.filter((c: IConstruct): c is CfnResource => CfnResource.isCfnResource(c));
  for (const s of stacks) {
    const counts = {
      resources: of(s, cfnResources).length,
      outputs: of(
        s,
        all.filter((c) => c instanceof CfnOutput),
      ).length,
      parameters: of(
        s,
        all.filter((c) => c instanceof CfnParameter),
      ).length,
    };
    const name = s === stack ? 'The stack' : `The nested stack ${s.node.path}`;
    if (counts.resources > LIMITS.resourcesPerStack) {
      errors.push(
        `${name} has ${counts.resources} resources; CloudFormation allows ${LIMITS.resourcesPerStack} per template: configure fewer sources in this environment (see docs/deploy.md, "Limits")`,
      );
    }
    if (counts.outputs > LIMITS.outputsPerStack)
      errors.push(`${name} has ${counts.outputs} outputs; CloudFormation allows ${LIMITS.outputsPerStack} per template`);
    if (counts.parameters > LIMITS.parametersPerStack)
      errors.push(`${name} has ${counts.parameters} parameters; CloudFormation allows ${LIMITS.parametersPerStack} per template`);
  }
  const resources = cfnResources;
  const rolePolicies = new Map<string, { role: string; chars: number }>();
  const addPolicy = (r: CfnResource, role: unknown, document: unknown) => {
    const key = `${Stack.of(r).node.path} ${JSON.stringify(role)}`;
    const entry = rolePolicies.get(key) ?? {
      role: typeof role === 'object' && role && 'Ref' in role ? String((role as { Ref: string }).Ref) : r.node.path,
      chars: 0,
    };
    entry.chars += policyChars(document);
    rolePolicies.set(key, entry);
  };
  for (const r of resources) {
    // The resource as CloudFormation will see it (PascalCase properties, intrinsics resolved).
    const rendered = Stack.of(r).resolve((r as unknown as { _toCloudFormation(): unknown })._toCloudFormation()) as {
      Resources: Record<string, { Properties?: Record<string, unknown> }>;
    };
    const props = Object.values(rendered.Resources)[0]?.Properties ?? {};
    const limit = NAME_LIMITS[r.cfnResourceType];
    const name = limit ? props[limit.property] : undefined;
    if (typeof name === 'string' && !Token.isUnresolved(name) && name.length > limit.max) {
      errors.push(
        `${r.node.path}: ${limit.property} "${name}" has ${name.length} characters; the limit is ${limit.max}: use a shorter source or environment name`,
      );
    }
    if (r.cfnResourceType === 'AWS::IAM::Policy') for (const role of (props.Roles as unknown[] | undefined) ?? []) addPolicy(r, role, props.PolicyDocument);
    if (r.cfnResourceType === 'AWS::IAM::Role')
      for (const p of (props.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? [])
        addPolicy(r, { Ref: Stack.of(r).resolve((r as CfnResource).logicalId) }, p.PolicyDocument);
    if (r.cfnResourceType === 'AWS::SSM::Parameter' && typeof props.Value === 'string' && props.Value.length > LIMITS.ssmStandardValueChars) {
      errors.push(
        `${r.node.path}: its value has ${props.Value.length} characters; a standard-tier parameter holds ${LIMITS.ssmStandardValueChars}: configure fewer write keys for this source`,
      );
    }
    if (r.cfnResourceType === 'AWS::Lambda::Function') {
      const variables = ((props.Environment ?? {}) as { Variables?: Record<string, unknown> }).Variables ?? {};
      const bytes = Object.entries(variables).reduce((n, [k, v]) => n + Buffer.byteLength(k) + deployedBytes(v), 0);
      if (bytes > LIMITS.lambdaEnvironmentBytes) {
        errors.push(
          `${r.node.path}: its environment variables take about ${bytes} bytes; Lambda allows ${LIMITS.lambdaEnvironmentBytes}: configure fewer sources or write keys in this environment (see docs/deploy.md, "Limits")`,
        );
      }
    }
  }
  for (const { role, chars } of rolePolicies.values()) {
    if (chars > LIMITS.rolePolicyChars)
      errors.push(
        `Role ${role}: its inline policies take about ${chars} characters; IAM allows ${LIMITS.rolePolicyChars} per role: configure fewer sources in this environment (see docs/deploy.md, "Limits")`,
      );
  }
  return errors;
}

/** A policy document's size as IAM counts it (no whitespace), a reference counted as {@link TOKEN_BYTES} characters. */
function policyChars(document: unknown): number {
  const flat = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(flat);
    if (v && typeof v === 'object') {
      const keys = Object.keys(v);
      if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::')) && keys[0] !== 'Fn::Join') return 'x'.repeat(TOKEN_BYTES);
      if (keys.length === 1 && keys[0] === 'Fn::Join') {
        const [sep, parts] = (v as Record<string, [string, unknown[]]>)['Fn::Join'];
        return parts.map((p) => (typeof p === 'string' ? p : 'x'.repeat(TOKEN_BYTES))).join(sep);
      }
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, flat(x)]));
    }
    return v;
  };
  return JSON.stringify(flat(document)).replace(/\s/g, '').length;
}

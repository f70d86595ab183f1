import { CfnResource, type Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * CloudFormation and service limits a template must respect to deploy, checked at synth so that a
 * config that cannot deploy fails `cdk synth` (not CloudFormation, half-way through a deploy).
 */
export const LIMITS = {
  /** CloudFormation: resources per stack ("CloudFormation quotas"). */
  resourcesPerStack: 500,
  /** Lambda: total size of a function's environment variables, keys and values ("Lambda quotas"). */
  lambdaEnvironmentBytes: 4096,
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

/** Every limit the stack breaks, each message naming the resource and what to change. */
export function limitViolations(stack: Stack): string[] {
  const errors: string[] = [];
  const resources = stack.node.findAll().filter((c: IConstruct): c is CfnResource => CfnResource.isCfnResource(c));
  if (resources.length > LIMITS.resourcesPerStack) {
    errors.push(`The stack has ${resources.length} resources; CloudFormation allows ${LIMITS.resourcesPerStack} per stack: configure fewer sources in this environment (each adds about a dozen resources; see docs/deploy.md, "Limits")`);
  }
  for (const r of resources) {
    // The resource as CloudFormation will see it (PascalCase properties, intrinsics resolved).
    const rendered = stack.resolve((r as unknown as { _toCloudFormation(): unknown })._toCloudFormation()) as { Resources: Record<string, { Properties?: Record<string, unknown> }> };
    const props = Object.values(rendered.Resources)[0]?.Properties ?? {};
    const limit = NAME_LIMITS[r.cfnResourceType];
    const name = limit ? props[limit.property] : undefined;
    if (typeof name === 'string' && !Token.isUnresolved(name) && name.length > limit.max) {
      errors.push(`${r.node.path}: ${limit.property} "${name}" has ${name.length} characters; the limit is ${limit.max}: use a shorter source or environment name`);
    }
    if (r.cfnResourceType === 'AWS::Lambda::Function') {
      const variables = ((props.Environment ?? {}) as { Variables?: Record<string, unknown> }).Variables ?? {};
      const bytes = Object.entries(variables).reduce((n, [k, v]) => n + Buffer.byteLength(k) + deployedBytes(v), 0);
      if (bytes > LIMITS.lambdaEnvironmentBytes) {
        errors.push(`${r.node.path}: its environment variables take about ${bytes} bytes; Lambda allows ${LIMITS.lambdaEnvironmentBytes}: configure fewer sources or write keys in this environment (see docs/deploy.md, "Limits")`);
      }
    }
  }
  return errors;
}

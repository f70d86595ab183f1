import { type CfnElement, Names, Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag findings on `scope` (and its children), one exact finding id each
 * (e.g. `AwsSolutions-IAM5[Resource::*]`), always with the reason an operator will read.
 */
export function acknowledge(scope: IConstruct, findings: ReadonlyArray<string>, reason: string): void {
  if (reason.trim().length < 20) throw new Error(`acknowledge: give a real reason for ${findings.join(', ')}`);
  Validations.of(scope).acknowledge(...findings.map((id) => ({ id, reason })));
}

/**
 * How cdk-nag spells `Fn::GetAtt` of an element in a finding: `<LogicalId.Attr>`; seen from a
 * nested stack (`from`), the attribute arrives as the parameter CDK makes for it,
 * `<referenceto<unique id><Attr>>`.
 */
export function nagAtt(element: IConstruct, attribute = 'Arn', from?: IConstruct): string {
  const cfn = (element.node.defaultChild ?? element) as CfnElement;
  if (from && Stack.of(from) !== Stack.of(cfn)) return `<referenceto${Names.uniqueId(cfn)}${attribute}>`;
  return `<${logicalId(element)}.${attribute}>`;
}

/** How cdk-nag spells a `Ref` inside a string: `<LogicalId>`. */
export function nagRef(element: IConstruct): string {
  return `<${logicalId(element)}>`;
}

/** The region as cdk-nag prints it: the literal region, or `<AWS::Region>` for env-agnostic stacks. */
export function nagRegion(scope: IConstruct): string {
  const region = Stack.of(scope).region;
  return Token.isUnresolved(region) ? '<AWS::Region>' : region;
}

function logicalId(element: IConstruct): string {
  const cfn = (element.node.defaultChild ?? element) as CfnElement;
  return Stack.of(cfn).getLogicalId(cfn);
}

/**
 * Turns a state machine's `DefinitionString` from a synthesized template into plain ASL JSON,
 * writing each CloudFormation reference as a readable placeholder: `${LogicalId}`,
 * `${LogicalId.Attribute}`, `${AWS::Partition}`.
 */
export function definitionWithPlaceholders(definitionString: unknown): Record<string, unknown> {
  return JSON.parse(joinIntrinsics(definitionString));
}

function joinIntrinsics(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if ('Fn::Join' in obj) {
      const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
      return parts.map(joinIntrinsics).join(sep);
    }
    if ('Ref' in obj) return `\${${String(obj.Ref)}}`;
    if ('Fn::GetAtt' in obj) {
      const [id, attr] = obj['Fn::GetAtt'] as [string, string];
      return `\${${id}.${attr}}`;
    }
  }
  throw new Error(`Unsupported intrinsic in a state machine definition: ${JSON.stringify(value)}`);
}

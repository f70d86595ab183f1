import { type CfnTemplate, synthesizeTemplate } from '../../local/template';

/**
 * The synthesized `local` template with `action` removed from every policy statement of the given
 * roles (logical ids): a grant a construct no longer makes, for the IAM fidelity tests.
 */
export function localTemplateWithout(
  action: string,
  roleIds: (template: CfnTemplate) => ReadonlyArray<string>,
): { template: CfnTemplate; roles: ReadonlyArray<string> } {
  const template = JSON.parse(JSON.stringify(synthesizeTemplate('local'))) as CfnTemplate;
  const roles = roleIds(template);
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy' || !roles.some((role) => JSON.stringify(r.Properties?.Roles).includes(`"${role}"`))) continue;
    const doc = r.Properties?.PolicyDocument as { Statement: Array<{ Action: string | string[] }> };
    doc.Statement = doc.Statement.map((s) => ({ ...s, Action: ([] as string[]).concat(s.Action).filter((a) => a !== action) })).filter(
      (s) => s.Action.length > 0,
    );
  }
  return { template, roles };
}

import { LOCAL_ACCOUNT, LOCAL_REGION } from '../template';
import { AwsError, type EdgeRequest, type EdgeResponse, jsonResponse } from './http';

/** A parameter as the stack declares it (`AWS::SSM::Parameter`). */
export interface ParameterSpec {
  readonly name: string;
  readonly value: string;
  readonly type: string;
  readonly tier?: string;
}

/**
 * The Parameter Store limits the stack meets ("Parameter Store quotas", "Requirements and
 * constraints for parameter names", GetParametersByPath in the API reference): a standard value
 * holds 4,096 characters; names use `a-zA-Z0-9_.-/`, at most 1,011 characters and 15 levels, and do
 * not start with `aws` or `ssm`; GetParametersByPath returns at most 10 per page.
 */
export const SSM_LIMITS = { standardValueChars: 4096, advancedValueChars: 8192, nameChars: 1011, levels: 15, pageSize: 10 } as const;

/** Why a parameter would not be created on AWS, or undefined. */
export function parameterProblem(p: ParameterSpec): string | undefined {
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(p.name)) return `Parameter name ${p.name} may only use a-zA-Z0-9_.-/`;
  if (p.name.length > SSM_LIMITS.nameChars)
    return `Parameter name ${p.name.slice(0, 40)}… has ${p.name.length} characters; the limit is ${SSM_LIMITS.nameChars}`;
  if (/^\/?(aws|ssm)/i.test(p.name)) return `Parameter name ${p.name} may not start with "aws" or "ssm"`;
  if (p.name.split('/').filter(Boolean).length > SSM_LIMITS.levels) return `Parameter name ${p.name} has more than ${SSM_LIMITS.levels} levels`;
  const max = p.tier === 'Advanced' ? SSM_LIMITS.advancedValueChars : SSM_LIMITS.standardValueChars;
  if (p.value.length > max)
    return `Parameter ${p.name}: ${p.tier ?? 'Standard'} tier parameters support a maximum parameter value of ${max} characters (this one has ${p.value.length})`;
  return undefined;
}

/**
 * Systems Manager Parameter Store as far as the stack uses it: the parameters the template
 * declares, read with GetParametersByPath (pages of at most 10, `Recursive`, `NextToken`) and
 * GetParameter, changed with PutParameter (kept until the stack stops: a restart gives the
 * template's values, as a deploy would). A parameter AWS would refuse to create fails the start.
 */
export class SsmService {
  private readonly parameters = new Map<string, ParameterSpec & { version: number; modified: number }>();

  constructor(specs: ReadonlyArray<ParameterSpec>) {
    const modified = Date.now() / 1000;
    for (const spec of specs) {
      const problem = parameterProblem(spec);
      if (problem) throw new Error(`The template would not deploy: ${problem}`);
      if (this.parameters.has(spec.name)) throw new Error(`The template would not deploy: parameter ${spec.name} is declared twice`);
      this.parameters.set(spec.name, { ...spec, version: 1, modified });
    }
  }

  handle(req: EdgeRequest): EdgeResponse {
    const op = String(req.headers['x-amz-target']).split('.')[1];
    const input = JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>;
    switch (op) {
      case 'GetParameter': {
        const p = this.parameters.get(String(input.Name ?? ''));
        if (!p) throw new AwsError('ParameterNotFound', `Parameter ${String(input.Name)} not found.`);
        return jsonResponse({ Parameter: this.describe(p) });
      }
      case 'GetParametersByPath': {
        const path = String(input.Path ?? '');
        if (!path.startsWith('/')) throw new AwsError('ValidationException', 'The parameter path must begin with a forward slash (/)');
        const max = input.MaxResults === undefined ? SSM_LIMITS.pageSize : Number(input.MaxResults);
        if (!Number.isInteger(max) || max < 1 || max > SSM_LIMITS.pageSize) {
          throw new AwsError(
            'ValidationException',
            `1 validation error detected: Value '${String(input.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${SSM_LIMITS.pageSize}`,
          );
        }
        const prefix = path.endsWith('/') ? path : `${path}/`;
        const matching = [...this.parameters.values()]
          .filter((p) => p.name.startsWith(prefix) && (input.Recursive === true || !p.name.slice(prefix.length).includes('/')))
          .sort((a, b) => a.name.localeCompare(b.name));
        const start = input.NextToken === undefined ? 0 : Number(Buffer.from(String(input.NextToken), 'base64').toString('utf8'));
        if (!Number.isInteger(start) || start < 0) throw new AwsError('ValidationException', 'The specified token is invalid');
        const page = matching.slice(start, start + max);
        const next = start + max < matching.length ? Buffer.from(String(start + max)).toString('base64') : undefined;
        return jsonResponse({ Parameters: page.map((p) => this.describe(p)), ...(next ? { NextToken: next } : {}) });
      }
      case 'PutParameter': {
        // What an operator does to rotate a key between deploys (`aws ssm put-parameter --overwrite`).
        const name = String(input.Name ?? '');
        const existing = this.parameters.get(name);
        if (existing && input.Overwrite !== true)
          throw new AwsError(
            'ParameterAlreadyExists',
            'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
          );
        const spec: ParameterSpec = {
          name,
          value: String(input.Value ?? ''),
          type: String(input.Type ?? existing?.type ?? 'String'),
          tier: String(input.Tier ?? existing?.tier ?? 'Standard'),
        };
        const problem = parameterProblem(spec);
        if (problem) throw new AwsError('ValidationException', problem);
        const version = (existing?.version ?? 0) + 1;
        this.parameters.set(name, { ...spec, version, modified: Date.now() / 1000 });
        return jsonResponse({ Version: version, Tier: spec.tier });
      }
      default:
        throw new AwsError('UnknownOperationException', `The local edge does not serve AmazonSSM.${op}`);
    }
  }

  private describe(p: ParameterSpec & { version: number; modified: number }) {
    return {
      Name: p.name,
      Type: p.type,
      Value: p.value,
      Version: p.version,
      LastModifiedDate: p.modified,
      DataType: 'text',
      ARN: `arn:aws:ssm:${LOCAL_REGION}:${LOCAL_ACCOUNT}:parameter/${p.name.replace(/^\//, '')}`,
    };
  }
}

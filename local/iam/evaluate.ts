/**
 * IAM policy evaluation for the features the stack's policies use — the "Policy evaluation logic"
 * of the IAM User Guide, for one account: an explicit Deny in any policy wins; otherwise an Allow
 * in the identity's policies or in the resource's policy (same account) allows; otherwise the
 * request is implicitly denied. Supported: Action / NotAction and Resource / NotResource with `*`
 * and `?` wildcards, policy variables (`${aws:userid}`, …), resource-policy Principal, and the
 * condition operators String*, Arn*, Bool, Numeric* and Null, each with `IfExists`.
 * Not supported (and not used by the stack): permission boundaries, SCPs, session policies,
 * ForAnyValue / ForAllValues.
 */

export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Principal?: '*' | Record<string, string | string[]>;
  readonly Condition?: Record<string, Record<string, string | string[] | boolean | number>>;
}

export interface RequestContext {
  /** `service:Action`, e.g. `s3:GetObject`. */
  readonly action: string;
  /** The resource ARN the action acts on (`*` for actions without resources). */
  readonly resource: string;
  /** The caller: its ARN (an assumed-role ARN for a function) and `aws:` keys. */
  readonly principalArn: string;
  /** Condition keys of the request (`aws:userid`, `aws:SecureTransport`, `s3:prefix`, …). */
  readonly keys: Readonly<Record<string, string | undefined>>;
}

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

const asList = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

/** `*` and `?` wildcards, the rest literal. */
function globMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    ignoreCase ? 'is' : 's',
  );
  return re.test(value);
}

/** Replaces `${key}` policy variables with the request's values (an unknown key matches nothing). */
function substitute(pattern: string, keys: RequestContext['keys']): string | undefined {
  let missing = false;
  const out = pattern.replace(/\$\{([^}]+)\}/g, (_m, key: string) => {
    if (key === '*' || key === '?' || key === '$') return key;
    const v = keys[key];
    if (v === undefined) missing = true;
    return v ?? '';
  });
  return missing ? undefined : out;
}

const actionMatches = (patterns: string[], action: string) => patterns.some((p) => globMatch(p, action, true));
const resourceMatches = (patterns: string[], resource: string, keys: RequestContext['keys']) =>
  patterns.some((p) => {
    const s = substitute(p, keys);
    return s !== undefined && globMatch(s, resource, false);
  });

const OPERATORS = new Set([
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Bool',
  'Null',
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
]);

function conditionHolds(operatorWithSuffix: string, key: string, expected: string[], keys: RequestContext['keys']): boolean {
  const ifExists = operatorWithSuffix.endsWith('IfExists');
  const operator = ifExists ? operatorWithSuffix.slice(0, -'IfExists'.length) : operatorWithSuffix;
  if (!OPERATORS.has(operator)) throw new Error(`IAM condition operator ${operatorWithSuffix} is not supported by local mode's evaluator`);
  const actual = keys[key];
  if (operator === 'Null') return expected.some((e) => (String(e) === 'true') === (actual === undefined));
  if (actual === undefined) return ifExists || /Not/.test(operator);
  const values = expected.map((e) => substitute(String(e), keys)).filter((e): e is string => e !== undefined);
  switch (operator) {
    case 'StringEquals':
      return values.includes(actual);
    case 'StringNotEquals':
      return !values.includes(actual);
    case 'StringEqualsIgnoreCase':
      return values.some((v) => v.toLowerCase() === actual.toLowerCase());
    case 'StringNotEqualsIgnoreCase':
      return !values.some((v) => v.toLowerCase() === actual.toLowerCase());
    case 'StringLike':
      return values.some((v) => globMatch(v, actual, false));
    case 'StringNotLike':
      return !values.some((v) => globMatch(v, actual, false));
    case 'ArnEquals':
    case 'ArnLike':
      return values.some((v) => globMatch(v, actual, false));
    case 'ArnNotEquals':
    case 'ArnNotLike':
      return !values.some((v) => globMatch(v, actual, false));
    case 'Bool':
      return values.some((v) => v.toLowerCase() === actual.toLowerCase());
    case 'NumericEquals':
      return values.some((v) => Number(actual) === Number(v));
    case 'NumericNotEquals':
      return values.every((v) => Number(actual) !== Number(v));
    case 'NumericLessThan':
      return values.some((v) => Number(actual) < Number(v));
    case 'NumericLessThanEquals':
      return values.some((v) => Number(actual) <= Number(v));
    case 'NumericGreaterThan':
      return values.some((v) => Number(actual) > Number(v));
    case 'NumericGreaterThanEquals':
      return values.some((v) => Number(actual) >= Number(v));
    default:
      throw new Error(`IAM condition operator ${operatorWithSuffix} is not supported by local mode's evaluator`);
  }
}

function principalMatches(principal: Statement['Principal'], principalArn: string): boolean {
  if (principal === undefined) return true; // identity policy
  if (principal === '*') return true;
  const aws = asList(principal.AWS);
  const account = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(principalArn)?.[1];
  const roleArn = principalArn.replace(/^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.*$/, 'arn:$1:iam::$2:role/$3');
  return aws.some(
    (p) => p === '*' || p === principalArn || p === roleArn || (account !== undefined && (p === account || p === `arn:aws:iam::${account}:root`)),
  );
}

/** Whether one statement applies to the request. */
export function statementApplies(s: Statement, req: RequestContext): boolean {
  if (!principalMatches(s.Principal, req.principalArn)) return false;
  if (s.Action !== undefined && !actionMatches(asList(s.Action), req.action)) return false;
  if (s.NotAction !== undefined && actionMatches(asList(s.NotAction), req.action)) return false;
  if (s.Resource !== undefined && !resourceMatches(asList(s.Resource), req.resource, req.keys)) return false;
  if (s.NotResource !== undefined && resourceMatches(asList(s.NotResource), req.resource, req.keys)) return false;
  for (const [operator, entries] of Object.entries(s.Condition ?? {})) {
    for (const [key, expected] of Object.entries(entries)) {
      if (!conditionHolds(operator, key, asList(expected as string | string[]).map(String), req.keys)) return false;
    }
  }
  return true;
}

/** The decision for a request given the caller's identity policies and the resource's policy. */
export function evaluate(identity: ReadonlyArray<Statement>, resourcePolicy: ReadonlyArray<Statement>, req: RequestContext): Decision {
  const all = [...identity.map((s) => ({ s, resource: false })), ...resourcePolicy.map((s) => ({ s, resource: true }))];
  const applying = all.filter(({ s, resource }) => (resource ? s.Principal !== undefined : true) && statementApplies(s, req));
  if (applying.some(({ s }) => s.Effect === 'Deny')) return 'ExplicitDeny';
  return applying.some(({ s }) => s.Effect === 'Allow') ? 'Allow' : 'ImplicitDeny';
}

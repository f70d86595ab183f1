import { evaluate, type RequestContext, type Statement } from '../../../local/iam/evaluate';

const ROLE = 'arn:aws:sts::000000000000:assumed-role/Loader/clickstream-SubmitLoad';
const req = (action: string, resource: string, keys: Record<string, string> = {}): RequestContext => ({
  action,
  resource,
  principalArn: ROLE,
  keys: { 'aws:SecureTransport': 'true', ...keys },
});

/** Cases from the IAM User Guide's "Policy evaluation logic" and condition operator pages. */
describe('IAM policy evaluation (local mode)', () => {
  const allowGet: Statement = { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::raw/*' };

  it('denies implicitly what no statement allows', () => {
    expect(evaluate([allowGet], [], req('s3:PutObject', 'arn:aws:s3:::raw/k'))).toBe('ImplicitDeny');
    expect(evaluate([allowGet], [], req('s3:GetObject', 'arn:aws:s3:::staged/k'))).toBe('ImplicitDeny');
  });

  it('allows with wildcards in actions (case-insensitive) and resources (case-sensitive)', () => {
    expect(evaluate([allowGet], [], req('s3:getobject', 'arn:aws:s3:::raw/web/2026/k.gz'))).toBe('Allow');
    expect(evaluate([{ Effect: 'Allow', Action: 's3:Get*', Resource: 'arn:aws:s3:::raw/*' }], [], req('s3:GetObject', 'arn:aws:s3:::RAW/k'))).toBe(
      'ImplicitDeny',
    );
  });

  it('lets an explicit deny in a resource policy win over an identity allow', () => {
    const tlsOnly: Statement = {
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:*',
      Resource: ['arn:aws:s3:::raw', 'arn:aws:s3:::raw/*'],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    };
    expect(evaluate([allowGet], [tlsOnly], req('s3:GetObject', 'arn:aws:s3:::raw/k'))).toBe('Allow');
    expect(evaluate([allowGet], [tlsOnly], req('s3:GetObject', 'arn:aws:s3:::raw/k', { 'aws:SecureTransport': 'false' }))).toBe('ExplicitDeny');
  });

  it('allows through a same-account resource policy naming the role', () => {
    const bucketPolicy: Statement = {
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::000000000000:role/Loader' },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::staged/*',
    };
    expect(evaluate([], [bucketPolicy], req('s3:GetObject', 'arn:aws:s3:::staged/k'))).toBe('Allow');
    expect(evaluate([], [{ ...bucketPolicy, Principal: { AWS: 'arn:aws:iam::000000000000:role/Other' } }], req('s3:GetObject', 'arn:aws:s3:::staged/k'))).toBe(
      'ImplicitDeny',
    );
  });

  it('evaluates StringLike on the statement owner against the role id, from any session', () => {
    const describe: Statement = {
      Effect: 'Allow',
      Action: 'redshift-data:DescribeStatement',
      Resource: '*',
      Condition: { StringLike: { 'redshift-data:statement-owner-iam-userid': 'AROALOADER:*' } },
    };
    expect(
      evaluate(
        [describe],
        [],
        req('redshift-data:DescribeStatement', '*', { 'redshift-data:statement-owner-iam-userid': 'AROALOADER:clickstream-SubmitLoad' }),
      ),
    ).toBe('Allow');
    expect(evaluate([describe], [], req('redshift-data:DescribeStatement', '*', { 'redshift-data:statement-owner-iam-userid': 'AROAOTHER:x' }))).toBe(
      'ImplicitDeny',
    );
    // A missing key fails a positive operator.
    expect(evaluate([describe], [], req('redshift-data:DescribeStatement', '*'))).toBe('ImplicitDeny');
  });

  it('substitutes policy variables and fails the match when the variable is missing', () => {
    const own: Statement = {
      Effect: 'Allow',
      Action: 'redshift-data:DescribeStatement',
      Resource: '*',
      Condition: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
    };
    expect(
      evaluate([own], [], req('redshift-data:DescribeStatement', '*', { 'aws:userid': 'AROA1:a', 'redshift-data:statement-owner-iam-userid': 'AROA1:a' })),
    ).toBe('Allow');
    expect(
      evaluate([own], [], req('redshift-data:DescribeStatement', '*', { 'aws:userid': 'AROA1:b', 'redshift-data:statement-owner-iam-userid': 'AROA1:a' })),
    ).toBe('ImplicitDeny');
  });

  it('treats NotAction, NotResource, IfExists, Null and negated operators as documented', () => {
    const notAction: Statement = { Effect: 'Deny', NotAction: 's3:GetObject', Resource: '*' };
    expect(evaluate([allowGet, notAction], [], req('s3:GetObject', 'arn:aws:s3:::raw/k'))).toBe('Allow');
    expect(evaluate([{ Effect: 'Allow', Action: '*', Resource: '*' }, notAction], [], req('s3:PutObject', 'arn:aws:s3:::raw/k'))).toBe('ExplicitDeny');
    const ifExists: Statement = {
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: 'arn:aws:s3:::raw',
      Condition: { StringLikeIfExists: { 's3:prefix': 'web/*' } },
    };
    expect(evaluate([ifExists], [], req('s3:ListBucket', 'arn:aws:s3:::raw'))).toBe('Allow');
    expect(evaluate([ifExists], [], req('s3:ListBucket', 'arn:aws:s3:::raw', { 's3:prefix': 'app/' }))).toBe('ImplicitDeny');
    const nulls: Statement = { Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { Null: { 's3:prefix': 'true' } } };
    expect(evaluate([{ Effect: 'Allow', Action: '*', Resource: '*' }, nulls], [], req('s3:ListBucket', 'arn:aws:s3:::raw'))).toBe('ExplicitDeny');
    const notEquals: Statement = { Effect: 'Deny', Action: '*', Resource: '*', Condition: { StringNotEquals: { 'aws:SourceAccount': '000000000000' } } };
    expect(evaluate([{ Effect: 'Allow', Action: '*', Resource: '*' }, notEquals], [], req('s3:GetObject', 'arn:aws:s3:::raw/k'))).toBe('ExplicitDeny');
  });

  it('refuses to guess an operator it does not implement', () => {
    expect(() =>
      evaluate(
        [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01' } } }],
        [],
        req('s3:GetObject', 'x'),
      ),
    ).toThrow(/not supported/);
  });
});

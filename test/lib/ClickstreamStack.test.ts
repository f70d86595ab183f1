import { Match } from 'aws-cdk-lib/assertions';
import { synthEnvironment } from '../support/synth';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

function statementsOf(template: ReturnType<typeof synthEnvironment>['template']): Array<{ policy: string; statement: Statement }> {
  const out: Array<{ policy: string; statement: Statement }> = [];
  for (const [id, res] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
    for (const statement of res.Properties.PolicyDocument.Statement as Statement[]) out.push({ policy: id, statement });
  }
  for (const [id, res] of Object.entries(template.findResources('AWS::IAM::Role'))) {
    for (const p of (res.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Statement[] } }>) {
      for (const statement of p.PolicyDocument.Statement) out.push({ policy: id, statement });
    }
  }
  return out;
}

const asArray = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/**
 * Whether a policy resource names no particular resource: `*`, an ARN whose resource part is only
 * wildcards (`arn:aws:s3:::*`, `…:deliverystream/*`), or a Join built from nothing but partition,
 * region and account references around such a pattern.
 */
function isWildcardResource(resource: unknown): boolean {
  let text: string;
  if (typeof resource === 'string') text = resource;
  else if (resource && typeof resource === 'object' && 'Fn::Join' in resource) {
    const [sep, parts] = (resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    const pseudo = new Set(['AWS::Partition', 'AWS::Region', 'AWS::AccountId', 'AWS::URLSuffix']);
    if (parts.some((p) => typeof p !== 'string' && !(p && typeof p === 'object' && 'Ref' in p && pseudo.has(String((p as { Ref: string }).Ref))))) return false;
    text = parts.map((p) => (typeof p === 'string' ? p : 'x')).join(sep);
  } else return false;
  if (text === '*') return true;
  const m = /^arn:[^:]*:([^:]*):[^:]*:[^:]*:(.*)$/.exec(text);
  if (!m) return false;
  // S3's resource part is the bucket (and key): only "*" names none. Elsewhere a resource type
  // followed by "*" (deliverystream/*, stateMachine:*) names none either.
  return m[1] === 's3' ? /^\*/.test(m[2]) : /^(\*|[A-Za-z-]+[/:]\*)$/.test(m[2]);
}

describe('ClickstreamStack', () => {
  const prod = synthEnvironment('prod');
  const dev = synthEnvironment('dev');

  it('is named Clickstream-<env> and placed in the configured region', () => {
    expect(prod.stack.stackName).toBe('Clickstream-prod');
    expect(prod.stack.region).toBe('us-east-1');
    expect(dev.stack.stackName).toBe('Clickstream-dev');
  });

  describe('SourceStreams', () => {
    it('creates one encrypted gzip Firehose stream per source into raw/<source>/YYYY/MM/DD/HH/', () => {
      prod.template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 2);
      for (const source of ['web', 'ios']) {
        prod.template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
          DeliveryStreamName: `clickstream-prod-${source}`,
          DeliveryStreamType: 'DirectPut',
          DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
          ExtendedS3DestinationConfiguration: Match.objectLike({
            Prefix: `${source}/!{timestamp:yyyy/MM/dd/HH}/`,
            ErrorOutputPrefix: `_errors/${source}/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/`,
            CompressionFormat: 'GZIP',
            BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 64 },
          }),
        });
      }
    });

    it('traces the collector when collector.tracing is on', () => {
      const { template } = synthEnvironment('x', {
        x: {
          sources: [{ name: 'web', writeKeys: ['wk_web_12345678'] }],
          warehouse: { type: 'serverless', availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'] },
          collector: { tracing: true },
        },
      });
      const collect = Object.values(template.findResources('AWS::Lambda::Function')).find(
        (f) => f.Metadata['clickstream:handler'] === 'lambdas/collect/handler.ts',
      );
      expect(collect?.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    });

    it("buffers at most a quarter of a source's load interval (freshness), else as configured", () => {
      const { template } = synthEnvironment('x', {
        x: {
          sources: [
            { name: 'fast', writeKeys: ['wk_fast_12345678'], schedule: 'rate(1 minute)' },
            { name: 'slow', writeKeys: ['wk_slow_12345678'], schedule: 'rate(1 hour)' },
            { name: 'nightly', writeKeys: ['wk_nightly_12345678'], schedule: 'cron(0 2 * * ? *)' },
          ],
          warehouse: { type: 'serverless', availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'] },
        },
      });
      const hints = Object.values(template.findResources('AWS::KinesisFirehose::DeliveryStream')).map((r) => [
        r.Properties.DeliveryStreamName,
        r.Properties.ExtendedS3DestinationConfiguration.BufferingHints.IntervalInSeconds,
      ]);
      expect(hints.sort()).toEqual([
        ['clickstream-x-fast', 15],
        ['clickstream-x-nightly', 60],
        ['clickstream-x-slow', 60],
      ]);
    });

    it('lets each stream write only its own source prefixes', () => {
      const delivery = statementsOf(prod.template).filter(({ policy }) => policy.includes('SourceStreamsSourceweb'));
      const put = delivery.find(({ statement }) => asArray(statement.Action).includes('s3:PutObject'));
      expect(JSON.stringify(put?.statement.Resource)).toContain('/web/*');
      expect(JSON.stringify(put?.statement.Resource)).toContain('/_errors/web/*');
      expect(JSON.stringify(put?.statement.Resource)).not.toContain('/ios/');
    });
  });

  describe('Schedules', () => {
    it('starts the load workflow per source with its dryRun flag, and verifies yesterday daily per loaded source', () => {
      prod.template.resourceCountIs('AWS::Scheduler::Schedule', 3);
      prod.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        Name: 'clickstream-prod-verify-web',
        ScheduleExpression: 'cron(30 1 * * ? *)',
        ScheduleExpressionTimezone: 'Etc/UTC',
        Target: Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^VerifyWorkflowStateMachine') }, Input: '{"source":"web"}' }),
      });
      prod.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        Name: 'clickstream-prod-load-web',
        ScheduleExpression: 'rate(5 minutes)',
        Target: Match.objectLike({ Input: '{"source":"web"}' }),
      });
      prod.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        Name: 'clickstream-prod-load-ios',
        ScheduleExpression: 'rate(15 minutes)',
        Target: Match.objectLike({ Input: '{"source":"ios","dryRun":true}' }),
      });
    });

    it('creates no schedule for a source whose load flag is off', () => {
      const { template } = synthEnvironment('x', {
        x: {
          sources: [
            { name: 'web', writeKeys: ['wk_web_12345678'] },
            { name: 'beta', writeKeys: ['wk_beta_12345678'], load: false },
          ],
          warehouse: { type: 'serverless', availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'] },
        },
      });
      // web: its load and its daily verification; beta: none.
      template.resourceCountIs('AWS::Scheduler::Schedule', 2);
      template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 2);
    });
  });

  describe('Lambda functions', () => {
    it('all run Node.js 22+ on ARM64 with JSON logs; tracing on, except the collector (hot path: off, and warnings-only logs)', () => {
      const functions = Object.values(prod.template.findResources('AWS::Lambda::Function'));
      expect(functions.length).toBeGreaterThanOrEqual(12);
      for (const f of functions) {
        expect(f.Properties.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
        expect(f.Properties.Architectures).toEqual(['arm64']);
        const collector = f.Metadata['clickstream:handler'] === 'lambdas/collect/handler.ts';
        expect(f.Properties.TracingConfig).toEqual(collector ? undefined : { Mode: 'Active' });
        if (collector) expect(f.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: 'WARN', SystemLogLevel: 'WARN' });
        expect(f.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON' });
        expect(f.Metadata['clickstream:handler']).toMatch(/^lambdas\/[a-z-]+\/handler\.ts$/);
      }
    });

    it('keep no secrets in environment variables', () => {
      for (const f of Object.values(prod.template.findResources('AWS::Lambda::Function'))) {
        const names = Object.keys(f.Properties.Environment?.Variables ?? {});
        expect(names.filter((n) => /SECRET|PASSWORD|TOKEN|ACCESS_KEY/i.test(n))).toEqual([]);
      }
    });
  });

  describe('IAM', () => {
    it('grants no "*" action and no service-wide wildcard action', () => {
      for (const { policy, statement } of statementsOf(prod.template)) {
        for (const action of asArray(statement.Action)) {
          expect({ policy, action }).not.toEqual({ policy, action: expect.stringMatching(/^(\*|[a-z0-9-]+:\*)$/) });
        }
      }
    });

    it('grants data actions (S3 objects, Firehose, Data API) on named resources only, in every form a wildcard can take', () => {
      let checked = 0;
      for (const { policy, statement } of statementsOf(prod.template)) {
        const dataActions = asArray(statement.Action).filter((a) => /^(s3:(Get|Put|Delete)Object|firehose:Put|redshift-data:(Execute|BatchExecute))/.test(a));
        if (dataActions.length === 0) continue;
        for (const resource of asArray(statement.Resource)) {
          checked++;
          expect({ policy, resource, wildcard: isWildcardResource(resource) }).toEqual({ policy, resource, wildcard: false });
        }
      }
      expect(checked).toBeGreaterThan(5);
    });

    it('recognizes a wildcard resource written as "*", ["*"], an ARN ending in ":*" or "::*", or a Join of only account and region', () => {
      for (const wildcard of [
        '*',
        'arn:aws:s3:::*',
        'arn:aws:firehose:us-east-1:123456789012:*',
        'arn:aws:firehose:*:*:deliverystream/*',
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':firehose:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':deliverystream/*']] },
      ]) {
        expect({ wildcard, found: isWildcardResource(wildcard) }).toEqual({ wildcard, found: true });
      }
      for (const named of [
        'arn:aws:s3:::raw-bucket/*',
        { 'Fn::GetAtt': ['Bucket', 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket', 'Arn'] }, '/*']] },
      ]) {
        expect({ named, found: isWildcardResource(named) }).toEqual({ named, found: false });
      }
      expect(asArray(['*']).some(isWildcardResource)).toBe(true);
    });

    it("limits Data API status calls to statements of the caller's own role (any of its sessions)", () => {
      const status = statementsOf(prod.template).filter(({ statement }) => asArray(statement.Action).includes('redshift-data:DescribeStatement'));
      expect(status.length).toBeGreaterThan(0);
      const policies = prod.template.findResources('AWS::IAM::Policy');
      for (const { policy, statement } of status) {
        const [roleRef] = policies[policy].Properties.Roles as Array<{ Ref: string }>;
        expect(statement.Condition).toEqual({
          StringLike: { 'redshift-data:statement-owner-iam-userid': { 'Fn::Join': ['', [{ 'Fn::GetAtt': [roleRef.Ref, 'RoleId'] }, ':*']] } },
        });
      }
    });

    it('lets an import read exactly the configured archive buckets: PlanBackfill lists, ImportArchive gets', () => {
      const local = synthEnvironment('local');
      const archive = local.template.findOutputs('ArchiveReaderRoleArns');
      expect(Object.keys(archive)).toHaveLength(1);
      // Per role, the actions of every statement that names the archive bucket (statements may also name others).
      const onArchive = statementsOf(local.template).filter(({ statement }) =>
        JSON.stringify(statement.Resource).includes('clickstream-local-segment-archive'),
      );
      expect(onArchive.map(({ policy, statement }) => [policy.replace(/[0-9A-F]{8}$/, ''), asArray(statement.Action)]).sort()).toEqual([
        ['BackfillWorkflowImportArchiveFunctionServiceRoleDefaultPolicy', ['s3:GetObject']],
        ['WarehouseUserRoleDefaultPolicy', ['s3:ListBucket']],
      ]);
      const archiveResources = onArchive.flatMap(({ statement }) => asArray(statement.Resource)).filter((r) => JSON.stringify(r).includes('segment-archive'));
      expect(archiveResources.sort()).toEqual(['arn:aws:s3:::clickstream-local-segment-archive', 'arn:aws:s3:::clickstream-local-segment-archive/*']);
      // An environment without archiveBuckets grants no archive read at all.
      expect(statementsOf(prod.template).filter(({ statement }) => JSON.stringify(statement.Resource).includes('segment-archive'))).toEqual([]);
    });

    it('lets the COPY role read the staged bucket and nothing else', () => {
      const copyRoleId = Object.keys(prod.template.findResources('AWS::IAM::Role')).find((id) => id.startsWith('WarehouseCopyRole'));
      expect(copyRoleId).toBeDefined();
      const policies = Object.values(prod.template.findResources('AWS::IAM::Policy')).filter((p) =>
        JSON.stringify(p.Properties.Roles).includes(copyRoleId as string),
      );
      const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
      const actions = statements.flatMap((s) => asArray(s.Action)).sort();
      expect(actions).toEqual(['s3:GetBucketLocation', 's3:GetObject', 's3:ListBucket']);
      const resources = JSON.stringify(statements.map((s) => s.Resource));
      expect(resources).toContain('StorageStaged');
      expect(resources).not.toContain('StorageRaw');
      expect(resources).not.toContain('"*"');
    });
  });

  describe('Storage', () => {
    it('encrypts every bucket, blocks public access and logs access', () => {
      const buckets = prod.template.findResources('AWS::S3::Bucket');
      expect(Object.keys(buckets)).toHaveLength(4);
      for (const [id, b] of Object.entries(buckets)) {
        expect(b.Properties.BucketEncryption).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
        expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
        if (!id.includes('AccessLogs')) expect(b.Properties.LoggingConfiguration).toBeDefined();
      }
    });

    it('denies every request without TLS', () => {
      const policies = Object.values(prod.template.findResources('AWS::S3::BucketPolicy'));
      expect(policies).toHaveLength(4);
      for (const p of policies) {
        expect(p.Properties.PolicyDocument.Statement).toEqual(
          expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        );
      }
    });

    it('expires raw and staged data after the configured retention', () => {
      prod.template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'expire-raw', ExpirationInDays: 400 })]) },
      });
      prod.template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'expire-staged', ExpirationInDays: 7 })]) },
      });
    });
  });

  describe('Collector', () => {
    it('serves every Segment route through an HTTP API with CORS and throttling (prod)', () => {
      const routes = Object.values(prod.template.findResources('AWS::ApiGatewayV2::Route'))
        .map((r) => r.Properties.RouteKey)
        .sort();
      expect(routes).toEqual(
        [
          ...['a', 'alias', 'b', 'batch', 'g', 'group', 'i', 'identify', 'p', 'page', 's', 'screen', 't', 'track'].map((r) => `POST /v1/${r}`),
          // What Segment's CDN serves, served by the collector (analytics.js, its chunks, settings).
          'GET /analytics.js/v1/{writeKey}/{file}',
          'GET /analytics-next/bundles/{file}',
          'GET /v1/projects/{writeKey}/settings',
        ].sort(),
      );
      prod.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        ProtocolType: 'HTTP',
        CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://www.example.com', 'https://example.com'] }),
      });
      prod.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        DefaultRouteSettings: { ThrottlingRateLimit: 5000, ThrottlingBurstLimit: 10000 },
        AccessLogSettings: Match.anyValue(),
      });
    });

    it('uses a function URL with CORS and no per-request charge (dev)', () => {
      dev.template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
      dev.template.hasResourceProperties('AWS::Lambda::Url', {
        AuthType: 'NONE',
        Cors: Match.objectLike({
          AllowMethods: ['POST', 'GET'],
          AllowOrigins: ['*'],
          AllowHeaders: ['content-type', 'authorization', 'content-encoding', 'x-retry-count'],
        }),
      });
    });
  });

  describe('Warehouse', () => {
    it('creates a private Redshift Serverless workgroup with the COPY role as default', () => {
      prod.template.hasResourceProperties('AWS::RedshiftServerless::Workgroup', {
        WorkgroupName: 'clickstream-prod-wg',
        BaseCapacity: 8,
        PubliclyAccessible: false,
      });
      prod.template.hasResourceProperties('AWS::RedshiftServerless::Namespace', {
        DbName: 'clickstream',
        DefaultIamRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WarehouseCopyRole'), 'Arn'] },
      });
      // The admin password exists only in Secrets Manager: the template holds a dynamic reference.
      const [namespace] = Object.values(prod.template.findResources('AWS::RedshiftServerless::Namespace'));
      expect(namespace.Properties.ManageAdminPassword).toBeUndefined();
      expect(JSON.stringify(namespace.Properties.AdminUserPassword)).toMatch(
        /^\{"Fn::Join":\["",\["\{\{resolve:secretsmanager:",\{"Ref":"WarehouseAdminSecret[0-9A-F]+"\},":SecretString:password::\}\}"\]\]\}$/,
      );
    });

    it('imports an existing cluster and grants the Data API on it only', () => {
      const { template } = synthEnvironment('x', {
        x: {
          region: 'eu-west-1',
          account: '123456789012',
          sources: [{ name: 'web', writeKeys: ['wk_web_12345678'] }],
          warehouse: { type: 'existing-cluster', clusterIdentifier: 'analytics', database: 'events' },
        },
      });
      template.resourceCountIs('AWS::RedshiftServerless::Workgroup', 0);
      const execute = statementsOf(template).filter(({ statement }) => asArray(statement.Action).includes('redshift-data:ExecuteStatement'));
      expect(execute.length).toBeGreaterThan(0);
      for (const { statement } of execute) expect(JSON.stringify(statement.Resource)).toContain(':cluster:analytics');
      const creds = statementsOf(template).filter(({ statement }) => asArray(statement.Action).includes('redshift:GetClusterCredentialsWithIAM'));
      expect(JSON.stringify(creds[0].statement.Resource)).toContain(':dbname:analytics/events');
    });
  });

  describe('Monitoring', () => {
    it('alarms on failed executions (a failed verification stays raised for a day), lag per loaded (not dry-run) source, delivery errors and collector 5xx', () => {
      const alarms = Object.values(prod.template.findResources('AWS::CloudWatch::Alarm'));
      const metrics = alarms.map((a) => a.Properties.MetricName).sort();
      // prod has two sources; "ios" is a dry-run source, whose backlog never empties: no lag alarm, and no set-aside alarm (its loads commit nothing).
      expect(metrics).toEqual(
        [
          '5xx',
          'DeliveryToS3.Success',
          'DeliveryToS3.Success',
          'ExecutionsFailed',
          'ExecutionsFailed',
          'ExecutionsFailed',
          'ObjectsSetAside',
          'OldestPendingObjectAgeSeconds',
        ].sort(),
      );
      prod.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'OldestPendingObjectAgeSeconds',
        Dimensions: [
          { Name: 'Source', Value: 'web' },
          { Name: 'service', Value: 'loader' },
        ],
      });
      prod.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ExecutionsFailed',
        Period: 86400,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: Match.stringLikeRegexp('^VerifyWorkflowStateMachine') } }],
      });
      for (const a of alarms) expect(a.Properties.AlarmActions).toHaveLength(1);
      prod.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'data-oncall@example.com' });
      prod.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    });
  });

  it('outputs what operators and the CLI need', () => {
    prod.template.hasOutput('Sources', {
      Value: '[{"name":"web","collect":true,"load":true,"dryRun":false},{"name":"ios","collect":true,"load":true,"dryRun":true}]',
    });
    for (const key of [
      'CollectorUrl',
      'LoadStateMachineArn',
      'BackfillStateMachineArn',
      'VerifyStateMachineArn',
      'RawBucketName',
      'StagedBucketName',
      'WarehouseTarget',
      'WarehouseKind',
      'WarehouseDatabase',
    ]) {
      prod.template.hasOutput(key, {});
    }
  });
});

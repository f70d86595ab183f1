import { ExecuteStatementCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type CfnTemplate, synthesizeTemplate } from '../../../local/template';
import { startTestCloud, type TestCloud } from '../../support/localCloud';
import { asFunction, functionId, runExecution, runLoad, sendBatch } from '../../support/pipeline';
import { localTemplateWithout } from '../../support/grants';

type Json = Record<string, unknown>;

/** The local template as synthesized, with `action` removed from every policy of one role (a grant a construct no longer makes). */
function withoutAction(roleOf: (template: CfnTemplate) => string, action: string): CfnTemplate {
  return localTemplateWithout(action, (template) => [roleOf(template)]).template;
}

/**
 * Rule: every call a function makes is evaluated against its role's policies from the synthesized
 * template (and the bucket's policy), and denied as AWS denies it.
 */
describe('IAM from the synthesized template', () => {
  describe('the stack as synthesized', () => {
    let t: TestCloud;
    beforeAll(async () => {
      t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    });
    afterAll(() => t.stop());

    it('lets a whole load through on the grants the constructs make, and evaluated every call', async () => {
      await sendBatch(t, [
        { type: 'track', event: 'Iam Check', userId: 'u', messageId: 'iam-1' },
        { type: 'identify', userId: 'u', messageId: 'iam-2', traits: { a: 1 } },
      ]);
      await runLoad(t);
      expect(t.cloud.iam.denials).toEqual([]);
      for (const action of [
        'ssm:GetParametersByPath',
        'lambda:InvokeFunction',
        'firehose:PutRecordBatch',
        's3:GetObject',
        's3:PutObject',
        's3:ListBucket',
        'redshift-data:BatchExecuteStatement',
        'redshift-data:DescribeStatement',
        'redshift-serverless:GetCredentials',
      ]) {
        expect({ action, allowed: (t.cloud.iam.allowed.get(action) ?? 0) > 0 }).toEqual({ action, allowed: true });
      }
    }, 60_000);

    it('answers AccessDenied (S3) to a function reading a bucket its role has no grant on', async () => {
      const collector = functionId(synthesizeTemplate('local'), 'collect');
      const s3 = asFunction(
        new S3Client({ endpoint: t.cloud.endpoints.edge, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
        collector,
      );
      const error = await s3.send(new GetObjectCommand({ Bucket: t.cloud.endpoints.buckets.staged, Key: 'anything' })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(S3ServiceException);
      expect(error).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect((error as Error).message).toBe(
        `User: arn:aws:sts::000000000000:assumed-role/${t.cloud.iam.iam.identity(collector)?.roleName}/${collector} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::${t.cloud.endpoints.buckets.staged}/anything" because no identity-based policy allows the s3:GetObject action`,
      );
      s3.destroy();
    });

    it('answers a read of a missing key with 404 NoSuchKey only to a function that may list the bucket, else 403 AccessDenied', async () => {
      // S3 API Reference, GetObject, "Permissions": without s3:ListBucket a missing key is 403 Access Denied.
      const template = synthesizeTemplate('local');
      const client = (fn: string) =>
        asFunction(
          new S3Client({
            endpoint: t.cloud.endpoints.edge,
            region: 'us-east-1',
            forcePathStyle: true,
            credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
          }),
          functionId(template, fn),
        );
      t.cloud.store.createBucket('clickstream-local-segment-archive');
      // The import function may get archive objects but not list the archive bucket.
      const importer = client('import-archive');
      const denied = await importer
        .send(new GetObjectCommand({ Bucket: 'clickstream-local-segment-archive', Key: 'segment-logs/x/missing.gz' }))
        .catch((e: unknown) => e);
      expect(denied).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      // PlanLoad may get and list the staged bucket.
      const planner = client('plan-load');
      const missing = await planner
        .send(new GetObjectCommand({ Bucket: t.cloud.endpoints.buckets.staged, Key: 'loads/web/none/plan.json' }))
        .catch((e: unknown) => e);
      expect(missing).toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      // Callers from outside the stack (the CLI, the AWS CLI) act as an admin.
      const admin = await t.clients.s3
        .send(new GetObjectCommand({ Bucket: 'clickstream-local-segment-archive', Key: 'segment-logs/x/missing.gz' }))
        .catch((e: unknown) => e);
      expect(admin).toMatchObject({ name: 'NoSuchKey' });
      importer.destroy();
      planner.destroy();
    });

    it("authorizes GetParametersByPath against the path asked for: the collector reads its sources' path, not the one above it", async () => {
      const collector = functionId(synthesizeTemplate('local'), 'collect');
      const ssm = asFunction(
        new SSMClient({ endpoint: t.cloud.endpoints.edge, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
        collector,
      );
      const page = await ssm.send(new GetParametersByPathCommand({ Path: '/clickstream-local/sources', MaxResults: 10 }));
      expect(page.Parameters?.map((p) => p.Name).sort()).toEqual(['/clickstream-local/sources/app', '/clickstream-local/sources/web']);
      const above = await ssm.send(new GetParametersByPathCommand({ Path: '/clickstream-local', Recursive: true })).catch((e: unknown) => e);
      expect(above).toMatchObject({
        name: 'AccessDeniedException',
        message: expect.stringContaining(
          'is not authorized to perform: ssm:GetParametersByPath on resource: arn:aws:ssm:us-east-1:000000000000:parameter/clickstream-local',
        ),
      });
      const tooMany = await ssm.send(new GetParametersByPathCommand({ Path: '/clickstream-local/sources', MaxResults: 11 })).catch((e: unknown) => e);
      expect(tooMany).toMatchObject({ name: 'ValidationException' });
      ssm.destroy();
    });

    it('answers AccessDeniedException to a function running SQL without the Data API grant', async () => {
      const transform = functionId(synthesizeTemplate('local'), 'transform');
      const data = asFunction(
        new RedshiftDataClient({ endpoint: t.cloud.endpoints.edge, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
        transform,
      );
      const error = await data
        .send(
          new ExecuteStatementCommand({
            WorkgroupName: t.cloud.endpoints.warehouse.workgroupName,
            Database: t.cloud.endpoints.warehouse.database,
            Sql: 'SELECT 1',
          }),
        )
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: 'AccessDeniedException',
        message: expect.stringContaining(
          'is not authorized to perform: redshift-data:ExecuteStatement on resource: arn:aws:redshift-serverless:us-east-1:000000000000:workgroup/clickstream-local-wg',
        ),
      });
      data.destroy();
    });
  });

  describe("the collector without its grant on the sources' path", () => {
    let t: TestCloud;
    beforeAll(async () => {
      const template = withoutAction(
        (tpl) => ((tpl.Resources[functionId(tpl, 'collect')].Properties?.Role as Json)['Fn::GetAtt'] as string[])[0],
        'ssm:GetParametersByPath',
      );
      t = await startTestCloud({ bufferIntervalSeconds: 3600, template });
    });
    afterAll(() => t.stop());

    it("cannot tell a write key from another: answers 503 (retry later), stores nothing, and the denial is AWS's", async () => {
      const key = t.cloud.endpoints.sources[0].writeKeys[0];
      const res = await fetch(`${t.cloud.endpoints.collector}/v1/track`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` },
        body: JSON.stringify({ event: 'E', userId: 'u' }),
      });
      expect(res.status).toBe(503);
      expect(t.cloud.iam.denials.map((d) => d.action)).toContain('ssm:GetParametersByPath');
      t.cloud.firehose.flushAll();
      expect([...t.cloud.store.keys(t.cloud.endpoints.buckets.raw, '')]).toEqual([]);
    });
  });

  describe('a grant removed from a construct', () => {
    let t: TestCloud;
    beforeAll(async () => {
      // What the template would be if LoadWorkflow did not grant Transform s3:PutObject on the staged bucket.
      const template = withoutAction(
        (tpl) => ((tpl.Resources[functionId(tpl, 'transform')].Properties?.Role as Json)['Fn::GetAtt'] as string[])[0],
        's3:PutObject',
      );
      t = await startTestCloud({ bufferIntervalSeconds: 3600, template });
    });
    afterAll(() => t.stop());

    it('makes the load fail locally with the error AWS would give', async () => {
      await sendBatch(t, [{ type: 'track', event: 'Iam Check', userId: 'u', messageId: 'iam-3' }]);
      const d = await runExecution(t, t.cloud.endpoints.stateMachines.load, { source: 'web' });
      expect({ status: d.status, error: d.error }).toEqual({ status: 'FAILED', error: 'AccessDenied' });
      expect(d.cause).toMatch(
        /^TransformChunks failed: User: arn:aws:sts::000000000000:assumed-role\/LoadWorkflowTransformFunctionServiceRole\w+\/LoadWorkflowTransformFunction\w+ is not authorized to perform: s3:PutObject on resource: .*because no identity-based policy allows the s3:PutObject action/,
      );
      expect(t.cloud.iam.denials.map((x) => x.action)).toContain('s3:PutObject');
    }, 60_000);
  });
});

describe('a state machine role without lambda:InvokeFunction', () => {
  let t: TestCloud;
  beforeAll(async () => {
    const template = withoutAction((tpl) => {
      const [, machine] = Object.entries(tpl.Resources).find(([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith('LoadWorkflow')) as [
        string,
        { Properties?: Json },
      ];
      return ((machine.Properties?.RoleArn as Json)['Fn::GetAtt'] as string[])[0];
    }, 'lambda:InvokeFunction');
    t = await startTestCloud({ bufferIntervalSeconds: 3600, template });
  });
  afterAll(() => t.stop());

  it('cannot run the load: its first task fails as the Lambda service refuses the invocation', async () => {
    const d = await runExecution(t, t.cloud.endpoints.stateMachines.load, { source: 'web' });
    expect({ status: d.status, error: d.error }).toEqual({ status: 'FAILED', error: 'Lambda.AWSLambdaException' });
    expect(d.cause).toMatch(
      /is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:LoadWorkflow\w+Function\w+/,
    );
    // PlanLoad was refused, and so was RecordFailure in its Catch: the execution fails with the last refusal.
    expect(t.cloud.iam.denials.map((x) => x.resource)).toEqual(
      expect.arrayContaining([expect.stringMatching(/PlanLoadFunction/), expect.stringMatching(/RecordFailureFunction/)]),
    );
  }, 60_000);
});

import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { deployedTarget } from '../../cli/target';
import { startTestCloud, type TestCloud } from '../support/localCloud';
import { putRawEvents, sql } from '../support/pipeline';
import { cli } from '../support/cli';

describe('npx clickstream backfill', () => {
  let t: TestCloud;
  const START = Date.parse('2026-09-01T00:00:00Z');
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    for (let h = 0; h < 4; h++)
      await putRawEvents(t, 'app', new Date(START + h * 3_600_000).toISOString(), 'p', [
        { type: 'track', event: 'Cli Event', userId: 'u', messageId: `cli-${h}` },
      ]);
  });
  afterAll(() => t.stop());

  it('starts the backfill workflow, follows it and prints the summary (JSON)', async () => {
    const res = await cli([
      'backfill',
      '--data-dir',
      t.dataDir,
      '--source',
      'app',
      '--from',
      '2026-09-01T00:00Z',
      '--to',
      '2026-09-02T00:00Z',
      '--max-concurrency',
      '2',
      '--json',
    ]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: 'SUCCEEDED', totals: { windows: 4, succeeded: 4, events: 4 } });
    expect(await sql(t, 'SELECT COUNT(*) FROM app.cli_event')).toEqual([[4]]);
  }, 120_000);

  it('shows progress and a summary table, and a test run says it wrote nothing', async () => {
    const res = await cli(['backfill', '--data-dir', t.dataDir, '--source', 'app', '--from', '2026-09-01T00:00Z', '--to', '2026-09-02T00:00Z', '--dry-run']);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/\[#+\] 4\/4 windows, 0 failed, [\d,]+ events\/s/);
    expect(res.stdout).toContain('SUCCEEDED (test run: nothing was written)');
    expect(res.stdout).toMatch(
      /windows\s+succeeded\s+failed\s+not run\s+objects\s+events\s+rows loaded\s+rows discarded\s+seconds\n\s*4\s+4\s+0\s+0\s+4\s+4\s+8\s+0\s+\d+/,
    );
  }, 120_000);

  it('explains a bad input and exits 2', async () => {
    const res = await cli(['backfill', '--data-dir', t.dataDir, '--source', 'nope', '--from', '2026-09-01T00:00Z', '--to', '2026-09-02T00:00Z']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('Unknown source "nope": configured sources are web, app (or use "*")');
    const usage = await cli(['backfill', '--data-dir', t.dataDir, '--from', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--source is required');
  }, 120_000);

  it('says how to start a local stack when there is none', async () => {
    const res = await cli(['backfill', '--data-dir', '/nonexistent-dir', '--source', 'app', '--from', '2026-09-01T00:00Z', '--to', '2026-09-02T00:00Z']);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      'No local stack is running in /nonexistent-dir: start it with "npm start -- --data-dir /nonexistent-dir" (or pass --data-dir, or --env <name> for a deployed environment).\n',
    );
  }, 60_000);
});

describe('--env resolution', () => {
  it('reads the state machines and buckets from the outputs of stack Clickstream-<env>', async () => {
    const requests: string[] = [];
    const client = new CloudFormationClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      // The one place a canned answer is right: there is no CloudFormation here; the real client serializes and parses.
      requestHandler: {
        handle: async (request: { body: string }) => {
          requests.push(String(request.body));
          const out = (k: string, v: string) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`;
          const body = `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>Clickstream-prod</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-11-01T00:00:00Z</CreationTime><Outputs>${out('LoadStateMachineArn', 'arn:aws:states:eu-west-1:123456789012:stateMachine:clickstream-prod-load')}${out('BackfillStateMachineArn', 'arn:aws:states:eu-west-1:123456789012:stateMachine:clickstream-prod-backfill')}${out('RawBucketName', 'raw-bucket')}${out('StagedBucketName', 'staged-bucket')}${out('VerifyStateMachineArn', 'arn:aws:states:eu-west-1:123456789012:stateMachine:clickstream-prod-verify')}${out('CollectorUrl', 'https://abc.lambda-url.eu-west-1.on.aws/')}${out('Sources', '[{&quot;name&quot;:&quot;web&quot;,&quot;collect&quot;:true,&quot;load&quot;:true,&quot;dryRun&quot;:false}]')}${out('WarehouseTarget', 'clickstream-prod')}${out('WarehouseKind', 'workgroup')}${out('WarehouseDatabase', 'analytics')}</Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>`;
          const { Readable } = await import('node:stream');
          return { response: { statusCode: 200, headers: { 'content-type': 'text/xml' }, body: Readable.from([Buffer.from(body)]) } };
        },
      } as never,
    });
    const target = await deployedTarget('prod', client);
    expect(requests).toEqual(['Action=DescribeStacks&Version=2010-05-15&StackName=Clickstream-prod']);
    expect(target).toEqual({
      kind: 'deployed',
      region: 'eu-west-1',
      stateMachines: {
        load: 'arn:aws:states:eu-west-1:123456789012:stateMachine:clickstream-prod-load',
        backfill: 'arn:aws:states:eu-west-1:123456789012:stateMachine:clickstream-prod-backfill',
        verify: 'arn:aws:states:eu-west-1:123456789012:stateMachine:clickstream-prod-verify',
      },
      buckets: { raw: 'raw-bucket', staged: 'staged-bucket' },
      collector: 'https://abc.lambda-url.eu-west-1.on.aws/',
      sources: [{ name: 'web', collect: true, load: true, dryRun: false }],
      warehouse: { workgroupName: 'clickstream-prod', database: 'analytics' },
    });
  });
});

describe('npx clickstream sql', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    await sql(t, 'CREATE SCHEMA IF NOT EXISTS cli_demo');
    await sql(t, "CREATE TABLE cli_demo.t AS SELECT 'a' AS name, 1 AS n UNION ALL SELECT 'b', NULL");
  });
  afterAll(() => t.stop());

  it('prints a result as a table, or as JSON', async () => {
    const res = await cli(['sql', 'SELECT name, n FROM cli_demo.t ORDER BY name', '--data-dir', t.dataDir]);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('name     n\na        1\nb     NULL\n(2 rows)\n');
    const json = await cli(['sql', 'SELECT name, n FROM cli_demo.t ORDER BY name', '--json', '--data-dir', t.dataDir]);
    expect(JSON.parse(json.stdout)).toEqual([
      { name: 'a', n: 1 },
      { name: 'b', n: null },
    ]);
  }, 60_000);

  it('prints the error of a failed statement and exits 4', async () => {
    const res = await cli(['sql', 'SELECT * FROM cli_demo.missing', '--data-dir', t.dataDir]);
    expect(res.code).toBe(4);
    expect(res.stderr).toBe('ERROR: relation "cli_demo.missing" does not exist\n');
  }, 60_000);
});

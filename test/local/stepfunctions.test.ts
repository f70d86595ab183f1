import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { eventually, startTestCloud, type TestCloud } from '../support/localCloud';
import { putRawEvents, runExecution, sql } from '../support/pipeline';

describe('local edge: Step Functions with the real @aws-sdk/client-sfn, running the synthesized definitions', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    for (const h of ['2026-11-10T08:00:00Z', '2026-11-10T09:00:00Z', '2026-11-10T10:00:00Z']) {
      await putRawEvents(t, 'app', h, `obj-${h.slice(11, 13)}`, [
        { type: 'track', event: 'Opened', userId: 'u', messageId: `sf-${h}` },
        { type: 'screen', userId: 'u', name: 'Home', messageId: `sf-s-${h}` },
      ]);
    }
  });
  afterAll(() => t.stop());

  it('lists the synthesized state machines', async () => {
    const res = await t.clients.sfn.send(new ListStateMachinesCommand({}));
    expect(res.stateMachines?.map((m) => m.name).sort()).toEqual([
      'clickstream-local-backfill',
      'clickstream-local-forget',
      'clickstream-local-load',
      'clickstream-local-verify',
    ]);
  });

  it('runs the load workflow: start, describe, list, history', async () => {
    const d = await runExecution(t, t.cloud.endpoints.stateMachines.load, {
      source: 'app',
      window: { from: '2026-11-10T08:00:00Z', to: '2026-11-10T09:00:00Z' },
    });
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output as string)).toMatchObject({ source: 'app', status: 'SUCCEEDED', objects: 1, events: 2 });
    const list = await t.clients.sfn.send(new ListExecutionsCommand({ stateMachineArn: t.cloud.endpoints.stateMachines.load }));
    expect(list.executions?.map((e) => e.executionArn)).toContain(d.executionArn);
    const history = await t.clients.sfn.send(new GetExecutionHistoryCommand({ executionArn: d.executionArn, maxResults: 1000 }));
    const entered = (history.events ?? []).filter((e) => String(e.type) === 'StateEntered').map((e) => e.stateEnteredEventDetails?.name);
    expect(entered).toEqual(
      expect.arrayContaining([
        'PlanLoad',
        'AnythingToLoad?',
        'TransformChunks',
        'Transform',
        'PrepareSchema',
        'TestRun?',
        'LoadTables',
        'SubmitLoad',
        'WaitForLoad',
        'CheckStatement',
        'VerifyAndCommit',
        'LoadSucceeded',
      ]),
    );
  });

  it('fails an execution with the error and cause of the failing step', async () => {
    const d = await runExecution(t, t.cloud.endpoints.stateMachines.load, { source: 'nope' });
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('InvalidInputError');
    expect(d.cause).toBe('PlanLoad failed: Unknown source "nope": configured sources are web, app');
  });

  it('rejects a bad backfill input at once, saying what to change', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ source: 'nope', from: '2026-11-10T00:00Z', to: '2026-11-11T00:00Z' }, 'Unknown source "nope": configured sources are web, app (or use "*")'],
      [{ source: 'app', from: '2026-11-11T00:00Z', to: '2026-11-10T00:00Z' }, '"from" (2026-11-11T00:00Z) must be before "to" (2026-11-10T00:00Z)'],
      [{ source: 'app', from: '2020-01-01T00:00Z', to: '2026-11-10T00:00Z' }, 'The range is 2505.0 days; at most 400 days per backfill'],
      [
        { source: 'app', from: '2026-11-10T00:00Z', to: '2026-11-11T00:00Z', mode: 'everything' },
        'mode: mode must be "reload" (every hour with data), "missing" (only hours not fully loaded) or "import" (a Segment archive)',
      ],
      [
        { source: 'app', from: '2026-11-10T00:00Z', to: '2026-11-11T00:00Z', maxConcurrency: 50 },
        'maxConcurrency 50 is over the ceiling of 8 (cdk.json: concurrency.backfillCeiling): use at most 8',
      ],
    ];
    for (const [input, message] of cases) {
      const d = await runExecution(t, t.cloud.endpoints.stateMachines.backfill, input);
      expect({ status: d.status, error: d.error }).toEqual({ status: 'FAILED', error: 'InvalidInputError' });
      expect(JSON.parse(d.cause as string).errorMessage).toContain(message);
    }
  });

  it('runs a backfill: Distributed Map over the S3 plan, each window a startExecution.sync:2 load', async () => {
    const d = await runExecution(t, t.cloud.endpoints.stateMachines.backfill, {
      source: 'app',
      from: '2026-11-10T00:00Z',
      to: '2026-11-11T00:00Z',
      maxConcurrency: 2,
    });
    expect({ status: d.status, error: d.error, cause: d.cause }).toEqual({ status: 'SUCCEEDED', error: undefined, cause: undefined });
    const summary = JSON.parse(d.output as string);
    expect(summary).toMatchObject({ status: 'SUCCEEDED', totals: { windows: 3, succeeded: 3, failed: 0, objects: 3, events: 6 } });
    expect(summary.windows.map((w: { from: string }) => w.from)).toEqual(['2026-11-10T08:00:00.000Z', '2026-11-10T09:00:00.000Z', '2026-11-10T10:00:00.000Z']);
    const children = t.cloud.stepFunctions.allExecutions().filter((e) => e.parentArn === d.executionArn);
    expect(children).toHaveLength(3);
    expect(children.every((c) => c.status === 'SUCCEEDED' && JSON.parse(c.input).mode === 'reload')).toBe(true);
    expect(await sql(t, "SELECT COUNT(*) FROM app.tracks WHERE id LIKE 'sf-%'")).toEqual([[3]]);
  });

  it('stops a running execution', async () => {
    const { executionArn } = await t.clients.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: t.cloud.endpoints.stateMachines.backfill,
        input: JSON.stringify({ source: 'app', from: '2026-11-10T00:00Z', to: '2026-11-11T00:00Z', maxConcurrency: 1 }),
      }),
    );
    await t.clients.sfn.send(new StopExecutionCommand({ executionArn, error: 'Operator', cause: 'testing stop' }));
    const d = await t.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(d).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'testing stop' });
    await eventually(() => (t.cloud.stepFunctions.allExecutions().every((e) => e.status !== 'RUNNING') ? true : undefined), 30_000, 'children to end');
  });
});

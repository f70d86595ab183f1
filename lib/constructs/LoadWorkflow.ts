import { ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledge, nagAtt } from '../nag';
import { ClickstreamFunction } from './ClickstreamFunction';
import { RetryPolicies, lambdaStep } from './RetryPolicies';
import type { Storage } from './Storage';
import type { Warehouse } from './Warehouse';

export interface LoadWorkflowProps {
  /** Raw events (read only); plans, staged COPY files, manifests and stats (read and write). */
  readonly storage: Storage;
  /** Warehouse reached through the Data API. */
  readonly warehouse: Warehouse;
  /** Environment shared by every function: sources, buckets, limits. */
  readonly environment: Record<string, string>;
  /** Parallel Transform invocations per load. */
  readonly transformFanOut: number;
  /** Parallel table loads (warehouse transactions) per load. */
  readonly tableLoads: number;
  /** Name of the state machine. */
  readonly stateMachineName: string;
}

/**
 * The load of one source: plan the pending raw objects, transform them into per-table COPY
 * files, evolve the schema, load each table in one warehouse transaction, then verify.
 *
 * Input: `{"source": "web", "window"?: {"from", "to"}, "mode"?: "pending" | "reload", "dryRun"?: bool}`.
 * Output: the load summary written by Verify.
 */
export class LoadWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly functions: Readonly<
    Record<'planLoad' | 'transform' | 'prepareSchema' | 'submitLoad' | 'checkStatement' | 'verifyLoad' | 'recordFailure', ClickstreamFunction>
  >;

  constructor(scope: Construct, id: string, props: LoadWorkflowProps) {
    super(scope, id);
    if (props.transformFanOut < 1 || props.tableLoads < 1) throw new Error('LoadWorkflow: transformFanOut and tableLoads must be at least 1');
    const environment = { ...props.environment, ...props.warehouse.dataApiEnvironment };
    const fn = (fid: string, functionDir: string, description: string, timeout = Duration.minutes(1), memorySize = 1024) =>
      new ClickstreamFunction(this, fid, { functionDir, description, environment, timeout, memorySize });
    // Functions that run statements act as the warehouse's one database user (see Warehouse.userRole).
    const wfn = (fid: string, functionDir: string, description: string, timeout = Duration.minutes(1)) =>
      new ClickstreamFunction(this, fid, { functionDir, description, environment, timeout, role: props.warehouse.userRole });

    const functions = {
      planLoad: wfn('PlanLoadFunction', 'plan-load', 'Lists pending raw objects of a source and writes a bounded load plan'),
      transform: fn('TransformFunction', 'transform', 'Turns raw events into per-table COPY files, schema and counts', Duration.minutes(10), 3008),
      prepareSchema: wfn('PrepareSchemaFunction', 'prepare-schema', 'Creates and evolves warehouse tables (never drops or narrows)', Duration.minutes(5)),
      submitLoad: wfn('SubmitLoadFunction', 'submit-load', 'Submits one table load as one Data API transaction'),
      checkStatement: wfn('CheckStatementFunction', 'check-statement', 'Polls a Data API statement'),
      verifyLoad: wfn('VerifyLoadFunction', 'verify-load', 'Compares loaded rows with transform counts and writes the load summary', Duration.minutes(5)),
      recordFailure: fn('RecordFailureFunction', 'record-failure', 'Records a failed load for operators and alarms'),
    };
    this.functions = functions;

    props.storage.grantRawRead(functions.planLoad);
    props.storage.grantRawRead(functions.transform);
    for (const f of [functions.planLoad, functions.transform, functions.prepareSchema, functions.submitLoad, functions.verifyLoad, functions.recordFailure]) {
      props.storage.grantStagedReadWrite(f);
    }

    // PlanLoad asks whether the execution holding the source's load lock still runs (io/loadLock.ts).
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${props.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    functions.planLoad.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executions] }));
    const region = Token.isUnresolved(Stack.of(this).region) ? '<AWS::Region>' : Stack.of(this).region;
    // The statement lands on the role PlanLoad shares with the other warehouse functions.
    acknowledge(
      props.warehouse.userRole,
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${region}:<AWS::AccountId>:execution:${props.stateMachineName}:*]`],
      "DescribeExecution of this state machine's own executions (their names are generated): PlanLoad checks whether the load holding the source still runs.",
    );

    const invoke = (stateId: string, lambdaFunction: ClickstreamFunction, payload: Record<string, unknown>, resultPath: string, timeout: Duration) =>
      lambdaStep(this, stateId, lambdaFunction, payload, resultPath, timeout);

    // What every step after PlanLoad needs to find the load's plan and files.
    const loadRef = { 'loadId.$': '$.plan.loadId', 'source.$': '$.plan.source', 'planKey.$': '$.plan.planKey' };
    const loadRefWithMode = { ...loadRef, 'dryRun.$': '$.plan.dryRun' };

    const planLoad = invoke(
      'PlanLoad',
      functions.planLoad,
      {
        'request.$': '$',
        'executionId.$': '$$.Execution.Id',
        'startedAt.$': '$$.Execution.StartTime',
      },
      '$.plan',
      Duration.minutes(2),
    );

    const transform = invoke(
      'Transform',
      functions.transform,
      {
        'loadId.$': '$.loadId',
        'source.$': '$.source',
        'planKey.$': '$.planKey',
        'chunk.$': '$.chunk',
      },
      '$.transform',
      Duration.minutes(11),
    );
    const transformChunks = new sfn.Map(this, 'TransformChunks', {
      itemsPath: '$.plan.chunks',
      itemSelector: { ...loadRef, 'chunk.$': '$$.Map.Item.Value' },
      maxConcurrency: props.transformFanOut,
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(transform);

    const prepareSchema = invoke('PrepareSchema', functions.prepareSchema, loadRefWithMode, '$.schema', Duration.minutes(6));

    const submitLoad = invoke(
      'SubmitLoad',
      functions.submitLoad,
      {
        'loadId.$': '$.loadId',
        'source.$': '$.source',
        'planKey.$': '$.planKey',
        'table.$': '$.table',
      },
      '$.statement',
      Duration.minutes(2),
    );
    const waitForLoad = new sfn.Wait(this, 'WaitForLoad', { time: sfn.WaitTime.secondsPath('$.statement.waitSeconds') });
    const checkStatement = invoke('CheckStatement', functions.checkStatement, { 'statement.$': '$.statement' }, '$.statement', Duration.minutes(1));
    const loadFinished = new sfn.Choice(this, 'LoadFinished?')
      .when(sfn.Condition.booleanEquals('$.statement.finished', true), new sfn.Succeed(this, 'TableLoaded'))
      .otherwise(waitForLoad);
    const loadTable = new sfn.Parallel(this, 'LoadTable', { resultPath: sfn.JsonPath.DISCARD })
      .branch(sfn.Chain.start(submitLoad).next(waitForLoad).next(checkStatement).next(loadFinished))
      .addRetry(RetryPolicies.serializationConflict);
    const loadTables = new sfn.Map(this, 'LoadTables', {
      itemsPath: '$.schema.tables',
      itemSelector: { ...loadRef, 'table.$': '$$.Map.Item.Value' },
      maxConcurrency: props.tableLoads,
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(loadTable);

    // Checks the load's counts, then commits its raw objects to the `_loads` ledger: the name says both.
    // Its commit (one transaction: the ledger, the pending ids and discards) can lose a race with a
    // concurrent load's commit or an erasure; it is idempotent, so it runs again.
    const verify = invoke(
      'VerifyAndCommit',
      functions.verifyLoad,
      { ...loadRefWithMode, 'startedAt.$': '$$.Execution.StartTime', 'executionId.$': '$$.Execution.Id' },
      '$.summary',
      Duration.minutes(6),
    ).addRetry(RetryPolicies.serializationConflict);
    const done = new sfn.Pass(this, 'LoadSucceeded', { outputPath: '$.summary' });

    const nothingToLoad = new sfn.Pass(this, 'NothingToLoad', {
      parameters: {
        'source.$': '$.plan.source',
        'loadId.$': '$.plan.loadId',
        'dryRun.$': '$.plan.dryRun',
        status: 'EMPTY',
        objects: 0,
        events: 0,
        rowsLoaded: 0,
        rowsDiscarded: 0,
        tables: [],
      },
    });

    const recordFailure = invoke(
      'RecordFailure',
      functions.recordFailure,
      {
        'state.$': '$',
        'executionId.$': '$$.Execution.Id',
      },
      '$.failure',
      Duration.minutes(1),
    );
    const loadFailed = new sfn.Fail(this, 'LoadFailed', { errorPath: '$.failure.error', causePath: '$.failure.cause' });
    recordFailure.next(loadFailed);
    for (const [state, name] of [
      [planLoad, 'PlanLoad'],
      [transformChunks, 'TransformChunks'],
      [prepareSchema, 'PrepareSchema'],
      [loadTables, 'LoadTables'],
      [verify, 'VerifyAndCommit'],
    ] as const) {
      state.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: `$.${name}Error` });
    }

    // A pending load while the source's load runs (a tick during a slow load) ends at once.
    const skipped = new sfn.Pass(this, 'LoadSkipped', {
      parameters: {
        'source.$': '$.plan.source',
        'loadId.$': '$.plan.loadId',
        'dryRun.$': '$.plan.dryRun',
        status: 'SKIPPED',
        'runningLoad.$': '$.plan.runningLoad',
        objects: 0,
        events: 0,
        rowsLoaded: 0,
        rowsDiscarded: 0,
        tables: [],
      },
    });
    const definition = sfn.Chain.start(planLoad).next(
      new sfn.Choice(this, 'AnythingToLoad?')
        .when(sfn.Condition.and(sfn.Condition.isPresent('$.plan.skipped'), sfn.Condition.booleanEquals('$.plan.skipped', true)), skipped)
        .when(sfn.Condition.numberEquals('$.plan.objects', 0), nothingToLoad)
        .otherwise(
          sfn.Chain.start(transformChunks)
            .next(prepareSchema)
            .next(
              new sfn.Choice(this, 'TestRun?')
                .when(sfn.Condition.booleanEquals('$.plan.dryRun', true), verify)
                .otherwise(sfn.Chain.start(loadTables).next(verify)),
            ),
        ),
    );
    verify.next(done);

    this.stateMachine = workflowStateMachine(this, props.stateMachineName, definition, Duration.hours(6), Object.values(functions));
  }
}

/**
 * A Standard state machine as every workflow of this project has it: X-Ray tracing, all events
 * logged (without execution data) to its own log group, and the shared findings acknowledged.
 */
export function workflowStateMachine(
  scope: Construct,
  name: string,
  definition: sfn.IChainable,
  timeout: Duration,
  functions: ReadonlyArray<ClickstreamFunction>,
): sfn.StateMachine {
  const logGroup = new logs.LogGroup(scope, 'ExecutionLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
  const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineName: name,
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    timeout,
    tracingEnabled: true,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
  });
  acknowledgeStateMachineFindings(stateMachine, functions);
  return stateMachine;
}

/** The findings every workflow role of this project has, each with its reason. */
export function acknowledgeStateMachineFindings(stateMachine: sfn.StateMachine, functions: ReadonlyArray<ClickstreamFunction>): void {
  acknowledge(
    stateMachine,
    ['AwsSolutions-IAM5[Resource::*]'],
    'X-Ray and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) accept no resource narrower than "*".',
  );
  acknowledge(
    stateMachine,
    functions.map((f) => `AwsSolutions-IAM5[Resource::${nagAtt(f)}:*]`),
    'lambda:InvokeFunction on our own functions, including their versions and aliases (the ":*" suffix), as CDK grants it.',
  );
}

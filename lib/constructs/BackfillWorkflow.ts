import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledge, nagRef, nagRegion } from '../nag';
import { ClickstreamFunction } from './ClickstreamFunction';
import { workflowStateMachine } from './LoadWorkflow';
import { lambdaStep } from './RetryPolicies';
import type { Storage } from './Storage';
import type { Warehouse } from './Warehouse';

export interface BackfillWorkflowProps {
  /** Raw bucket (listed to find windows with data); staged bucket (plan items and results). */
  readonly storage: Storage;
  /** Warehouse, read by PlanBackfill to find gaps in `missing` mode. */
  readonly warehouse: Warehouse;
  /** The load workflow that each window runs. */
  readonly loadStateMachine: sfn.IStateMachine;
  /** Environment shared by every function: sources, buckets, limits. */
  readonly environment: Record<string, string>;
  /** Name of the state machine. */
  readonly stateMachineName: string;
  /** Sources an import may write raw objects for. */
  readonly sources: ReadonlyArray<string>;
  /** ARNs of the buckets of Segment archives an import may read (List/Get on exactly these). */
  readonly archiveBuckets: ReadonlyArray<string>;
}

/**
 * A backfill over sources × hourly windows, started from the console or the CLI with
 * `{"source": "web" | ["web","app"] | "*", "from", "to", "mode": "reload" | "missing",
 * "dryRun": false, "maxConcurrency": 4}` — or an import of a Segment archive with
 * `{"source": "web", "mode": "import", "archive": {"bucket", "prefix"}, "from", "to", …}`.
 *
 * PlanBackfill validates the input and writes the windows to S3; a Distributed Map reads them in
 * batches and runs each window through the load workflow (`startExecution.sync:2`), at most
 * `maxConcurrency` at once; a failed window is recorded and never stops the others; Summarize
 * reports per window and in total, with the input that re-runs only the failed windows. An import
 * first runs the archive's objects through ImportArchive (a Distributed Map of batches of
 * objects, `maxConcurrency` at once), then plans the hours they were received in as windows.
 */
export class BackfillWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** The roles that read a Segment archive: PlanBackfill lists it, ImportArchive gets its objects. */
  public readonly archiveReaderRoleArns: string[];
  public readonly functions: Readonly<Record<'planBackfill' | 'importArchive' | 'recordWindows' | 'summarizeBackfill', ClickstreamFunction>>;

  constructor(scope: Construct, id: string, props: BackfillWorkflowProps) {
    super(scope, id);
    const environment = { ...props.environment, ...props.warehouse.dataApiEnvironment };
    const archiveEnvironment = { ...environment, ARCHIVE_BUCKETS: JSON.stringify(props.archiveBuckets.map((arn) => arn.split(':::')[1])) };
    const functions = {
      planBackfill: new ClickstreamFunction(this, 'PlanBackfillFunction', {
        functionDir: 'plan-backfill',
        description: "Validates a backfill request and writes its (source, hour) windows, or an import's archive objects, to S3",
        environment: archiveEnvironment,
        timeout: Duration.minutes(5),
        role: props.warehouse.userRole,
      }),
      importArchive: new ClickstreamFunction(this, 'ImportArchiveFunction', {
        functionDir: 'import-archive',
        description: 'Imports a batch of Segment archive objects as raw objects of the hours they were received in',
        environment: archiveEnvironment,
        timeout: Duration.minutes(15),
        memorySize: 2048,
      }),
      recordWindows: new ClickstreamFunction(this, 'RecordWindowsFunction', {
        functionDir: 'record-windows',
        description: 'Writes the results of one batch of backfill windows to S3',
        environment,
      }),
      summarizeBackfill: new ClickstreamFunction(this, 'SummarizeBackfillFunction', {
        functionDir: 'summarize-backfill',
        description: 'Summarizes a backfill per window and in total, with a re-run input for failures',
        environment,
        timeout: Duration.minutes(5),
      }),
    };
    this.functions = functions;
    this.archiveReaderRoleArns = [props.warehouse.userRole.roleArn, (functions.importArchive.role as iam.IRole).roleArn];
    props.storage.grantRawRead(functions.planBackfill);
    props.storage.grantRawImport(functions.importArchive, props.sources);
    props.storage.grantSuppressionRead(functions.importArchive);
    for (const f of Object.values(functions)) props.storage.grantStagedReadWrite(f);
    if (props.archiveBuckets.length > 0) {
      // Exactly the configured archives: PlanBackfill lists their days, ImportArchive reads their objects.
      functions.planBackfill.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [...props.archiveBuckets] }));
      functions.importArchive.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: props.archiveBuckets.map((arn) => `${arn}/*`) }));
      acknowledge(
        functions.importArchive,
        props.archiveBuckets.map((arn) => `AwsSolutions-IAM5[Resource::${arn}/*]`),
        'Archive object keys (received day, opaque file names) are only known at run time; s3:GetObject on the configured archive buckets only.',
      );
    }

    const invoke = (stateId: string, lambdaFunction: ClickstreamFunction, payload: Record<string, unknown>, resultPath: string) =>
      lambdaStep(this, stateId, lambdaFunction, payload, resultPath, Duration.minutes(6));

    const planBackfill = invoke(
      'PlanBackfill',
      functions.planBackfill,
      {
        'request.$': '$',
        'executionId.$': '$$.Execution.Id',
        'executionName.$': '$$.Execution.Name',
      },
      '$.plan',
    );
    const rejected = new sfn.Fail(this, 'BackfillRejected', { errorPath: '$.PlanBackfillError.Error', causePath: '$.PlanBackfillError.Cause' });
    planBackfill.addCatch(rejected, { errors: ['States.ALL'], resultPath: '$.PlanBackfillError' });

    // One window: a full load execution of that source and hour (reload; after an import, what is not loaded yet).
    const loadWindow = new tasks.StepFunctionsStartExecution(this, 'LoadWindow', {
      stateMachine: props.loadStateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      associateWithParent: true,
      input: sfn.TaskInput.fromObject({
        'source.$': '$.window.source',
        window: { 'from.$': '$.window.from', 'to.$': '$.window.to' },
        'mode.$': '$.loadMode',
        'dryRun.$': '$.dryRun',
      }),
      resultSelector: { 'executionArn.$': '$.ExecutionArn', 'startDate.$': '$.StartDate', 'stopDate.$': '$.StopDate', 'output.$': '$.Output' },
      resultPath: '$.load',
      taskTimeout: sfn.Timeout.duration(Duration.hours(6)),
    });
    const windowLoaded = new sfn.Pass(this, 'WindowLoaded', {
      parameters: { 'window.$': '$.window', status: 'SUCCEEDED', 'load.$': '$.load' },
    });
    const windowFailed = new sfn.Pass(this, 'WindowFailed', {
      parameters: { 'window.$': '$.window', status: 'FAILED', 'error.$': '$.LoadWindowError.Error', 'cause.$': '$.LoadWindowError.Cause' },
    });
    loadWindow.addCatch(windowFailed, { errors: ['States.ALL'], resultPath: '$.LoadWindowError' });

    // A batch of windows runs one after the other, so `maxConcurrency` batches = as many loads.
    const loadBatch = new sfn.Map(this, 'LoadBatch', {
      itemsPath: '$.Items',
      itemSelector: { 'window.$': '$$.Map.Item.Value', 'dryRun.$': '$.BatchInput.dryRun', 'loadMode.$': '$.BatchInput.loadMode' },
      maxConcurrency: 1,
      resultPath: '$.results',
    }).itemProcessor(sfn.Chain.start(loadWindow).next(windowLoaded));
    const recordWindows = invoke(
      'RecordWindows',
      functions.recordWindows,
      {
        'backfillId.$': '$.BatchInput.backfillId',
        'results.$': '$.results',
      },
      '$.recorded',
    );
    const batchDone = new sfn.Pass(this, 'BatchRecorded', { parameters: { 'windows.$': '$.recorded.windows' } });

    const loadWindows = new sfn.DistributedMap(this, 'LoadWindows', {
      itemReader: new sfn.S3JsonItemReader({ bucket: props.storage.stagedBucket, key: sfn.JsonPath.stringAt('$.plan.itemsKey') }),
      itemBatcher: new sfn.ItemBatcher({
        maxItemsPerBatchPath: '$.plan.windowsPerBatch',
        batchInput: { 'backfillId.$': '$.plan.backfillId', 'dryRun.$': '$.plan.dryRun', 'loadMode.$': '$.plan.loadMode' },
      }),
      maxConcurrencyPath: '$.plan.maxConcurrency',
      toleratedFailurePercentagePath: '$.plan.toleratedFailurePercentage',
      mapExecutionType: sfn.StateMachineType.STANDARD,
      label: 'LoadWindows',
      resultPath: sfn.JsonPath.DISCARD,
    });
    loadWindows.itemProcessor(sfn.Chain.start(loadBatch).next(recordWindows).next(batchDone));

    const summarize = invoke(
      'Summarize',
      functions.summarizeBackfill,
      {
        'plan.$': '$.plan',
        'executionId.$': '$$.Execution.Id',
        'startedAt.$': '$$.Execution.StartTime',
      },
      '$.summary',
    );
    loadWindows.addCatch(summarize, { errors: ['States.ALL'], resultPath: '$.LoadWindowsError' });

    const outcome = new sfn.Choice(this, 'WithinTolerance?')
      .when(
        sfn.Condition.stringEquals('$.summary.status', 'FAILED'),
        new sfn.Fail(this, 'BackfillFailed', { error: 'BackfillFailed', causePath: '$.summary.message' }),
      )
      .otherwise(new sfn.Pass(this, 'BackfillSucceeded', { outputPath: '$.summary' }));

    const anyWindows = new sfn.Choice(this, 'AnyWindows?').when(sfn.Condition.numberEquals('$.plan.windows', 0), summarize).otherwise(loadWindows);

    // mode "import": batches of archive objects become raw objects, then their hours are planned as windows.
    const importBatch = invoke('ImportBatch', functions.importArchive, { 'Items.$': '$.Items', 'BatchInput.$': '$.BatchInput' }, '$.imported');
    const importArchive = new sfn.DistributedMap(this, 'ImportArchive', {
      itemReader: new sfn.S3JsonItemReader({ bucket: props.storage.stagedBucket, key: sfn.JsonPath.stringAt('$.plan.import.itemsKey') }),
      itemBatcher: new sfn.ItemBatcher({
        maxItemsPerBatchPath: '$.plan.import.objectsPerBatch',
        batchInput: {
          'backfillId.$': '$.plan.backfillId',
          'source.$': '$.plan.sources[0]',
          'bucket.$': '$.plan.import.bucket',
          'prefix.$': '$.plan.import.prefix',
          'dryRun.$': '$.plan.dryRun',
        },
      }),
      maxConcurrencyPath: '$.plan.maxConcurrency',
      mapExecutionType: sfn.StateMachineType.STANDARD,
      label: 'ImportArchive',
      resultPath: sfn.JsonPath.DISCARD,
    });
    importArchive.itemProcessor(importBatch);
    importArchive.addCatch(new sfn.Fail(this, 'ImportFailed', { errorPath: '$.ImportArchiveError.Error', causePath: '$.ImportArchiveError.Cause' }), {
      errors: ['States.ALL'],
      resultPath: '$.ImportArchiveError',
    });
    const planImported = invoke(
      'PlanImportedWindows',
      functions.planBackfill,
      {
        'imported.$': '$.plan',
        'executionId.$': '$$.Execution.Id',
        'executionName.$': '$$.Execution.Name',
      },
      '$.plan',
    );
    importArchive.next(planImported).next(anyWindows);

    const definition = sfn.Chain.start(planBackfill).next(
      new sfn.Choice(this, 'Import?').when(sfn.Condition.stringEquals('$.plan.mode', 'import'), importArchive).otherwise(anyWindows),
    );
    loadWindows.next(summarize);
    summarize.next(outcome);

    this.stateMachine = workflowStateMachine(this, props.stateMachineName, definition, Duration.days(7), Object.values(functions));
    const executionsOf = (machine: sfn.IStateMachine) =>
      `arn:<AWS::Partition>:states:${nagRegion(this)}:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${nagRef(machine).slice(1, -1)}"}]}]}`;
    acknowledge(
      this.stateMachine,
      [
        `AwsSolutions-IAM5[Resource::${executionsOf(props.loadStateMachine)}*]`,
        `AwsSolutions-IAM5[Resource::${executionsOf(this.stateMachine)}:*]`,
        `AwsSolutions-IAM5[Resource::${executionsOf(this.stateMachine)}/LoadWindows:*]`,
        `AwsSolutions-IAM5[Resource::${executionsOf(this.stateMachine)}/ImportArchive:*]`,
      ],
      "startExecution.sync and the Distributed Map manage executions whose names are chosen at run time: Describe/Stop on executions of the load workflow and of this workflow's own map run only.",
    );
    acknowledge(
      this.stateMachine,
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${nagRef(props.storage.stagedBucket)}/*]`],
      'The Distributed Maps read the backfill plan and the archive object list from keys chosen at run time; s3:GetObject on the staged bucket only.',
    );
  }
}

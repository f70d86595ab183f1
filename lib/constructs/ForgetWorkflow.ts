import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledge, nagRef, nagRegion } from '../nag';
import { REAL_TIME_WAIT } from '../outputs';
import { ClickstreamFunction } from './ClickstreamFunction';
import { workflowStateMachine } from './LoadWorkflow';
import { lambdaStep } from './RetryPolicies';
import type { Storage } from './Storage';
import type { Warehouse } from './Warehouse';

export interface ForgetWorkflowProps {
  readonly storage: Storage;
  readonly warehouse: Warehouse;
  /** Environment shared by every function: sources, buckets, limits. */
  readonly environment: Record<string, string>;
  readonly stateMachineName: string;
}

/**
 * Erasure of identities (GDPR/CCPA), started from the console or `npx clickstream forget` with
 * `{"source": "web" | ["web","app"] | "*", "userIds": […], "anonymousIds": […], "dryRun": false}`.
 *
 * PlanForget expands the ids, suppresses them and lists every object of the sources; Settle waits
 * until every collector and Firehose buffer sees the suppression; a Distributed Map rewrites the
 * raw, quarantined and staged objects without their lines; EraseRows deletes their rows table by
 * table, fixes the ledger and records a receipt per source, which is the execution's output.
 */
export class ForgetWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly functions: Readonly<Record<'planForget' | 'rewriteObjects' | 'eraseRows', ClickstreamFunction>>;

  constructor(scope: Construct, id: string, props: ForgetWorkflowProps) {
    super(scope, id);
    const environment = { ...props.environment, ...props.warehouse.dataApiEnvironment };
    const functions = {
      planForget: new ClickstreamFunction(this, 'PlanForgetFunction', {
        functionDir: 'plan-forget',
        description: 'Checks a forget request, expands and suppresses its identities, lists the objects to rewrite',
        environment,
        timeout: Duration.minutes(10),
        role: props.warehouse.userRole,
      }),
      rewriteObjects: new ClickstreamFunction(this, 'RewriteObjectsFunction', {
        functionDir: 'rewrite-objects',
        description: 'Removes the lines of erased identities from a batch of raw, quarantined and staged objects',
        environment,
        timeout: Duration.minutes(10),
        memorySize: 1024,
      }),
      eraseRows: new ClickstreamFunction(this, 'EraseRowsFunction', {
        functionDir: 'erase-rows',
        description: 'Deletes the rows of erased identities table by table and records the receipt',
        environment,
        timeout: Duration.minutes(15),
        role: props.warehouse.userRole,
      }),
    };
    this.functions = functions;
    props.storage.grantRawRead(functions.planForget);
    props.storage.grantSuppressionWrite(functions.planForget);
    props.storage.grantRawRewrite(functions.rewriteObjects);
    props.storage.grantSuppressionRead(functions.rewriteObjects);
    for (const f of Object.values(functions)) props.storage.grantStagedReadWrite(f);

    const invoke = (stateId: string, lambdaFunction: ClickstreamFunction, payload: Record<string, unknown>, resultPath: string) =>
      lambdaStep(this, stateId, lambdaFunction, payload, resultPath, Duration.minutes(16));

    const plan = invoke(
      'PlanForget',
      functions.planForget,
      {
        'request.$': '$',
        'executionName.$': '$$.Execution.Name',
        'startedAt.$': '$$.Execution.StartTime',
      },
      '$.plan',
    );
    plan.addCatch(new sfn.Fail(this, 'ForgetRejected', { errorPath: '$.PlanForgetError.Error', causePath: '$.PlanForgetError.Cause' }), {
      errors: ['States.ALL'],
      resultPath: '$.PlanForgetError',
    });

    // Waits out a clock outside Step Functions: local mode runs it in real time (its Comment says so).
    const settle = new sfn.Wait(this, 'Settle', {
      time: sfn.WaitTime.secondsPath('$.plan.settleSeconds'),
      comment: `${REAL_TIME_WAIT} until every collector has re-read the suppression list and every Firehose buffer it fed is delivered`,
    });

    const rewrite = invoke('RewriteBatch', functions.rewriteObjects, { 'Items.$': '$.Items', 'BatchInput.$': '$.BatchInput' }, '$.rewritten');
    const rewriteObjects = new sfn.DistributedMap(this, 'RewriteObjects', {
      itemReader: new sfn.S3JsonItemReader({ bucket: props.storage.stagedBucket, key: sfn.JsonPath.stringAt('$.plan.itemsKey') }),
      itemBatcher: new sfn.ItemBatcher({
        maxItemsPerBatchPath: '$.plan.itemsPerBatch',
        batchInput: { 'requestId.$': '$.plan.requestId', 'dryRun.$': '$.plan.dryRun' },
      }),
      maxConcurrencyPath: '$.plan.maxConcurrency',
      mapExecutionType: sfn.StateMachineType.STANDARD,
      label: 'RewriteObjects',
      resultPath: sfn.JsonPath.DISCARD,
    });
    rewriteObjects.itemProcessor(rewrite);

    const erase = invoke(
      'EraseRows',
      functions.eraseRows,
      {
        'source.$': '$.source.source',
        'plan.$': '$.source',
        'requestId.$': '$.requestId',
        'dryRun.$': '$.dryRun',
        'startedAt.$': '$.startedAt',
      },
      '$',
    );
    const eraseSources = new sfn.Map(this, 'EraseSources', {
      itemsPath: '$.plan.sources',
      itemSelector: { 'source.$': '$$.Map.Item.Value', 'requestId.$': '$.plan.requestId', 'dryRun.$': '$.plan.dryRun', 'startedAt.$': '$.plan.startedAt' },
      maxConcurrency: 1,
      resultPath: '$.receipts',
    }).itemProcessor(erase);
    const done = new sfn.Pass(this, 'Forgotten', {
      parameters: { 'requestId.$': '$.plan.requestId', 'dryRun.$': '$.plan.dryRun', 'receipts.$': '$.receipts' },
    });

    const anyItems = new sfn.Choice(this, 'AnyObjects?').when(sfn.Condition.numberEquals('$.plan.items', 0), eraseSources).otherwise(rewriteObjects);
    rewriteObjects.next(eraseSources);
    eraseSources.next(done);
    const definition = sfn.Chain.start(plan).next(settle).next(anyItems);

    this.stateMachine = workflowStateMachine(this, props.stateMachineName, definition, Duration.days(1), Object.values(functions));
    const executions = `arn:<AWS::Partition>:states:${nagRegion(this)}:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${nagRef(this.stateMachine).slice(1, -1)}"}]}]}`;
    acknowledge(
      this.stateMachine,
      [`AwsSolutions-IAM5[Resource::${executions}:*]`, `AwsSolutions-IAM5[Resource::${executions}/RewriteObjects:*]`],
      "The Distributed Map manages child executions whose names are chosen at run time: Describe/Stop on this workflow's own map run only.",
    );
    acknowledge(
      this.stateMachine,
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${nagRef(props.storage.stagedBucket)}/*]`],
      "The Distributed Map reads the request's item list from a key chosen at run time; s3:GetObject on the staged bucket only.",
    );
  }
}

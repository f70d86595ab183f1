import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ClickstreamFunction } from './ClickstreamFunction';
import { workflowStateMachine } from './LoadWorkflow';
import { lambdaStep } from './RetryPolicies';
import type { Storage } from './Storage';
import type { Warehouse } from './Warehouse';

export interface VerifyWorkflowProps {
  /** Raw bucket (listed; read only where no load counted an object), staged bucket (reports). */
  readonly storage: Storage;
  /** Warehouse: the ledger, the `_ids` registry and the call tables. */
  readonly warehouse: Warehouse;
  /** Environment shared by every function: sources, buckets, limits. */
  readonly environment: Record<string, string>;
  readonly stateMachineName: string;
}

/**
 * The scheduled verification of one source: `{"source": "web", "from"?, "to"?}` (default: the
 * previous UTC day). Succeeds when accepted = loaded + discarded in every hour; otherwise fails
 * with the hours and the repair command, which raises the alarm.
 */
export class VerifyWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly function: ClickstreamFunction;

  constructor(scope: Construct, id: string, props: VerifyWorkflowProps) {
    super(scope, id);
    this.function = new ClickstreamFunction(this, 'VerifyHoursFunction', {
      functionDir: 'verify-hours',
      description: 'Verifies accepted = loaded + discarded per hour of a source; writes the report to S3',
      environment: { ...props.environment, ...props.warehouse.dataApiEnvironment },
      timeout: Duration.minutes(10),
      memorySize: 1024,
      role: props.warehouse.userRole,
    });
    props.storage.grantRawRead(this.function);
    props.storage.grantStagedReadWrite(this.function);

    const verify = lambdaStep(
      this,
      'VerifyHours',
      this.function,
      { 'request.$': '$', 'executionName.$': '$$.Execution.Name' },
      '$.report',
      Duration.minutes(11),
    );
    const definition = sfn.Chain.start(verify).next(
      new sfn.Choice(this, 'AllHoursAddUp?')
        .when(sfn.Condition.booleanEquals('$.report.ok', true), new sfn.Pass(this, 'Verified', { outputPath: '$.report' }))
        .otherwise(new sfn.Fail(this, 'HoursDoNotAddUp', { error: 'VerificationFailed', causePath: '$.report.message' })),
    );
    this.stateMachine = workflowStateMachine(this, props.stateMachineName, definition, Duration.hours(1), [this.function]);
  }
}

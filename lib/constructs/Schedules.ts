import { Duration } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface ScheduledSource {
  readonly name: string;
  /** EventBridge Scheduler expression, e.g. `rate(5 minutes)`. */
  readonly schedule: string;
  /** Scheduled loads run only for sources whose `load` flag is on. */
  readonly load: boolean;
  /** Scheduled loads of this source are test runs. */
  readonly dryRun: boolean;
}

export interface SchedulesProps {
  readonly sources: ReadonlyArray<ScheduledSource>;
  /** The load workflow the schedules start. */
  readonly loadStateMachine: sfn.IStateMachine;
  /** Prefix of schedule names, e.g. `clickstream-prod`. */
  readonly namePrefix: string;
}

/**
 * One EventBridge Scheduler schedule per source whose `load` flag is on, starting the load
 * workflow with `{"source": name}` (plus `"dryRun": true` for sources in test mode). A missed
 * tick is not retried for long: the next one loads everything pending anyway.
 */
export class Schedules extends Construct {
  /** Schedule per source name (only sources with `load` on). */
  public readonly schedules: ReadonlyMap<string, scheduler.Schedule>;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const schedules = new Map<string, scheduler.Schedule>();
    for (const source of props.sources) {
      if (!source.load) continue;
      const input: Record<string, unknown> = { source: source.name };
      if (source.dryRun) input.dryRun = true;
      schedules.set(
        source.name,
        new scheduler.Schedule(this, `Load-${source.name}`, {
          scheduleName: `${props.namePrefix}-load-${source.name}`,
          description: `Loads pending events of source ${source.name} into the warehouse`,
          schedule: scheduler.ScheduleExpression.expression(source.schedule),
          target: new targets.StepFunctionsStartExecution(props.loadStateMachine, {
            input: scheduler.ScheduleTargetInput.fromObject(input),
            retryAttempts: 2,
            maxEventAge: Duration.minutes(5),
          }),
        }),
      );
    }
    this.schedules = schedules;
  }
}

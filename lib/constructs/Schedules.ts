import { Duration, TimeZone } from 'aws-cdk-lib';
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
  /** The verification workflow, started daily per loaded source for the previous UTC day. */
  readonly verifyStateMachine?: sfn.IStateMachine;
  /** When the daily verification runs (UTC). @default cron(30 1 * * ? *) */
  readonly verifySchedule?: string;
  /** Prefix of schedule names, e.g. `clickstream-prod`. */
  readonly namePrefix: string;
}

/**
 * One EventBridge Scheduler schedule per source whose `load` flag is on, starting the load
 * workflow with `{"source": name}` (plus `"dryRun": true` for sources in test mode). A missed
 * tick is not retried for long: the next one loads everything pending anyway. And, with a
 * verification workflow, one daily schedule per such source that verifies the previous UTC day.
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
    if (props.verifyStateMachine) {
      for (const source of props.sources) {
        if (!source.load || source.dryRun) continue;
        new scheduler.Schedule(this, `Verify-${source.name}`, {
          scheduleName: `${props.namePrefix}-verify-${source.name}`,
          description: `Verifies yesterday's hours of source ${source.name}: accepted = loaded + discarded`,
          schedule: scheduler.ScheduleExpression.expression(props.verifySchedule ?? 'cron(30 1 * * ? *)', TimeZone.ETC_UTC),
          target: new targets.StepFunctionsStartExecution(props.verifyStateMachine, {
            input: scheduler.ScheduleTargetInput.fromObject({ source: source.name }),
            retryAttempts: 2,
            maxEventAge: Duration.hours(1),
          }),
        });
      }
    }
  }
}

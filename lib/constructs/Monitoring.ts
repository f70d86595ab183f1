import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC_NAMES, METRIC_SERVICES, METRICS_NAMESPACE } from '../../lambdas/core/metrics';
import type { SourceStreams } from './SourceStreams';

export interface MonitoredSource {
  readonly name: string;
  readonly schedule: string;
  readonly load: boolean;
  /** A test-run source writes nothing, so its backlog never empties. @default false */
  readonly dryRun?: boolean;
}

export interface MonitoringProps {
  readonly loadStateMachine: sfn.IStateMachine;
  readonly backfillStateMachine: sfn.IStateMachine;
  /** The daily verification: a failed execution means some hour does not add up. */
  readonly verifyStateMachine?: sfn.IStateMachine;
  /** Server errors answered by the collector. */
  readonly collector5xx: cloudwatch.IMetric;
  /** Receives every alarm. @default no subscription */
  readonly alarmEmail?: string;
}

/** Seconds between scheduled loads for `rate(...)` expressions; undefined for cron. */
export function scheduleIntervalSeconds(expression: string): number | undefined {
  const m = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/.exec(expression);
  if (!m) return undefined;
  const unit = m[2].startsWith('minute') ? 60 : m[2].startsWith('hour') ? 3600 : 86400;
  return Number(m[1]) * unit;
}

/**
 * Alarms on what loses or delays data — failed load and backfill executions, the age of the
 * oldest unloaded raw object per source, Firehose delivery errors, collector 5xx — all
 * publishing to one encrypted SNS topic.
 */
export class Monitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const key = new kms.Key(this, 'TopicKey', { enableKeyRotation: true, description: 'Encrypts the clickstream alarm topic' });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'AlarmTopic', { masterKey: key, enforceSSL: true, displayName: 'Clickstream alarms' });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const alarm = alarmTo(this, this.topic, this.alarms);
    const fiveMinutes = Duration.minutes(5);

    alarm('LoadExecutionsFailed', {
      alarmDescription:
        'A load execution failed, timed out or was aborted: events may be waiting. Look at the failed execution; the next scheduled load retries the same objects.',
      metric: props.loadStateMachine.metricFailed({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('BackfillExecutionsFailed', {
      alarmDescription: 'A backfill failed beyond its tolerated failure percentage. Its summary has the input that re-runs only the failed windows.',
      metric: props.backfillStateMachine.metricFailed({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.verifyStateMachine) {
      alarm('VerificationFailed', {
        alarmDescription:
          'The daily verification found hours where accepted ≠ loaded + discarded. The failed execution names them; repair with npx clickstream verify --source NAME --from … --to … --repair.',
        // A day long, so the alarm stays raised until the next verification passes.
        metric: props.verifyStateMachine.metricFailed({ period: Duration.days(1), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    alarm('Collector5xx', {
      alarmDescription: 'The collector answered 5xx: clients retry, but a lasting error loses traffic from clients that give up.',
      metric: props.collector5xx,
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}

/** Makes alarms in `scope` that notify `topic` when raised and when cleared. */
function alarmTo(scope: Construct, topic: sns.ITopic, made: cloudwatch.Alarm[]) {
  const action = new actions.SnsAction(topic);
  return (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
    const a = new cloudwatch.Alarm(scope, alarmId, alarmProps);
    a.addAlarmAction(action);
    a.addOkAction(action);
    made.push(a);
    return a;
  };
}

export interface SourceAlarmsProps {
  readonly sources: ReadonlyArray<MonitoredSource>;
  readonly streams: SourceStreams;
  /** The environment's alarm topic (the Monitoring construct's). */
  readonly topic: sns.ITopic;
}

/**
 * Alarms of each source: Firehose delivery errors, objects set aside, and the age of the oldest
 * unloaded raw object. They live beside the source's other resources (its source group).
 */
export class SourceAlarms extends Construct {
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: SourceAlarmsProps) {
    super(scope, id);
    const alarm = alarmTo(this, props.topic, this.alarms);
    const fiveMinutes = Duration.minutes(5);
    for (const source of props.sources) {
      alarm(`DeliveryErrors-${source.name}`, {
        alarmDescription: `Firehose failed to deliver records of source ${source.name} to S3. It retries for up to 24 hours, then drops them: fix the cause (bucket policy, KMS, S3 errors) within that time.`,
        metric: props.streams.metricDeliverySuccess(source.name),
        threshold: 1,
        evaluationPeriods: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (source.load && !source.dryRun) {
        alarm(`ObjectsSetAside-${source.name}`, {
          alarmDescription: `A raw object of source ${source.name} failed every load on its own and was set aside: its events are not loaded. See \`npx clickstream status\`; fix the cause, then reload its hour with a backfill.`,
          metric: new cloudwatch.Metric({
            namespace: METRICS_NAMESPACE,
            metricName: METRIC_NAMES.objectsSetAside,
            dimensionsMap: { service: METRIC_SERVICES.loader, Source: source.name },
            statistic: 'Sum',
            period: fiveMinutes,
          }),
          threshold: 0,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
      }
      // A source that is not loaded, or loaded as a test run, never empties its backlog: a lag
      // alarm on it could never clear.
      if (!source.load || source.dryRun) continue;
      const interval = scheduleIntervalSeconds(source.schedule) ?? 3600;
      alarm(`LoadLag-${source.name}`, {
        alarmDescription: `The oldest unloaded raw object of source ${source.name} is older than three load intervals plus 15 minutes, or loads stopped reporting.`,
        metric: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: METRIC_NAMES.oldestPendingObjectAge,
          // Exactly the dimension set PlanLoad publishes with (Powertools adds `service`).
          dimensionsMap: { service: METRIC_SERVICES.loader, Source: source.name },
          statistic: 'Maximum',
          period: Duration.seconds(Math.max(300, interval)),
        }),
        threshold: 3 * interval + 900,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        // No data means PlanLoad did not run: that is an outage, not health.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
  }
}

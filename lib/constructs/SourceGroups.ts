import { ArnFormat, type Duration, NestedStack, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { sourceParameterPath, sourceParameterValue } from '../../lambdas/core/sourceDirectory';
import type { SourceConfig } from '../config/schema';
import { SourceAlarms } from './Monitoring';
import { Schedules } from './Schedules';
import { SourceStreams } from './SourceStreams';

/**
 * Sources per nested stack. A source brings 10 resources (stream, its role, policy and log stream,
 * 2 schedules, 3 alarms, its parameter): 40 sources stay well under CloudFormation's 500 resources
 * and 200 outputs per template, and the parent stack does not grow with the number of sources.
 */
export const SOURCES_PER_GROUP = 40;

export interface SourceGroupsProps {
  readonly sources: ReadonlyArray<SourceConfig>;
  readonly rawBucket: s3.IBucket;
  /** Prefix of resource names, e.g. `clickstream-prod`. */
  readonly namePrefix: string;
  readonly bufferingInterval: Duration;
  readonly bufferingSizeMiB: number;
  readonly loadStateMachine: sfn.IStateMachine;
  readonly verifyStateMachine: sfn.IStateMachine;
  /** The environment's alarm topic. */
  readonly topic: sns.ITopic;
}

type GroupProps = Omit<SourceGroupsProps, 'sources'> & { readonly sources: ReadonlyArray<SourceConfig> };

/**
 * The resources of up to {@link SOURCES_PER_GROUP} sources, in a nested stack of their own: each
 * source's Firehose stream, load and verify schedules, alarms, and its Parameter Store entry (its
 * write keys as SHA-256 digests, stream and flags — what the collector reads instead of its
 * environment).
 */
export class SourceGroup extends NestedStack {
  public readonly streams: SourceStreams;

  constructor(scope: Construct, id: string, props: GroupProps) {
    const names = props.sources.map((s) => s.name);
    super(scope, id, { description: `Clickstream sources ${names[0]}${names.length > 1 ? ` … ${names[names.length - 1]}` : ''} (${names.length})` });
    this.streams = new SourceStreams(this, 'SourceStreams', {
      sources: props.sources,
      rawBucket: props.rawBucket,
      namePrefix: props.namePrefix,
      bufferingInterval: props.bufferingInterval,
      bufferingSizeMiB: props.bufferingSizeMiB,
    });
    new Schedules(this, 'Schedules', {
      sources: props.sources,
      loadStateMachine: props.loadStateMachine,
      verifyStateMachine: props.verifyStateMachine,
      namePrefix: props.namePrefix,
    });
    new SourceAlarms(this, 'Alarms', { sources: props.sources, streams: this.streams, topic: props.topic });
    for (const source of props.sources) {
      const stream = this.streams.streams.get(source.name) as firehose.CfnDeliveryStream;
      new ssm.StringParameter(this, `Parameter-${source.name}`, {
        parameterName: `${sourceParameterPath(props.namePrefix)}/${source.name}`,
        description: `Clickstream source ${source.name}: write key digests, stream and flags (read by the collector)`,
        tier: ssm.ParameterTier.STANDARD,
        stringValue: sourceParameterValue({ ...source, stream: stream.deliveryStreamName as string }),
      });
    }
  }
}

/** Every source of the environment, in {@link SourceGroup}s of {@link SOURCES_PER_GROUP}. */
export class SourceGroups extends Construct {
  public readonly groups: SourceGroup[] = [];
  /** Delivery stream per source name. */
  public readonly streams = new Map<string, firehose.CfnDeliveryStream>();
  /** Parameter Store path of the sources, e.g. `/clickstream-prod/sources`. */
  public readonly parameterPath: string;

  constructor(scope: Construct, id: string, props: SourceGroupsProps) {
    super(scope, id);
    this.parameterPath = sourceParameterPath(props.namePrefix);
    for (let i = 0; i < props.sources.length; i += SOURCES_PER_GROUP) {
      const group = new SourceGroup(this, `Group${i / SOURCES_PER_GROUP + 1}`, { ...props, sources: props.sources.slice(i, i + SOURCES_PER_GROUP) });
      for (const [name, stream] of group.streams.streams) this.streams.set(name, stream);
      this.groups.push(group);
    }
  }

  /** PutRecord/PutRecordBatch on every source's stream. */
  public grantPutRecords(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
      resourceArns: [...this.streams.values()].map((s) => s.attrArn),
    });
  }

  /** GetParametersByPath on the sources' path (authorized against the path itself, "How Parameter Store authorizes parameter retrieval"). */
  public grantReadSources(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:GetParametersByPath'],
      resourceArns: [
        Stack.of(this).formatArn({
          service: 'ssm',
          resource: 'parameter',
          resourceName: this.parameterPath.slice(1),
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        }),
      ],
    });
  }
}

import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, nagAtt } from '../nag';
import { scheduleIntervalSeconds } from './Monitoring';
import { bufferSecondsFor, FIREHOSE_DEFAULTS } from '../config/buffering';
import { FIREHOSE_ERROR_PREFIX, rawPrefix } from './Storage';

export interface SourceStreamsProps {
  /** Sources that get a stream each; a source loaded more often than every 4 buffer intervals gets a shorter buffer. */
  readonly sources: ReadonlyArray<{ readonly name: string; readonly schedule?: string }>;
  /** Bucket that receives `<source>/YYYY/MM/DD/HH/*.gz`. */
  readonly rawBucket: s3.IBucket;
  /** Prefix of delivery stream names, e.g. `clickstream-prod`. */
  readonly namePrefix: string;
  /** Lower is fresher, higher gives bigger objects; at most a quarter of a source's load interval. @default Duration.seconds(60) */
  readonly bufferingInterval?: Duration;
  /** @default 64 */
  readonly bufferingSizeMiB?: number;
}

export { bufferSecondsFor } from '../config/buffering';

export { rawPrefix };

/**
 * One Firehose delivery stream per source, delivering gzip-compressed newline-delimited events
 * to `raw/<source>/YYYY/MM/DD/HH/` (UTC hour of arrival) and failed records to an error prefix.
 * Each stream's role may write only its own source's prefixes.
 */
export class SourceStreams extends Construct {
  /** Delivery stream per source name. */
  public readonly streams: ReadonlyMap<string, firehose.CfnDeliveryStream>;

  constructor(scope: Construct, id: string, props: SourceStreamsProps) {
    super(scope, id);
    if (props.sources.length === 0) throw new Error('SourceStreams: at least one source is required');
    const interval = props.bufferingInterval ?? Duration.seconds(FIREHOSE_DEFAULTS.intervalSeconds);
    const sizeMiB = props.bufferingSizeMiB ?? FIREHOSE_DEFAULTS.sizeMiB;
    if (interval.toSeconds() > 900 || sizeMiB < 1 || sizeMiB > 128) {
      throw new Error('SourceStreams: Firehose buffers 0–900 s and 1–128 MiB');
    }
    const logGroup = new logs.LogGroup(this, 'DeliveryLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const streams = new Map<string, firehose.CfnDeliveryStream>();
    for (const source of props.sources) {
      const scopeForSource = new Construct(this, `Source-${source.name}`);
      const logStream = new logs.LogStream(scopeForSource, 'DeliveryLogStream', { logGroup, removalPolicy: RemovalPolicy.DESTROY });
      const role = new iam.Role(scopeForSource, 'DeliveryRole', {
        assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
        description: `Firehose delivery of source ${source.name} into the raw bucket`,
      });
      const policy = new iam.Policy(scopeForSource, 'DeliveryPolicy', {
        roles: [role],
        statements: [
          new iam.PolicyStatement({
            actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
            resources: [props.rawBucket.bucketArn],
          }),
          new iam.PolicyStatement({
            actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
            resources: [props.rawBucket.arnForObjects(`${rawPrefix(source.name)}*`), props.rawBucket.arnForObjects(`${FIREHOSE_ERROR_PREFIX}${source.name}/*`)],
          }),
          new iam.PolicyStatement({
            actions: ['logs:PutLogEvents'],
            resources: [
              Stack.of(this).formatArn({
                service: 'logs',
                resource: 'log-group',
                resourceName: `${logGroup.logGroupName}:log-stream:${logStream.logStreamName}`,
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              }),
            ],
          }),
        ],
      });
      const stream = new firehose.CfnDeliveryStream(scopeForSource, 'Stream', {
        deliveryStreamName: `${props.namePrefix}-${source.name}`,
        deliveryStreamType: 'DirectPut',
        deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
        extendedS3DestinationConfiguration: {
          bucketArn: props.rawBucket.bucketArn,
          roleArn: role.roleArn,
          prefix: `${rawPrefix(source.name)}!{timestamp:yyyy/MM/dd/HH}/`,
          errorOutputPrefix: `${FIREHOSE_ERROR_PREFIX}${source.name}/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/`,
          compressionFormat: 'GZIP',
          bufferingHints: {
            intervalInSeconds: bufferSecondsFor(interval.toSeconds(), source.schedule ? scheduleIntervalSeconds(source.schedule) : undefined),
            sizeInMBs: sizeMiB,
          },
          cloudWatchLoggingOptions: { enabled: true, logGroupName: logGroup.logGroupName, logStreamName: logStream.logStreamName },
        },
      });
      stream.node.addDependency(policy);
      acknowledge(
        policy,
        [
          `AwsSolutions-IAM5[Resource::${nagAtt(props.rawBucket, 'Arn', this)}/${rawPrefix(source.name)}*]`,
          `AwsSolutions-IAM5[Resource::${nagAtt(props.rawBucket, 'Arn', this)}/${FIREHOSE_ERROR_PREFIX}${source.name}/*]`,
        ],
        `Firehose names objects by hour and a random suffix at delivery time; this stream may write only its own source's prefixes.`,
      );
      streams.set(source.name, stream);
    }
    this.streams = streams;
  }

  /** Records of a source's stream that Firehose failed to deliver to S3 (Success average below 1). */
  public metricDeliverySuccess(source: string): cloudwatch.Metric {
    const stream = this.streams.get(source);
    if (!stream) throw new Error(`SourceStreams: no stream for source "${source}"`);
    return new cloudwatch.Metric({
      namespace: 'AWS/Firehose',
      metricName: 'DeliveryToS3.Success',
      dimensionsMap: { DeliveryStreamName: stream.ref },
      statistic: 'Average',
      period: Duration.minutes(5),
    });
  }
}

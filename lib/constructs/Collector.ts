import { CfnOutput, Duration, Fn, RemovalPolicy } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import { CDN_ROUTE_PATHS } from '../../lambdas/core/analyticsCdn';
import { COLLECTOR_PATHS } from '../../lambdas/core/routes';
import type { CollectorConfig } from '../config/schema';
import { ClickstreamFunction } from './ClickstreamFunction';
import type { SourceStreams } from './SourceStreams';
import { QUARANTINE_PREFIX, type Storage } from './Storage';

export interface CollectorSource {
  readonly name: string;
  readonly writeKeys: ReadonlyArray<string>;
  readonly collect: boolean;
  /** What is stored of `context.ip`. @default 'keep' */
  readonly ip?: 'keep' | 'truncate' | 'drop';
}

export interface CollectorProps {
  /** Endpoint kind, CORS, throttling and domain. */
  readonly config: CollectorConfig;
  /** Seconds the collector keeps a source's suppression list. @default 30 */
  readonly suppressionCacheSeconds?: number;
  /** Sources with their write keys and `collect` flag. */
  readonly sources: ReadonlyArray<CollectorSource>;
  /** Firehose streams the collector writes to (one per source). */
  readonly streams: SourceStreams;
  /** Buckets: invalid messages go to the raw bucket's quarantine prefix. */
  readonly storage: Storage;
}

/**
 * The Segment-compatible collector: one Lambda behind an HTTPS endpoint (an API Gateway HTTP API
 * or a Lambda function URL, per environment) with CORS for browsers, serving
 * `/v1/{batch,b,track,t,page,p,screen,s,identify,i,group,g,alias,a}`.
 */
export class Collector extends Construct {
  public readonly function: ClickstreamFunction;
  /** Base URL of the collector, `https://<host>` (clients add `/v1`). */
  public readonly url: string;
  /** The collector's host: analytics.js's `apiHost` is this plus `/v1`, its `cdnURL` is `https://` plus this. */
  public readonly host: string;
  /** Server-side errors of the collector (5xx answers). */
  public readonly metric5xx: cloudwatch.IMetric;

  constructor(scope: Construct, id: string, props: CollectorProps) {
    super(scope, id);
    const config = props.config;
    if (props.sources.length === 0) throw new Error('Collector: at least one source is required');

    this.function = new ClickstreamFunction(this, 'Function', {
      functionDir: 'collect',
      description: 'Segment HTTP Tracking API: validates, enriches and writes events to Firehose',
      memorySize: 1024,
      timeout: Duration.seconds(15),
      reservedConcurrentExecutions: config.reservedConcurrency,
      tracing: config.tracing,
      // The hot path: no START/END/REPORT lines per request (its metrics still reach CloudWatch).
      quietLogs: true,
      // The collector also serves analytics.js (what Segment's CDN serves): ship the package's
      // browser bundles with the function.
      assetFiles: [{ from: 'node_modules/@segment/analytics-next/dist/umd/*.js', to: 'analytics-next' }],
      environment: {
        COLLECTOR_SOURCES: JSON.stringify(
          props.sources.map((s) => ({
            name: s.name,
            writeKeys: s.writeKeys,
            collect: s.collect,
            ip: s.ip ?? 'keep',
            stream: props.streams.streams.get(s.name)?.deliveryStreamName,
          })),
        ),
        RAW_BUCKET: props.storage.rawBucket.bucketName,
        QUARANTINE_PREFIX,
        CONTROL_BUCKET: props.storage.controlBucket.bucketName,
        SUPPRESSION_CACHE_SECONDS: String(props.suppressionCacheSeconds ?? 30),
        ALLOWED_ORIGINS: JSON.stringify(config.allowedOrigins),
      },
    });
    props.streams.grantPutRecords(this.function);
    props.storage.grantSuppressionRead(this.function);
    props.storage.grantQuarantineWrite(this.function);

    const cors = {
      allowOrigins: [...config.allowedOrigins],
      // analytics.js sends X-Retry-Count on every retried delivery: without it a browser's
      // preflight fails and every retry is blocked.
      allowHeaders: ['content-type', 'authorization', 'content-encoding', 'x-retry-count'],
      maxAge: Duration.hours(1),
    };
    if (config.endpoint === 'function-url') {
      const url = this.function.addFunctionUrl({
        authType: lambda.FunctionUrlAuthType.NONE,
        cors: { ...cors, allowedMethods: [lambda.HttpMethod.POST, lambda.HttpMethod.GET], allowedOrigins: cors.allowOrigins, allowedHeaders: cors.allowHeaders },
      });
      this.url = url.url.replace(/\/$/, '');
      this.host = Fn.select(2, Fn.split('/', url.url));
      this.metric5xx = this.function.metric('Url5xxCount', { statistic: 'Sum', period: Duration.minutes(5) });
    } else {
      const api = new apigwv2.HttpApi(this, 'HttpApi', {
        description: 'Clickstream collector (Segment HTTP Tracking API)',
        createDefaultStage: false,
        corsPreflight: { ...cors, allowMethods: [apigwv2.CorsHttpMethod.POST, apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.OPTIONS] },
      });
      const integration = new HttpLambdaIntegration('Collect', this.function);
      for (const path of COLLECTOR_PATHS) {
        api.addRoutes({ path, methods: [apigwv2.HttpMethod.POST], integration });
      }
      for (const path of CDN_ROUTE_PATHS) {
        api.addRoutes({ path, methods: [apigwv2.HttpMethod.GET], integration });
      }
      const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
      let domainMapping: apigwv2.DomainMappingOptions | undefined;
      if (config.domainName && config.certificateArn) {
        const domainName = new apigwv2.DomainName(this, 'Domain', {
          domainName: config.domainName,
          certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', config.certificateArn),
        });
        domainMapping = { domainName };
        new CfnOutput(this, 'DomainTarget', { value: domainName.regionalDomainName, description: 'CNAME/alias target for the collector domain' });
      }
      const stage = new apigwv2.HttpStage(this, 'Stage', {
        httpApi: api,
        stageName: '$default',
        autoDeploy: true,
        throttle: { rateLimit: config.throttleRateLimit, burstLimit: config.throttleBurstLimit },
        accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs) },
        domainMapping,
      });
      this.url = config.domainName ? `https://${config.domainName}` : stage.url.replace(/\/$/, '');
      this.host = config.domainName ?? Fn.select(2, Fn.split('/', stage.url));
      this.metric5xx = api.metricServerError({ statistic: 'Sum', period: Duration.minutes(5) });
      acknowledge(api, ['AwsSolutions-APIG4'],
        'Segment clients authenticate with a write key (Basic auth or body) that the collector checks in constant time; an IAM or JWT authorizer would break every Segment library.');
    }
  }
}

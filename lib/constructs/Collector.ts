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
import { QUARANTINE_PREFIX, type Storage } from './Storage';

export interface CollectorProps {
  /** Endpoint kind, CORS, throttling and domain. */
  readonly config: CollectorConfig;
  /** Seconds the collector keeps a source's suppression list. @default 30 */
  readonly suppressionCacheSeconds?: number;
  /**
   * Parameter Store path of the sources (their write key digests, streams and flags): read at run
   * time, so the number of sources does not grow the function's environment. Grant the read with
   * `SourceGroups.grantReadSources`, the writes with `SourceGroups.grantPutRecords`.
   */
  readonly sourcesParameterPath: string;
  /** Seconds the collector keeps the sources before reading them again. @default 60 */
  readonly sourcesCacheSeconds?: number;
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
        SOURCES_PARAMETER_PATH: props.sourcesParameterPath,
        SOURCES_CACHE_SECONDS: String(props.sourcesCacheSeconds ?? 60),
        RAW_BUCKET: props.storage.rawBucket.bucketName,
        QUARANTINE_PREFIX,
        CONTROL_BUCKET: props.storage.controlBucket.bucketName,
        SUPPRESSION_CACHE_SECONDS: String(props.suppressionCacheSeconds ?? 30),
        ALLOWED_ORIGINS: JSON.stringify(config.allowedOrigins),
      },
    });
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
        cors: {
          ...cors,
          allowedMethods: [lambda.HttpMethod.POST, lambda.HttpMethod.GET],
          allowedOrigins: cors.allowOrigins,
          allowedHeaders: cors.allowHeaders,
        },
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
      acknowledge(
        api,
        ['AwsSolutions-APIG4'],
        'Segment clients authenticate with a write key (Basic auth or body) that the collector checks in constant time; an IAM or JWT authorizer would break every Segment library.',
      );
    }
  }
}

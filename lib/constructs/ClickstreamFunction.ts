import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledge } from '../nag';

/** Repository root: the folder that holds `lambdas/`. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** The CloudFormation metadata key that names a function's handler module (local mode runs it). */
export const HANDLER_METADATA_KEY = 'clickstream:handler';

export interface ClickstreamFunctionProps {
  /** Folder under `lambdas/` whose `handler.ts` exports `handler`, e.g. `plan-load`. */
  readonly functionDir: string;
  /** What the function does, shown in the console. */
  readonly description: string;
  /** Environment variables (configuration only, never secrets). @default {} */
  readonly environment?: Record<string, string>;
  /** @default Duration.seconds(60) */
  readonly timeout?: Duration;
  /** @default 1024 */
  readonly memorySize?: number;
  /** Execution role, when several functions must act as one identity (the warehouse user). @default a role of its own */
  readonly role?: iam.IRole;
  /** Reserved concurrency. @default no reservation */
  readonly reservedConcurrentExecutions?: number;
  /** X-Ray active tracing. @default true */
  readonly tracing?: boolean;
  /**
   * Log warnings and errors only, both the function's and Lambda's own lines (START, END,
   * REPORT): a hot path saves the ingestion cost of ~300 bytes per invocation. @default false
   */
  readonly quietLogs?: boolean;
  /**
   * Files copied into the function's asset after bundling: `from` is a glob relative to the
   * project root, `to` a folder next to the bundled handler. @default none
   */
  readonly assetFiles?: ReadonlyArray<{ readonly from: string; readonly to: string }>;
  /** Days of CloudWatch Logs retention. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY (logs only) */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A Lambda function of this project: Node.js on ARM64, bundled by esbuild from
 * `lambdas/<functionDir>/handler.ts`, with X-Ray tracing (by default), structured JSON logs in its own log
 * group, and metadata that lets local mode run the same handler module.
 */
export class ClickstreamFunction extends nodejs.NodejsFunction {
  /** Path of the handler module relative to the project root. */
  public readonly handlerModule: string;

  constructor(scope: Construct, id: string, props: ClickstreamFunctionProps) {
    if (!/^[a-z][a-z0-9-]*$/.test(props.functionDir)) {
      throw new Error(`ClickstreamFunction ${id}: functionDir "${props.functionDir}" must be a folder name under lambdas/ such as "plan-load"`);
    }
    const handlerModule = `lambdas/${props.functionDir}/handler.ts`;
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: path.join(PROJECT_ROOT, handlerModule),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(60),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: props.role,
      tracing: props.tracing === false ? lambda.Tracing.DISABLED : lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.quietLogs ? lambda.ApplicationLogLevel.WARN : undefined,
      systemLogLevelV2: props.quietLogs ? lambda.SystemLogLevel.WARN : undefined,
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'clickstream',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node24',
        format: nodejs.OutputFormat.CJS,
        // Pin the SDK we test with instead of the runtime's copy: what is tested is what runs.
        bundleAwsSDK: true,
        commandHooks: props.assetFiles?.length
          ? {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling: (inputDir: string, outputDir: string) =>
                (props.assetFiles ?? []).map(({ from, to }) => `mkdir -p "${outputDir}/${to}" && cp ${inputDir}/${from} "${outputDir}/${to}/"`),
            }
          : undefined,
      },
    });
    this.handlerModule = handlerModule;
    const cfn = this.node.defaultChild as lambda.CfnFunction;
    cfn.addMetadata(HANDLER_METADATA_KEY, handlerModule);
    acknowledge(
      this,
      ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]'],
      'AWSLambdaBasicExecutionRole grants only CreateLogStream/PutLogEvents: the AWS-maintained minimum every function needs.',
    );
    acknowledge(
      this,
      ['AwsSolutions-IAM5[Resource::*]'],
      'X-Ray PutTraceSegments/PutTelemetryRecords accept no resource narrower than "*" (see the X-Ray IAM reference).',
    );
  }
}

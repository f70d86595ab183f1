import './polyfills';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { STACK_OUTPUTS } from '../lib/ClickstreamStack';
import { parseSourceFlags } from '../lambdas/core/config';
import { HANDLER_METADATA_KEY } from '../lib/constructs/ClickstreamFunction';
import { CollectorServer, type CorsConfig } from './collector/CollectorServer';
import { EdgeServer } from './edge/EdgeServer';
import { type DeliveryStreamSpec, FirehoseService } from './edge/firehose';
import { ObjectStore } from './edge/objectStore';
import { RedshiftDataService } from './edge/redshiftData';
import { Countdown, type FaultPlan } from './faults';
import { S3Service } from './edge/s3';
import { SsmService } from './edge/ssm';
import { type LocalFunction, LambdaRuntime } from './lambda/LambdaRuntime';
import { Scheduler, type ScheduleSpec } from './scheduler';
import type { MachineDef } from './stepfunctions/prepare';
import { type LocalStateMachine, StepFunctionsService } from './stepfunctions/StepFunctionsService';
import { LOCAL_REGION, LocalTemplate, localEnvironmentConfig, synthesizeTemplate, type CfnTemplate } from './template';
import { lockDataDir } from './dataDirLock';
import { createCustomResources } from './customResources';
import { captureMetrics } from './metrics';
import { IamAuthorizer } from './iam/IamAuthorizer';
import type { FunctionIdentity } from './iam/TemplateIam';
import { TemplateIam } from './iam/TemplateIam';
import { EmbeddedWarehouse, type LocalWarehouse } from './warehouse/EmbeddedWarehouse';
import { ServerWarehouse } from './warehouse/ServerWarehouse';

export interface LocalCloudOptions {
  /** All state lives here; starting again on the same directory keeps everything. */
  readonly dataDir: string;
  /** 0 picks a free port. */
  readonly edgePort: number;
  readonly collectorPort: number;
  /** Seconds between scheduled loads per source; 0 = no scheduled loads. */
  readonly loadIntervalSeconds: number;
  /** One Firehose buffer interval for every stream, in seconds. @default each stream's own interval from the template */
  readonly bufferIntervalSeconds?: number;
  /** Factor on Wait states and retry intervals (1 = as on AWS). @default 0.01 */
  readonly timeScale?: number;
  /** A template to run instead of synthesizing the `local` environment (tests). */
  readonly template?: CfnTemplate;
  /** Faults to inject (see `faults.ts`). @default none */
  readonly faults?: FaultPlan;
  /**
   * A PostgreSQL server's database (`postgres://user@host:port/db`, a superuser) to use as the
   * warehouse instead of the embedded one: transactions then run concurrently, SERIALIZABLE, and
   * conflict as on Redshift. Give each data directory a database of its own.
   * @default the embedded warehouse in `DIR/warehouse`
   */
  readonly warehouseUrl?: string;
  /**
   * Enforce the AWS rules of docs/local-mode.md that cost time per request or row (IAM at the
   * edge, VARCHAR byte checks). Only the benchmarks turn it off, to measure what it costs.
   * @default true
   */
  readonly strict?: boolean;
}

/** The contract other tools read: `DIR/endpoints.json`. */
export interface Endpoints {
  readonly edge: string;
  readonly collector: string;
  readonly region: string;
  readonly sources: ReadonlyArray<{
    readonly name: string;
    readonly writeKeys: ReadonlyArray<string>;
    readonly collect: boolean;
    readonly load: boolean;
    readonly dryRun: boolean;
  }>;
  readonly warehouse: { readonly workgroupName: string; readonly database: string };
  readonly buckets: { readonly raw: string; readonly staged: string; readonly control: string };
  readonly stateMachines: { readonly load: string; readonly backfill: string; readonly verify: string; readonly forget: string };
  /** What a backfill may ask for (the CLI checks a request before starting it). */
  readonly backfill?: { readonly maxBackfillDays: number; readonly ceiling: number; readonly defaultConcurrency: number };
}

export interface LocalCloud {
  readonly endpoints: Endpoints;
  readonly store: ObjectStore;
  readonly firehose: FirehoseService;
  readonly stepFunctions: StepFunctionsService;
  readonly warehouse: LocalWarehouse;
  readonly lambdas: LambdaRuntime;
  readonly edge: EdgeServer;
  /** The S3 and Data API endpoints of the edge (their request counters). */
  readonly s3: S3Service;
  readonly redshiftData: RedshiftDataService;
  readonly scheduler: Scheduler;
  /** IAM at the edge: the template's policies, and every request it denied. */
  readonly iam: IamAuthorizer;
  stop(): Promise<void>;
}

/**
 * Runs the synthesized stack on this machine: one AWS-compatible edge endpoint (S3, Firehose,
 * Step Functions, Redshift Data API over an embedded warehouse), the collector's HTTP endpoint,
 * and the load schedules. The Lambda handlers and state machine definitions are the ones
 * `cdk synth` produces; only endpoints differ.
 */
export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const dataDir = path.resolve(options.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  // One stack per data directory: a second start says who holds it.
  const lock = lockDataDir(dataDir);
  try {
    return await start(dataDir, options, lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * The layout of a data directory. 2: the loaders' tables are owned by the database user of their
 * IAM role (`IAMR:<role>`); directories of version 1 hold tables owned by the admin, which the
 * loaders may no longer change.
 */
const DATA_DIR_FORMAT = 2;

function checkFormat(dataDir: string): void {
  const file = path.join(dataDir, 'format.json');
  const existing = fs.existsSync(path.join(dataDir, 'warehouse'));
  const version = fs.existsSync(file) ? Number((JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: number }).version) : existing ? 1 : DATA_DIR_FORMAT;
  if (version !== DATA_DIR_FORMAT) {
    throw new Error(
      `${dataDir} was made by an older local mode (format ${version}, this one reads ${DATA_DIR_FORMAT}: tables are now owned by the loaders' database user, as on Redshift). Start with a new --data-dir, or delete ${dataDir}.`,
    );
  }
  fs.writeFileSync(file, `${JSON.stringify({ version: DATA_DIR_FORMAT })}\n`);
}

async function start(dataDir: string, options: LocalCloudOptions, lock: { release(): void }): Promise<LocalCloud> {
  checkFormat(dataDir);
  // The warehouse opens (in its worker thread, or on its server) while this thread synthesizes the template.
  const opening: Promise<LocalWarehouse> = options.warehouseUrl
    ? ServerWarehouse.open(options.warehouseUrl)
    : EmbeddedWarehouse.open(path.join(dataDir, 'warehouse'));
  opening.catch(() => undefined);
  const t = new LocalTemplate(options.template ?? synthesizeTemplate('local'));
  const output = (key: string) => String(t.resolve(t.template.Outputs?.[key]?.Value));

  const store = new ObjectStore(path.join(dataDir, 's3'));
  for (const [id] of t.resourcesOfType('AWS::S3::Bucket')) store.createBucket(t.ref(id));

  // Our functions carry the handler metadata; CDK's own helpers (e.g. bucket auto-delete) do not run locally.
  const functions: LocalFunction[] = t
    .resourcesOfType('AWS::Lambda::Function')
    .filter(([, res]) => res.Metadata?.[HANDLER_METADATA_KEY])
    .map(([id, res]) => ({
      arn: t.getAtt(id, 'Arn'),
      name: id,
      module: t.handlerModule(id),
      timeoutMs: Number(res.Properties?.Timeout ?? 3) * 1000,
      memoryMb: Number(res.Properties?.MemorySize ?? 128),
      environment: t.resolve((res.Properties?.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}) as Record<string, string>,
    }));
  const envOf = (name: string) => functions.map((f) => f.environment[name]).find((v) => v !== undefined);
  captureMetrics();
  const lambdas = new LambdaRuntime(functions, {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    // Quiet by default on a laptop; set it in your shell to see the functions' logs.
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    // Metrics are published as on AWS; local mode takes their EMF lines off stdout (local/metrics.ts).
    POWERTOOLS_METRICS_DISABLED: 'false',
  });

  const streams: DeliveryStreamSpec[] = t.resourcesOfType('AWS::KinesisFirehose::DeliveryStream').map(([id, res]) => {
    const dest = t.resolve(res.Properties?.ExtendedS3DestinationConfiguration) as Record<string, unknown>;
    const hints = (dest.BufferingHints ?? {}) as { SizeInMBs?: number; IntervalInSeconds?: number };
    return {
      name: t.ref(id),
      arn: t.getAtt(id, 'Arn'),
      bucket: String(dest.BucketARN).replace(/^arn:aws:s3:::/, ''),
      prefix: String(dest.Prefix ?? ''),
      compression: dest.CompressionFormat === 'GZIP' ? 'GZIP' : 'UNCOMPRESSED',
      bufferingSizeBytes: (hints.SizeInMBs ?? 5) * 1024 * 1024,
      bufferingIntervalMs: (hints.IntervalInSeconds ?? 300) * 1000,
      roleArn: dest.RoleARN === undefined ? undefined : String(dest.RoleARN),
    };
  });
  const firehose = new FirehoseService(
    store,
    path.join(dataDir, 'firehose'),
    streams,
    options.bufferIntervalSeconds === undefined ? undefined : options.bufferIntervalSeconds * 1000,
  );

  const warehouse = await opening;
  const workgroupName = envOf('WAREHOUSE_WORKGROUP') ?? envOf('WAREHOUSE_CLUSTER') ?? 'local';
  const database = envOf('WAREHOUSE_DATABASE') ?? 'dev';
  const strict = options.strict ?? true;
  const redshiftData = new RedshiftDataService(warehouse, store, { workgroupName, database }, path.join(dataDir, 'warehouse-identifiers.json'), {
    varcharBytes: strict,
  });

  const machines: LocalStateMachine[] = t.resourcesOfType('AWS::StepFunctions::StateMachine').map(([id, res]) => ({
    arn: t.ref(id),
    name: String(res.Properties?.StateMachineName ?? id),
    definition: JSON.parse(String(t.resolve(res.Properties?.DefinitionString))) as MachineDef,
    roleArn: String(t.resolve(res.Properties?.RoleArn)),
    type: res.Properties?.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
  }));
  const stepFunctions = new StepFunctionsService(machines, lambdas, store, path.join(dataDir, 'stepfunctions'), {
    timeScale: options.timeScale ?? 0.01,
    dynamicWaitMs: 100,
  });

  const s3 = new S3Service(store, path.join(dataDir, 's3-work'));
  const ssm = new SsmService(
    t.resourcesOfType('AWS::SSM::Parameter').map(([, res]) => {
      const p = t.resolve(res.Properties) as { Name: string; Value: string; Type: string; Tier?: string };
      return { name: p.Name, value: p.Value, type: p.Type, tier: p.Tier };
    }),
  );
  // IAM from the synthesized template, for every call a function makes (local/iam).
  const iam = new IamAuthorizer(new TemplateIam(t), (id) => redshiftData.ownerOf(id));
  const edge = new EdgeServer({ s3, firehose, stepFunctions, redshiftData, ssm, iam: strict ? iam : undefined });
  // The state machines act with their own roles too.
  if (strict) stepFunctions.authorizeRole = (roleArn, action, resource) => iam.authorizeRole(roleArn, action, resource);
  // So do Firehose's delivery roles and the Scheduler's roles.
  if (strict) firehose.authorizeRole = (roleArn, action, resource) => iam.authorizeRole(roleArn, action, resource);
  if (strict) {
    s3.mayList = (req, bucket) => {
      const caller = (req as { caller?: FunctionIdentity }).caller;
      return caller === undefined || iam.mayList(caller, bucket);
    };
  }
  const edgePort = await edge.listen(options.edgePort);
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  // The unchanged handlers reach "AWS" through the standard endpoint override of the SDK.
  process.env.AWS_ENDPOINT_URL = edgeUrl;

  // The stack's custom resources (the warehouse bootstrap) run as CloudFormation runs them.
  try {
    await createCustomResources(t, lambdas, dataDir);
  } catch (e) {
    firehose.stop();
    await edge.close();
    await warehouse.close();
    throw e;
  }

  const collectFn = functions.find((f) => f.module.endsWith(path.join('lambdas', 'collect', 'handler.ts')));
  if (!collectFn) throw new Error('The template has no collector function');
  const collector = new CollectorServer({ lambdas, functionArn: collectFn.arn, ...collectorEndpoint(t) });
  const collectorPort = await collector.listen(options.collectorPort);

  const schedules: ScheduleSpec[] = t.resourcesOfType('AWS::Scheduler::Schedule').map(([id, res]) => {
    const target = t.resolve(res.Properties?.Target) as { Arn: string; Input?: string; RoleArn?: string };
    return {
      name: String(res.Properties?.Name ?? id),
      stateMachineArn: target.Arn,
      input: target.Input ?? '{}',
      expression: String(res.Properties?.ScheduleExpression ?? ''),
      roleArn: target.RoleArn,
    };
  });
  const scheduler = new Scheduler(stepFunctions, schedules, options.loadIntervalSeconds);
  if (strict) scheduler.authorizeRole = (roleArn, action, resource) => iam.authorizeRole(roleArn, action, resource);
  if (options.faults) injectFaults({ s3, firehose, redshiftData, lambdas }, options.faults);
  firehose.start();
  scheduler.start();

  // The template holds only the keys' digests; the keys themselves are the local environment's configuration.
  const writeKeys = new Map(localEnvironmentConfig().sources.map((s) => [s.name, s.writeKeys]));
  const flags = parseSourceFlags(envOf('SOURCES') ?? '[]');
  const endpoints: Endpoints = {
    edge: edgeUrl,
    collector: `http://127.0.0.1:${collectorPort}`,
    region: LOCAL_REGION,
    sources: flags.map(({ name, collect, load, dryRun }) => ({ name, writeKeys: writeKeys.get(name) ?? [], collect, load, dryRun })),
    warehouse: { workgroupName, database },
    buckets: { raw: output(STACK_OUTPUTS.rawBucket), staged: output(STACK_OUTPUTS.stagedBucket), control: output(STACK_OUTPUTS.controlBucket) },
    stateMachines: {
      load: output(STACK_OUTPUTS.loadStateMachineArn),
      backfill: output(STACK_OUTPUTS.backfillStateMachineArn),
      verify: output(STACK_OUTPUTS.verifyStateMachineArn),
      forget: output(STACK_OUTPUTS.forgetStateMachineArn),
    },
    backfill: JSON.parse(output(STACK_OUTPUTS.backfillLimits)) as Endpoints['backfill'],
  };
  const endpointsFile = path.join(dataDir, 'endpoints.json');
  fs.writeFileSync(endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);

  let stopped = false;
  return {
    endpoints,
    store,
    s3,
    firehose,
    stepFunctions,
    warehouse,
    redshiftData,
    lambdas,
    edge,
    scheduler,
    iam,
    async stop() {
      if (stopped) return;
      stopped = true;
      scheduler.stop();
      await collector.close();
      firehose.stop();
      await stepFunctions.drain(10_000);
      await edge.close();
      await warehouse.close();
      // A stopped stack leaves no endpoints behind for the CLI to call.
      fs.rmSync(endpointsFile, { force: true });
      lock.release();
    },
  };
}

/** CORS and routes of the deployed collector endpoint, read from the template. */
function collectorEndpoint(t: LocalTemplate): { cors: CorsConfig; routes?: ReadonlySet<string> } {
  const [api] = t.resourcesOfType('AWS::ApiGatewayV2::Api');
  if (api) {
    const c = (api[1].Properties?.CorsConfiguration ?? {}) as { AllowOrigins?: string[]; AllowMethods?: string[]; AllowHeaders?: string[]; MaxAge?: number };
    const routes = new Set(t.resourcesOfType('AWS::ApiGatewayV2::Route').map(([, r]) => String(r.Properties?.RouteKey)));
    return {
      cors: { allowOrigins: c.AllowOrigins ?? [], allowMethods: c.AllowMethods ?? [], allowHeaders: c.AllowHeaders ?? [], maxAgeSeconds: c.MaxAge ?? 0 },
      routes,
    };
  }
  const [url] = t.resourcesOfType('AWS::Lambda::Url');
  const c = (url?.[1].Properties?.Cors ?? {}) as { AllowOrigins?: string[]; AllowMethods?: string[]; AllowHeaders?: string[]; MaxAge?: number };
  return { cors: { allowOrigins: c.AllowOrigins ?? [], allowMethods: c.AllowMethods ?? [], allowHeaders: c.AllowHeaders ?? [], maxAgeSeconds: c.MaxAge ?? 0 } };
}

/** Arms the services of a local stack with a fault plan (adds to what is armed already). */
export function injectFaults(services: Pick<LocalCloud, 's3' | 'firehose' | 'redshiftData' | 'lambdas'>, plan: FaultPlan): void {
  for (const rule of plan.s3 ?? []) services.s3.faults.rules.push(new Countdown(rule));
  if (plan.firehoseFailRecords) services.firehose.faults.failRecords += plan.firehoseFailRecords;
  for (const rule of plan.dataApiStatements ?? []) services.redshiftData.faults.statements.push(new Countdown(rule));
  if (plan.warehouseUnavailableCalls) services.redshiftData.faults.unavailable = new Countdown({ times: plan.warehouseUnavailableCalls });
  for (const rule of plan.lambda ?? []) services.lambdas.faults.push(new Countdown(rule));
}

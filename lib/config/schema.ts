import { z } from 'zod';
import { FIREHOSE_DEFAULTS } from './buffering';

/**
 * The configuration of one environment, read from `cdk.json` → `context.environments.<name>`.
 *
 * Every message says what to change: a bad config fails `cdk synth` before anything is built.
 */

const SOURCE_NAME = /^[a-z][a-z0-9_]{0,62}$/;
const SCHEDULE = /^(rate\(\s*\d+\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\(.+\))$/;

export const SourceConfigSchema = z
  .object({
    /** Source name; it becomes the warehouse schema name and the S3 prefix. */
    name: z.string().regex(SOURCE_NAME, {
      error: 'must be 1–63 characters of lowercase letters, digits and "_", starting with a letter (it becomes the warehouse schema name), e.g. "web"',
    }),
    /** Write keys that clients send (analytics.js `writeKey`). They are public identifiers, not secrets. */
    writeKeys: z
      .array(z.string().min(8, { error: 'a write key must have at least 8 characters' }))
      .min(1, { error: 'list at least one write key, e.g. ["wk_web_prod_…"]' }),
    /** How often the scheduled load runs: an EventBridge Scheduler expression. */
    schedule: z
      .string()
      .regex(SCHEDULE, { error: 'must be an EventBridge Scheduler expression such as "rate(5 minutes)" or "cron(0/15 * * * ? *)"' })
      .default('rate(5 minutes)'),
    /** Feature flag: accept events from clients. */
    collect: z.boolean().default(true),
    /** Feature flag: run scheduled loads into the warehouse. */
    load: z.boolean().default(true),
    /** Feature flag: scheduled loads are test runs that write nothing to the warehouse. */
    dryRun: z.boolean().default(false),
    /**
     * What the collector stores of `context.ip` (and of the caller's address it fills in when the
     * client sent none): `keep` as is, `truncate` to the network (IPv4 /24, IPv6 /48), or `drop`.
     */
    ip: z.enum(['keep', 'truncate', 'drop'], { error: 'must be "keep", "truncate" (IPv4 /24, IPv6 /48) or "drop"' }).default('keep'),
  })
  .strict();

const ServerlessWarehouseSchema = z
  .object({
    type: z.literal('serverless'),
    /** Database name in the namespace. */
    database: z
      .string()
      .regex(/^[a-z_][a-z0-9_$]{0,62}$/, { error: 'must be a lowercase Redshift identifier, e.g. "clickstream"' })
      .default('clickstream'),
    /** Base capacity in RPUs: 8 to 1024, in steps of 8. */
    baseCapacityRpu: z
      .number()
      .int()
      .min(8, { error: 'Redshift Serverless needs at least 8 RPUs' })
      .max(1024, { error: 'Redshift Serverless allows at most 1024 RPUs' })
      .refine((n) => n % 8 === 0, { error: 'must be a multiple of 8 (8, 16, 24, …)' })
      .default(8),
    /**
     * Availability zones of the workgroup's subnets. Redshift Serverless needs subnets in at least
     * three AZs, and an environment-agnostic CDK stack knows only two, so name them here.
     */
    availabilityZones: z
      .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, { error: 'must be an availability zone name such as "us-east-1a"' }), {
        error:
          'Redshift Serverless needs subnets in at least 3 availability zones: list three AZs of the region, e.g. ["us-east-1a","us-east-1b","us-east-1c"] (see docs/deploy.md)',
      })
      .min(3, {
        error:
          'Redshift Serverless needs subnets in at least 3 availability zones: list three AZs of the region, e.g. ["us-east-1a","us-east-1b","us-east-1c"] (see docs/deploy.md)',
      })
      .refine((azs) => new Set(azs).size === azs.length, { error: 'list each availability zone once' }),
  })
  .strict();

const ExistingWorkgroupSchema = z
  .object({
    type: z.literal('existing-workgroup'),
    /** ARN of the Redshift Serverless workgroup to load into. */
    workgroupArn: z.string().regex(/^arn:aws[a-z-]*:redshift-serverless:[a-z0-9-]+:\d{12}:workgroup\/[0-9a-f-]+$/, {
      error: 'must be a workgroup ARN such as "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/0f1e…" (see the workgroup page in the console)',
    }),
    database: z.string().min(1, { error: 'name the database to load into' }),
  })
  .strict();

const ExistingClusterSchema = z
  .object({
    type: z.literal('existing-cluster'),
    /** Identifier of the provisioned cluster. */
    clusterIdentifier: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, { error: 'must be a cluster identifier such as "analytics"' }),
    database: z.string().min(1, { error: 'name the database to load into' }),
  })
  .strict();

export const WarehouseConfigSchema = z.discriminatedUnion('type', [ServerlessWarehouseSchema, ExistingWorkgroupSchema, ExistingClusterSchema], {
  error: 'set "type" to "serverless", "existing-workgroup" or "existing-cluster"',
});

export const CollectorConfigSchema = z
  .object({
    /**
     * How the collector is exposed: an API Gateway HTTP API (custom domain, throttling, $1 per
     * million requests) or a Lambda function URL (no per-request charge).
     */
    endpoint: z.enum(['function-url', 'http-api'], { error: 'must be "function-url" or "http-api"' }).default('function-url'),
    /** Origins allowed by CORS; `["*"]` allows any site to send. */
    allowedOrigins: z.array(z.string().min(1)).min(1).default(['*']),
    /** HTTP API only: steady-state requests per second. */
    throttleRateLimit: z.number().int().positive().default(5000),
    /** HTTP API only: burst requests. */
    throttleBurstLimit: z.number().int().positive().default(10000),
    /** HTTP API only: a custom domain and its ACM certificate (in the stack's region). */
    domainName: z.string().optional(),
    certificateArn: z.string().optional(),
    /**
     * X-Ray tracing of the collector function. Off by default: at 1,000+ requests a second its
     * sampled traces cost more than everything else outside the warehouse (see docs/performance.md).
     */
    tracing: z.boolean().default(false),
    /** Reserved concurrency of the collector function; caps cost and downstream pressure. */
    reservedConcurrency: z.number().int().positive().optional(),
  })
  .strict()
  .refine((c) => (c.domainName === undefined) === (c.certificateArn === undefined), {
    error: 'domainName and certificateArn go together: set both or neither',
    path: ['domainName'],
  })
  .refine((c) => c.domainName === undefined || c.endpoint === 'http-api', {
    error: 'a custom domain needs endpoint "http-api"',
    path: ['domainName'],
  });

export const FirehoseConfigSchema = z
  .object({
    /** Firehose buffer interval: lower is fresher, higher gives bigger raw objects. 0–900 s; a source loaded more often than every 4 × this gets a quarter of its load interval. */
    bufferingIntervalSeconds: z.number().int().min(0).max(900, { error: 'Firehose buffers at most 900 seconds' }).default(FIREHOSE_DEFAULTS.intervalSeconds),
    /** Firehose buffer size in MiB, 1–128. */
    bufferingSizeMiB: z.number().int().min(1).max(128, { error: 'Firehose buffers at most 128 MiB' }).default(FIREHOSE_DEFAULTS.sizeMiB),
  })
  .strict();

export const ConcurrencyConfigSchema = z
  .object({
    /** Parallel Transform invocations per load. */
    transformFanOut: z.number().int().min(1).max(40).default(8),
    /** Parallel table loads (Data API transactions) per load. */
    tableLoads: z.number().int().min(1).max(40).default(4),
    /** Highest `maxConcurrency` a backfill may ask for: parallel load executions against the warehouse. */
    backfillCeiling: z.number().int().min(1).max(1000).default(8),
    /** `maxConcurrency` of a backfill whose input names none. */
    backfillDefault: z.number().int().min(1).default(4),
  })
  .strict()
  .refine((c) => c.backfillDefault <= c.backfillCeiling, {
    error: 'backfillDefault must not exceed backfillCeiling',
    path: ['backfillDefault'],
  });

export const LoadConfigSchema = z
  .object({
    /** Raw objects one load takes at most; a backlog drains in bounded loads (never one unbounded fan-out). */
    maxObjectsPerLoad: z.number().int().min(1).max(10000).default(500),
    /** Longest time range one backfill may cover, in days. */
    maxBackfillDays: z.number().int().min(1).max(3660).default(400),
    /** Share of backfill windows that may fail before the backfill itself fails, in percent. */
    toleratedFailurePercentage: z.number().min(0).max(100).default(10),
    /**
     * Days before a load's oldest event that its merge looks back for an earlier copy of a message
     * (by `received_at`, the sort key): the merge reads that window of a table, not all of it, so
     * its cost does not grow with history. A copy received more than this much earlier stays as a
     * second row (docs/reliability.md, "Duplicates"). 0 compares with the whole table.
     */
    mergeWindowDays: z.number().int().min(0).max(3660).default(7),
  })
  .strict();

export const PrivacyConfigSchema = z
  .object({
    /**
     * Seconds the collector and the transform keep a source's suppression list before reading it
     * again: a forget request takes effect at the door within this time (it waits it out).
     */
    suppressionCacheSeconds: z.number().int().min(0).max(300).default(30),
  })
  .strict();

export const RetentionConfigSchema = z
  .object({
    /** Days raw (and quarantined) events are kept; they are the source of truth for reloads. */
    rawDays: z.number().int().min(1).default(400),
    /** Days staged COPY files are kept; they are intermediate. */
    stagedDays: z.number().int().min(1).default(7),
  })
  .strict();

export const EnvironmentConfigSchema = z
  .object({
    /** AWS account; omit to use the CLI's default account. */
    account: z
      .string()
      .regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id' })
      .optional(),
    /** AWS region; omit to use the CLI's default region. */
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'must be an AWS region such as "us-east-1"' })
      .optional(),
    sources: z
      .array(SourceConfigSchema)
      .min(1, { error: 'configure at least one source, e.g. [{"name":"web","writeKeys":["…"]}]' })
      .refine((s) => new Set(s.map((x) => x.name)).size === s.length, { error: 'source names must be unique' })
      .refine(
        (s) => {
          const keys = s.flatMap((x) => x.writeKeys);
          return new Set(keys).size === keys.length;
        },
        { error: 'a write key may belong to one source only' },
      ),
    warehouse: WarehouseConfigSchema,
    collector: CollectorConfigSchema.prefault({}),
    firehose: FirehoseConfigSchema.prefault({}),
    concurrency: ConcurrencyConfigSchema.prefault({}),
    load: LoadConfigSchema.prefault({}),
    retention: RetentionConfigSchema.prefault({}),
    privacy: PrivacyConfigSchema.prefault({}),
    /**
     * Buckets holding Segment S3 destination archives that a `mode: "import"` backfill may read
     * (ARNs, `arn:aws:s3:::NAME`); the import functions get List/Get on exactly these. A bucket of
     * another account also needs its bucket policy (docs/migrate-from-segment.md).
     */
    archiveBuckets: z
      .array(
        z.string().regex(/^arn:aws(-cn|-us-gov)?:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
          error: 'must be an S3 bucket ARN such as "arn:aws:s3:::my-segment-archive" (no key, no wildcard)',
        }),
      )
      .refine((a) => new Set(a).size === a.length, { error: 'list each archive bucket once' })
      .default([]),
    /** E-mail address that receives alarms; omit to create the topic without a subscription. */
    alarmEmail: z.email({ error: 'must be an e-mail address' }).optional(),
    /** What happens to buckets and the warehouse when the stack is deleted. */
    removalPolicy: z.enum(['retain', 'destroy'], { error: 'must be "retain" or "destroy"' }).default('retain'),
  })
  .strict()
  .refine((c) => c.warehouse.type !== 'serverless' || c.region === undefined || c.warehouse.availabilityZones.every((az) => az.slice(0, -1) === c.region), {
    error: 'every availability zone must be in the environment\'s region (e.g. "us-east-1a" for region "us-east-1")',
    path: ['warehouse', 'availabilityZones'],
  });

export type SourceConfig = z.infer<typeof SourceConfigSchema>;
export type WarehouseConfig = z.infer<typeof WarehouseConfigSchema>;
export type CollectorConfig = z.infer<typeof CollectorConfigSchema>;
export type EnvironmentConfig = z.infer<typeof EnvironmentConfigSchema>;

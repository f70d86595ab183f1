import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client } from '@aws-sdk/client-s3';
import { ObjectStore } from '../lambdas/io/objects';
import { lockHolder } from '../local/dataDirLock';
import { Warehouse } from '../lambdas/io/warehouse';
import { STACK_OUTPUTS } from '../lib/outputs';

export interface SourceInfo {
  readonly name: string;
  readonly collect?: boolean;
  readonly load?: boolean;
  readonly dryRun?: boolean;
  /** Known locally only (a deployed stack does not publish its write keys). */
  readonly writeKeys?: ReadonlyArray<string>;
}

/** Where the CLI sends its calls: the local stack's edge, or a deployed environment. */
export interface Target {
  readonly kind: 'local' | 'deployed';
  /** Endpoint override for the AWS SDK clients (local only). */
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
  readonly stateMachines: { readonly load: string; readonly backfill: string; readonly verify?: string; readonly forget?: string };
  readonly collector?: string;
  readonly sources: ReadonlyArray<SourceInfo>;
  readonly buckets: { readonly raw: string; readonly staged: string; readonly control?: string };
  /** What a backfill may ask for, when the target says (checked before an execution starts). */
  readonly backfillLimits?: { readonly maxBackfillDays?: number; readonly ceiling?: number; readonly defaultConcurrency?: number };
  /** The warehouse the Data API reaches: a workgroup (name or ARN) or a cluster. */
  readonly warehouse?: { readonly workgroupName?: string; readonly clusterIdentifier?: string; readonly database: string };
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The local stack a command needs is not running: one line saying how to start it (exit 1). */
export class StackNotRunningError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackNotRunningError';
  }
}

/** The local stack, through `DIR/endpoints.json` written by `npm start`. */
export function localTarget(dataDir: string): Target {
  const dir = path.resolve(dataDir);
  const file = path.join(dir, 'endpoints.json');
  const start = `start it with "npm start${dataDir === '.clickstream' ? '' : ` -- --data-dir ${dataDir}`}" (or pass --data-dir, or --env <name> for a deployed environment)`;
  if (!fs.existsSync(file)) throw new StackNotRunningError(`No local stack is running in ${dir}: ${start}.`);
  if (!lockHolder(dir)) throw new StackNotRunningError(`The local stack in ${dir} is not running (its process ended without stopping cleanly): ${start}.`);
  const e = JSON.parse(fs.readFileSync(file, 'utf8'));
  return {
    kind: 'local',
    endpoint: e.edge,
    region: e.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    stateMachines: e.stateMachines,
    collector: e.collector,
    sources: e.sources,
    buckets: e.buckets,
    warehouse: { workgroupName: e.warehouse.workgroupName, database: e.warehouse.database },
    backfillLimits: e.backfill,
  };
}

/** A deployed environment, from the outputs of its stack `Clickstream-<env>` (standard AWS credentials). */
export async function deployedTarget(envName: string, client = new CloudFormationClient({})): Promise<Target> {
  const stackName = `Clickstream-${envName}`;
  let outputs: Record<string, string>;
  try {
    const res = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Object.fromEntries((res.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey as string, o.OutputValue as string]));
  } catch (e) {
    throw new UsageError(
      `Cannot read stack ${stackName}: ${(e as Error).message}. Is it deployed (cdk deploy -c env=${envName}) in the region your AWS credentials use?`,
    );
  }
  const need = (key: string) => {
    if (!outputs[key]) throw new UsageError(`Stack ${stackName} has no output ${key}: deploy the current version of the stack.`);
    return outputs[key];
  };
  return {
    kind: 'deployed',
    region: await client.config.region(),
    stateMachines: {
      load: need(STACK_OUTPUTS.loadStateMachineArn),
      backfill: need(STACK_OUTPUTS.backfillStateMachineArn),
      verify: outputs[STACK_OUTPUTS.verifyStateMachineArn],
      forget: outputs[STACK_OUTPUTS.forgetStateMachineArn],
    },
    collector: outputs[STACK_OUTPUTS.collectorUrl],
    sources: outputs[STACK_OUTPUTS.sources] ? (JSON.parse(outputs[STACK_OUTPUTS.sources]) as SourceInfo[]) : [],
    backfillLimits: outputs[STACK_OUTPUTS.backfillLimits] ? JSON.parse(outputs[STACK_OUTPUTS.backfillLimits]) : undefined,
    buckets: { raw: need(STACK_OUTPUTS.rawBucket), staged: need(STACK_OUTPUTS.stagedBucket), control: outputs[STACK_OUTPUTS.controlBucket] },
    warehouse: outputs[STACK_OUTPUTS.warehouse]
      ? outputs[STACK_OUTPUTS.warehouseKind] === 'cluster'
        ? { clusterIdentifier: outputs[STACK_OUTPUTS.warehouse], database: outputs[STACK_OUTPUTS.database] }
        : { workgroupName: outputs[STACK_OUTPUTS.warehouse], database: outputs[STACK_OUTPUTS.database] }
      : undefined,
  };
}

/** SDK client settings for the target. */
export function clientConfig(target: Target): Record<string, unknown> {
  return target.kind === 'local'
    ? { endpoint: target.endpoint, region: target.region, credentials: target.credentials, forcePathStyle: true }
    : { region: target.region };
}

/** The source named on the command line, checked against the target's sources. */
export function sourceOf(target: Target, name: string | undefined, help: string): SourceInfo {
  if (!name) throw new UsageError(`--source is required\n\n${help}`);
  const source = target.sources.find((s) => s.name === name);
  if (!source && target.sources.length > 0)
    throw new UsageError(`Unknown source "${name}": configured sources are ${target.sources.map((s) => s.name).join(', ')}`);
  return source ?? { name };
}

/** The object store and warehouse of a target, as the functions use them; `close` when done. */
export function targetIo(target: Target): { objects: ObjectStore; warehouse: Warehouse; close(): void } {
  if (!target.warehouse) throw new Error('This target does not name its warehouse');
  const config = clientConfig(target);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const data = new RedshiftDataClient(config);
  return {
    objects: new ObjectStore(s3),
    warehouse: new Warehouse(data, {
      workgroup: target.warehouse.workgroupName,
      cluster: target.warehouse.clusterIdentifier,
      database: target.warehouse.database,
    }),
    close() {
      s3.destroy();
      data.destroy();
    },
  };
}

/** An ISO date-time option, or a UsageError naming it. */
export function dateOption(name: string, value: string | undefined, fallback?: Date): Date {
  if (value === undefined) {
    if (fallback) return fallback;
    throw new UsageError(`--${name} is required (an ISO date-time such as 2026-11-01T00:00Z)`);
  }
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t))
    throw new UsageError(`--${name} must be an ISO date-time such as 2026-11-01T00:00Z, not "${value}"`);
  return new Date(t);
}

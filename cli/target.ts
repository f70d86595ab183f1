import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { STACK_OUTPUTS } from '../lib/ClickstreamStack';

/** Where the CLI sends its calls: the local stack's edge, or a deployed environment. */
export interface Target {
  readonly kind: 'local' | 'deployed';
  /** Endpoint override for the AWS SDK clients (local only). */
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
  readonly stateMachines: { readonly load: string; readonly backfill: string };
  readonly buckets: { readonly raw: string; readonly staged: string };
  /** The warehouse the Data API reaches: a workgroup (name or ARN) or a cluster. */
  readonly warehouse?: { readonly workgroupName?: string; readonly clusterIdentifier?: string; readonly database: string };
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The local stack, through `DIR/endpoints.json` written by `npm start`. */
export function localTarget(dataDir: string): Target {
  const file = path.join(path.resolve(dataDir), 'endpoints.json');
  if (!fs.existsSync(file)) throw new UsageError(`No local stack found: ${file} does not exist. Start one with "npm start" (or pass --data-dir, or --env <name> for a deployed environment).`);
  const e = JSON.parse(fs.readFileSync(file, 'utf8'));
  return {
    kind: 'local',
    endpoint: e.edge,
    region: e.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    stateMachines: e.stateMachines,
    buckets: e.buckets,
    warehouse: { workgroupName: e.warehouse.workgroupName, database: e.warehouse.database },
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
    throw new UsageError(`Cannot read stack ${stackName}: ${(e as Error).message}. Is it deployed (cdk deploy -c env=${envName}) in the region your AWS credentials use?`);
  }
  const need = (key: string) => {
    if (!outputs[key]) throw new UsageError(`Stack ${stackName} has no output ${key}: deploy the current version of the stack.`);
    return outputs[key];
  };
  return {
    kind: 'deployed',
    region: await client.config.region(),
    stateMachines: { load: need(STACK_OUTPUTS.loadStateMachineArn), backfill: need(STACK_OUTPUTS.backfillStateMachineArn) },
    buckets: { raw: need(STACK_OUTPUTS.rawBucket), staged: need(STACK_OUTPUTS.stagedBucket) },
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

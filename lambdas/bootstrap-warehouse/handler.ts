import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { bootstrapStatements, ROLE_EXISTS_QUERY } from '../core/sql';
import { dataApiClient } from '../io/clients';
import { Warehouse } from '../io/warehouse';

const logger = new Logger({ serviceName: 'bootstrap-warehouse' });

interface BootstrapProperties {
  readonly SecretArn: string;
  readonly Workgroup: string;
  readonly Database: string;
  readonly Role: string;
}

/**
 * Custom resource `Custom::WarehouseBootstrap`: on Create and Update, signs in as the namespace
 * admin (the Data API reads the admin secret) and creates the loaders' database role with CREATE
 * on the database. Idempotent; Delete leaves the database as it is (it holds the data).
 */
export async function handler(event: CloudFormationCustomResourceEvent): Promise<void> {
  const props = event.ResourceProperties as unknown as BootstrapProperties & { ServiceToken: string };
  const physicalId = `${props.Workgroup}/${props.Database}/${props.Role}`;
  let status: 'SUCCESS' | 'FAILED' = 'SUCCESS';
  let reason = '';
  try {
    if (event.RequestType !== 'Delete') {
      const warehouse = new Warehouse(dataApiClient(), { workgroup: props.Workgroup, database: props.Database, secretArn: props.SecretArn });
      const [row] = await warehouse.query(ROLE_EXISTS_QUERY, { role: props.Role }, "looking up the loaders' role");
      for (const sql of bootstrapStatements(props.Database, Number(row?.n ?? 0) > 0)) await warehouse.run([sql], 'bootstrapping the warehouse');
      logger.info('warehouse bootstrapped', { workgroup: props.Workgroup, database: props.Database, role: props.Role });
    }
  } catch (e) {
    status = 'FAILED';
    reason = `${(e as Error).message} (see docs/deploy.md, "Warehouse identity")`.slice(0, 3000);
    logger.error('bootstrap failed', { error: e as Error });
  }
  // A custom resource answers CloudFormation through the pre-signed URL, whatever happened.
  const body = JSON.stringify({
    Status: status,
    Reason: reason || 'ok',
    PhysicalResourceId: physicalId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  const res = await fetch(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '' } });
  if (!res.ok) throw new Error(`CloudFormation did not take the response: HTTP ${res.status}`);
}

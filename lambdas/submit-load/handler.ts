import { Logger } from '@aws-lambda-powertools/logger';
import { InvalidInputError } from '../core/errors';
import { layout } from '../core/layout';
import type { StatementState, TablesFile } from '../core/loadTypes';
import { tableLoadStatements } from '../core/sql';
import { FIRST_WAIT_SECONDS } from '../core/polling';
import { loaderContext } from '../io/context';

const logger = new Logger({ serviceName: 'submit-load' });

export interface SubmitLoadEvent {
  readonly loadId: string;
  readonly source: string;
  readonly planKey: string;
  readonly table: { readonly index: number };
}

let tablesCache: { key: string; file: TablesFile } | undefined;

/** SubmitLoad: submits one table's load as one BatchExecuteStatement (one transaction). */
export async function handler(event: SubmitLoadEvent): Promise<StatementState> {
  const { config, objects, warehouse } = loaderContext();
  const key = layout.tables(event.source, event.loadId);
  if (!tablesCache || tablesCache.key !== key) tablesCache = { key, file: await objects.getJson<TablesFile>(config.STAGED_BUCKET, key) };
  const load = tablesCache.file.tables[event.table.index];
  if (!load) throw new InvalidInputError(`Load ${event.loadId} has no table #${event.table.index}`);
  const statements = tableLoadStatements({
    schema: event.source,
    plan: load.plan,
    loadId: event.loadId,
    manifestUri: `s3://${config.STAGED_BUCKET}/${load.manifestKey}`,
    copyRoleArn: config.COPY_ROLE_ARN,
    derive: load.derive,
    mergeSince: load.mergeSince,
  });
  if (statements.length > 40) throw new InvalidInputError(`Loading ${load.plan.table} takes ${statements.length} statements; one transaction holds at most 40`);
  const statementId = await warehouse.submit(statements, `load ${event.source}.${load.plan.table} (${event.loadId})`);
  logger.info('table load submitted', { loadId: event.loadId, table: load.plan.table, statements: statements.length, statementId });
  return { statementId, table: load.plan.table, waitSeconds: FIRST_WAIT_SECONDS, attempt: 0, finished: false };
}

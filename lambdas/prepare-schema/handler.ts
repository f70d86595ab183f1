import { Logger } from '@aws-lambda-powertools/logger';
import { SerializationConflictError, StatementFailedError } from '../core/errors';
import { layout, manifestOf } from '../core/layout';
import type { TableLoad, TablesFile } from '../core/loadTypes';
import { schemaName } from '../core/naming';
import { ddlFor, mergeSince, mergeStaged, planSchema, type StagedTable } from '../core/schema';
import { batches, ledgerTables } from '../core/sql';
import { loaderContext } from '../io/context';
import { readCatalog, readChunkStats } from '../io/catalog';

/** What a statement fails with when a concurrent load changed the catalog first. */
const CONCURRENT_DDL = /already exists|duplicate key value violates unique constraint "pg_/i;

const logger = new Logger({ serviceName: 'prepare-schema' });

export interface PrepareSchemaEvent {
  readonly loadId: string;
  readonly source: string;
  readonly planKey: string;
  readonly dryRun: boolean;
}

export interface PrepareSchemaOutput {
  readonly tables: Array<{ readonly index: number }>;
  readonly tableCount: number;
  readonly ddlStatements: number;
}

/**
 * PrepareSchema: merges the chunks' statistics, diffs them against the live catalog, creates
 * and evolves tables (never drops or narrows; an existing column's type wins), writes one COPY
 * manifest per table and the table plans SubmitLoad runs. On a test run it only reports the DDL.
 */
export async function handler(event: PrepareSchemaEvent): Promise<PrepareSchemaOutput> {
  const { config, objects, warehouse } = loaderContext();
  const schema = schemaName(event.source);
  const chunks = await readChunkStats(objects, config.STAGED_BUCKET, event.source, event.loadId);
  const staged: Record<string, StagedTable> = {};
  for (const c of chunks) mergeStaged(staged, Object.fromEntries(Object.entries(c.tables).map(([t, s]) => [t, { rows: s.rows, columns: s.columns }])));

  // What every load runs first (schema and ledger tables, IF NOT EXISTS); the rest are this load's changes.
  const baseline = 1 + ledgerTables(schema).length;
  const changed: string[] = [];
  let attempt = 0;
  let rounds = 0;
  let planned: ReturnType<typeof planSchema>;
  let ddl: string[];
  let pending = Infinity;
  for (;;) {
    const catalog = await readCatalog(warehouse, schema);
    planned = planSchema(staged, catalog);
    ddl = ddlFor(schema, [...planned.plans, ...planned.derived], catalog);
    const changes = ddl.slice(baseline);
    if (event.dryRun) {
      changed.push(...changes);
      break;
    }
    // After a round that created tables, the catalog is read again: a concurrent load may have created
    // the same table first, with other columns (CREATE TABLE IF NOT EXISTS is then a no-op), and this
    // load adds what it still lacks — or finds nothing to do and goes on.
    if (rounds > 0 && changes.length === 0) break;
    if (++rounds > 6)
      throw new StatementFailedError(`The schema ${schema} kept changing under this load (${rounds - 1} rounds of DDL); run the load again`, {});
    // A concurrent load adding the same columns one by one costs a retry per column it wins; only
    // attempts that changed nothing count against the limit.
    if (ddl.length < pending) attempt = 0;
    pending = ddl.length;
    try {
      // Creates in batches within the Data API's 40 statements (each CREATE is IF NOT EXISTS, so a
      // batch that fails half-way is simply run again); each added column on its own, so a
      // concurrent load adding the same column costs one retry.
      for (const batch of batches((rounds === 1 ? ddl : changes).filter((s) => !s.startsWith('ALTER'))))
        await warehouse.run(batch, `create tables of ${schema}`);
      for (const alter of changes.filter((s) => s.startsWith('ALTER'))) await warehouse.run([alter], `evolve ${schema}`);
      changed.push(...changes);
      if (!changes.some((s) => s.startsWith('CREATE TABLE'))) break;
    } catch (e) {
      // "already exists", or the catalog's own unique index when two CREATE … IF NOT EXISTS race
      // (both found nothing, one inserted first), or a serialization conflict: plan again.
      if ((e instanceof SerializationConflictError || (e instanceof StatementFailedError && CONCURRENT_DDL.test(e.message))) && ++attempt < 4) {
        logger.info('a concurrent load changed the schema first; planning again', { error: e.message });
        continue;
      }
      throw e;
    }
  }

  const tables: TableLoad[] = [];
  for (const plan of planned.plans) {
    const files = chunks.flatMap((c) => c.tables[plan.table]?.files ?? []);
    const manifestKey = layout.manifest(event.source, event.loadId, plan.table);
    await objects.putJson(config.STAGED_BUCKET, manifestKey, manifestOf(config.STAGED_BUCKET, files));
    const since = mergeSince(
      chunks.map((c) => c.tables[plan.table]),
      config.MERGE_WINDOW_DAYS,
    );
    tables.push({ plan, manifestKey, derive: planned.derive.get(plan.table), ...(since ? { mergeSince: since } : {}) });
  }
  // The report leaves out the schema and ledger statements every load runs (no-ops once created).
  const file: TablesFile = { loadId: event.loadId, source: event.source, tables, ddl: changed };
  await objects.putJson(config.STAGED_BUCKET, layout.tables(event.source, event.loadId), file);
  logger.info('schema prepared', { loadId: event.loadId, tables: tables.length, ddl: ddl.length, dryRun: event.dryRun });
  return { tables: tables.map((_, index) => ({ index })), tableCount: tables.length, ddlStatements: ddl.length };
}

import { Logger } from '@aws-lambda-powertools/logger';
import { StatementFailedError } from '../core/errors';
import { layout, manifestOf } from '../core/layout';
import type { ChunkStats, TableLoad, TablesFile } from '../core/loadTypes';
import { schemaName } from '../core/naming';
import { type Catalog, columnTypeOf, mergeStaged, planTable, type StagedTable, type TablePlan, traitColumns } from '../core/schema';
import { addColumn, batches, CATALOG_QUERY, createSchema, createTable, ledgerTables } from '../core/sql';
import type { ColumnType } from '../core/transform';
import { loaderContext } from '../io/context';
import type { ObjectStore } from '../io/objects';
import type { Warehouse } from '../io/warehouse';

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

/** Every chunk's statistics of a load. */
export async function readChunkStats(objects: ObjectStore, bucket: string, source: string, loadId: string): Promise<ChunkStats[]> {
  const listed = await objects.list(bucket, layout.statsPrefix(source, loadId));
  return Promise.all(listed.map((o) => objects.getJson<ChunkStats>(bucket, o.key)));
}

export async function readCatalog(warehouse: Warehouse, schema: string): Promise<Catalog> {
  const rows = await warehouse.query(CATALOG_QUERY, { schema }, 'catalog');
  const catalog: Catalog = {};
  for (const r of rows) (catalog[String(r.table_name)] ??= {})[String(r.column_name)] = columnTypeOf(String(r.data_type));
  return catalog;
}

/** Plans every table of the load against the catalog, plus the `users` / `accounts` tables they feed. */
export function planLoad(staged: Record<string, StagedTable>, catalog: Catalog): { plans: TablePlan[]; derived: TablePlan[]; derive: Map<string, NonNullable<TableLoad['derive']>> } {
  const plans = Object.keys(staged).sort().map((table) => planTable(table, staged[table], catalog[table]));
  const derived: TablePlan[] = [];
  const derive = new Map<string, NonNullable<TableLoad['derive']>>();
  for (const [source, target, keyColumn] of [['identifies', 'users', 'user_id'], ['groups', 'accounts', 'group_id']] as const) {
    const plan = plans.find((p) => p.table === source);
    if (!plan) continue;
    const allTypes: Record<string, ColumnType> = { ...(catalog[source] ?? {}), ...plan.columnTypes };
    const traits = traitColumns(source, allTypes);
    const tags = Object.fromEntries(Object.entries(traits).map(([c]) => [c, { s: 1 }]));
    // The derived table takes the trait types of its call table; planning it like a staged table adds missing columns.
    const derivedPlan = planTable(target, { rows: 0, columns: tags }, catalog[target]);
    derived.push({ ...derivedPlan, newColumns: derivedPlan.newColumns.map(([c, t]) => [c, traits[c] ?? t] as [string, ColumnType]) });
    derive.set(source, { table: target, keyColumn, traits });
  }
  return { plans, derived, derive };
}

/** The DDL that makes the catalog ready for the plans: idempotent, additive only. */
export function ddlFor(schema: string, plans: TablePlan[], catalog: Catalog): string[] {
  const ddl = [createSchema(schema), ...ledgerTables(schema)];
  const all = [...plans];
  if (!all.some((p) => p.table === '_discards') && !catalog._discards) all.push(planTable('_discards', { rows: 0, columns: {} }, undefined));
  for (const p of all) {
    if (!p.exists) ddl.push(createTable(schema, p.table, p.newColumns));
    else for (const [c, t] of p.newColumns) ddl.push(addColumn(schema, p.table, c, t));
  }
  return ddl;
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

  let attempt = 0;
  let planned: ReturnType<typeof planLoad>;
  let ddl: string[];
  let pending = Infinity;
  for (;;) {
    const catalog = await readCatalog(warehouse, schema);
    planned = planLoad(staged, catalog);
    ddl = ddlFor(schema, [...planned.plans, ...planned.derived], catalog);
    // A concurrent load adding the same columns one by one costs a retry per column it wins; only
    // attempts that changed nothing count against the limit.
    if (ddl.length < pending) attempt = 0;
    pending = ddl.length;
    if (event.dryRun) break;
    try {
      // Creates in batches within the Data API's 40 statements (each CREATE is IF NOT EXISTS, so a
      // batch that fails half-way is simply run again); each added column on its own, so a
      // concurrent load adding the same column costs one retry.
      for (const batch of batches(ddl.filter((s) => !s.startsWith('ALTER')))) await warehouse.run(batch, `create tables of ${schema}`);
      for (const alter of ddl.filter((s) => s.startsWith('ALTER'))) await warehouse.run([alter], `evolve ${schema}`);
      break;
    } catch (e) {
      if (e instanceof StatementFailedError && /already exists/i.test(e.message) && ++attempt < 4) {
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
    tables.push({ plan, manifestKey, derive: planned.derive.get(plan.table) });
  }
  // The report leaves out the schema and ledger statements every load runs (no-ops once created).
  const file: TablesFile = { loadId: event.loadId, source: event.source, tables, ddl: ddl.slice(1 + ledgerTables(schema).length) };
  await objects.putJson(config.STAGED_BUCKET, layout.tables(event.source, event.loadId), file);
  logger.info('schema prepared', { loadId: event.loadId, tables: tables.length, ddl: ddl.length, dryRun: event.dryRun });
  return { tables: tables.map((_, index) => ({ index })), tableCount: tables.length, ddlStatements: ddl.length };
}

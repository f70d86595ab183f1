import { Logger } from '@aws-lambda-powertools/logger';
import { manifestOf } from '../core/layout';
import { LEDGER_TABLES, schemaName } from '../core/naming';
import { digest, erasureLayout } from '../core/privacy';
import {
  CALL_TABLES,
  CATALOG_QUERY,
  erasureReceiptStatements,
  erasureRegistryStatements,
  erasureTables,
  eraseTableStatements,
  pendingTables,
  remainingRowsStatements,
} from '../core/sql';
import { loaderContext } from '../io/context';
import type { RewriteTotals } from '../io/erasure';
import { Warehouse } from '../io/warehouse';

const logger = new Logger({ serviceName: 'erase-rows' });

export interface EraseEvent {
  readonly source: string;
  readonly requestId: string;
  readonly dryRun: boolean;
  readonly startedAt: string;
  /** From the plan: identities after expansion, and rows per table before the run. */
  readonly plan: { readonly userIds: number; readonly anonymousIds: number; readonly rows: Record<string, number> };
}

export interface ErasureReceipt {
  readonly source: string;
  readonly requestId: string;
  readonly dryRun: boolean;
  readonly identities: number;
  /** Rows deleted per table (in a dry run: rows that would be). */
  readonly rowsDeleted: Record<string, number>;
  readonly objects: RewriteTotals;
  /** Rows of the identities still there after the deletes: 0 unless a load that started earlier raced the erasure. */
  readonly remainingRows: number;
  readonly startedAt: string;
}

class ErasureIncomplete extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ErasureIncomplete';
  }
}

/**
 * EraseRows, per source: moves the identities' messages from `_ids` to `_erased_ids`, clears
 * their `_discards`, gives the ledger the rewritten objects' counts; then deletes their rows,
 * one transaction per table (`groups` rebuilds `accounts`); checks that nothing is left; and
 * records the receipt in `_erasures`. Every step is idempotent: a re-run deletes nothing more.
 */
export async function handler(event: EraseEvent): Promise<ErasureReceipt> {
  const { config, objects, warehouse } = loaderContext();
  const { source, requestId } = event;
  const schema = schemaName(source);
  const staged = (key: string) => `s3://${config.STAGED_BUCKET}/${key}`;
  const objectsTotals: RewriteTotals = { objects: 0, rewritten: 0, linesRemoved: 0 };
  for (const b of await objects.list(config.STAGED_BUCKET, erasureLayout.batches(requestId))) {
    const t = (await objects.getJson<Record<string, RewriteTotals>>(config.STAGED_BUCKET, b.key))[source];
    if (!t) continue;
    objectsTotals.objects += t.objects;
    objectsTotals.rewritten += t.rewritten;
    objectsTotals.linesRemoved += t.linesRemoved;
  }
  const identities = event.plan.userIds + event.plan.anonymousIds;
  // The ids in clear leave the staged bucket with the request (the receipt keeps their digest).
  const clearIdentities = () => objects.putGzip(config.STAGED_BUCKET, erasureLayout.identities(requestId, source), '');
  if (event.dryRun) {
    await clearIdentities();
    return {
      source,
      requestId,
      dryRun: true,
      identities,
      rowsDeleted: event.plan.rows,
      objects: objectsTotals,
      remainingRows: Object.values(event.plan.rows).reduce((a, b) => a + b, 0),
      startedAt: event.startedAt,
    };
  }

  const columns = new Map<string, string[]>();
  for (const r of await warehouse.query(CATALOG_QUERY, { schema }, 'catalog'))
    columns.set(String(r.table_name), [...(columns.get(String(r.table_name)) ?? []), String(r.column_name)]);
  const rowsDeleted: Record<string, number> = {};
  let remainingRows = 0;
  if (columns.has('_loads')) {
    await warehouse.run([...erasureTables(schema), ...pendingTables(schema)], `erasure tables of ${source}`);
    const who = staged(erasureLayout.identitiesManifest(requestId, source));
    const manifest = async (what: 'ids' | 'objects', prefix: string) => {
      const files = (await objects.list(config.STAGED_BUCKET, prefix)).map((o) => ({ key: o.key, bytes: o.size }));
      if (files.length === 0) return undefined;
      const key = erasureLayout.manifest(requestId, source, what);
      await objects.putJson(config.STAGED_BUCKET, key, manifestOf(config.STAGED_BUCKET, files));
      return staged(key);
    };
    const callTables = CALL_TABLES.filter((t) => columns.has(t)).map((table) => ({ table, columns: columns.get(table) as string[] }));
    await warehouse.run(
      erasureRegistryStatements({
        schema,
        requestId,
        whoManifest: who,
        copyRoleArn: config.COPY_ROLE_ARN,
        callTables,
        idsManifest: await manifest('ids', erasureLayout.idsPrefix(requestId, source)),
        objectsManifest: await manifest('objects', erasureLayout.objectsPrefix(requestId, source)),
      }),
      `erased messages of ${source}`,
    );

    const tables = [...columns]
      .filter(([t]) => !LEDGER_TABLES.has(t) && t !== '_discards' && t !== 'accounts')
      .map(([table, cols]) => ({ table, columns: cols }));
    const accounts = columns.get('accounts')?.filter((c) => !['id', 'received_at', 'uuid_ts'].includes(c));
    for (const t of tables) {
      const erase = eraseTableStatements({
        schema,
        table: t.table,
        columns: t.columns,
        whoManifest: who,
        copyRoleArn: config.COPY_ROLE_ARN,
        accounts: accounts ? { traits: accounts } : undefined,
      });
      if (!erase) continue;
      const d = await warehouse.run(erase.statements, `erase ${source}.${t.table}`);
      rowsDeleted[t.table] = Warehouse.affectedRows(d)[erase.countAt] ?? 0;
    }
    rowsDeleted._discards = event.plan.rows._discards ?? 0;
    const left = await warehouse.runQuery(remainingRowsStatements(schema, tables, who, config.COPY_ROLE_ARN), `rows left of the identities in ${source}`);
    remainingRows = Number(left[0]?.remaining ?? 0);

    const receiptKey = erasureLayout.receipt(requestId, source);
    const identitiesText = (await objects.getGunzipped(config.STAGED_BUCKET, erasureLayout.identities(requestId, source)))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .sort()
      .join('\n');
    const bytes = await objects.putGzip(
      config.STAGED_BUCKET,
      receiptKey,
      `${JSON.stringify({
        request_id: requestId,
        identities,
        identities_digest: digest(identitiesText),
        rows_deleted: JSON.stringify(rowsDeleted),
        objects_rewritten: objectsTotals.rewritten,
        lines_removed: objectsTotals.linesRemoved,
        remaining_rows: remainingRows,
        started_at: event.startedAt.replace('T', ' ').replace('Z', ''),
      })}\n`,
    );
    const receiptManifest = erasureLayout.receiptManifest(requestId, source);
    await objects.putJson(config.STAGED_BUCKET, receiptManifest, manifestOf(config.STAGED_BUCKET, [{ key: receiptKey, bytes }]));
    await warehouse.run(erasureReceiptStatements(schema, requestId, staged(receiptManifest), config.COPY_ROLE_ARN), `receipt of ${requestId}`);
  }
  await clearIdentities();
  const receipt: ErasureReceipt = {
    source,
    requestId,
    dryRun: false,
    identities,
    rowsDeleted,
    objects: objectsTotals,
    remainingRows,
    startedAt: event.startedAt,
  };
  logger.info('identities erased', { ...receipt });
  if (remainingRows > 0)
    throw new ErasureIncomplete(
      `${remainingRows} rows of the identities appeared in ${source} while they were being erased (a load that started before the request); run the same request again`,
    );
  return receipt;
}

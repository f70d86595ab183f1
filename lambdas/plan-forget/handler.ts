import { Logger } from '@aws-lambda-powertools/logger';
import { layout, manifestOf } from '../core/layout';
import { LEDGER_TABLES, schemaName } from '../core/naming';
import { checkForgetRequest, erasureLayout, type IdentityKind, suppress } from '../core/privacy';
import { CALL_TABLES, CATALOG_QUERY, expansionStatements, rowCountStatements } from '../core/sql';
import { loaderContext } from '../io/context';
import type { ErasureItem } from '../io/erasure';
import { SuppressionStore } from '../io/suppression';
import { s3Client } from '../io/clients';
import { ObjectStore } from '../io/objects';

const logger = new Logger({ serviceName: 'plan-forget' });

/** Items per Distributed Map batch: one RewriteObjects invocation reads this many objects or load folders. */
const ITEMS_PER_BATCH = 50;

export interface ForgetSourcePlan {
  readonly source: string;
  readonly userIds: number;
  readonly anonymousIds: number;
  /** Rows each table holds of the identities now (what a run deletes). */
  readonly rows: Record<string, number>;
}

export interface ForgetPlan {
  readonly requestId: string;
  readonly dryRun: boolean;
  readonly startedAt: string;
  readonly itemsKey: string;
  readonly items: number;
  readonly itemsPerBatch: number;
  readonly maxConcurrency: number;
  readonly settleSeconds: number;
  readonly sources: ForgetSourcePlan[];
}

/**
 * PlanForget: checks the request; per source, expands the user ids to the anonymous ids (and
 * aliases' previous ids) linked to them in the warehouse; writes the identities as a COPY file
 * (they never appear in SQL text); counts the rows each table holds of them; puts them on the
 * source's suppression list (not in a dry run); and lists every raw object, quarantine object and
 * staged load folder of the source for the rewrite.
 */
export async function handler(event: { request: unknown; executionName: string; startedAt: string }): Promise<ForgetPlan> {
  const { config, objects, warehouse } = loaderContext();
  const request = checkForgetRequest(
    event.request,
    config.SOURCES.map((s) => s.name),
  );
  const requestId = event.executionName.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80) || `forget-${Date.now()}`;
  const suppression = new SuppressionStore(new ObjectStore(s3Client()), config.CONTROL_BUCKET);
  const items: ErasureItem[] = [];
  const sources: ForgetSourcePlan[] = [];

  for (const source of request.sources) {
    const schema = schemaName(source);
    const columns = new Map<string, string[]>();
    for (const r of await warehouse.query(CATALOG_QUERY, { schema }, 'catalog')) {
      const t = String(r.table_name);
      columns.set(t, [...(columns.get(t) ?? []), String(r.column_name)]);
    }
    const userIds = new Set(request.userIds);
    const anonymousIds = new Set(request.anonymousIds);
    const writeWho = async () => {
      const lines = [
        ...[...userIds].map((value) => ({ kind: 'userId' as IdentityKind, value })),
        ...[...anonymousIds].map((value) => ({ kind: 'anonymousId' as IdentityKind, value })),
      ];
      const key = erasureLayout.identities(requestId, source);
      const bytes = await objects.putGzip(config.STAGED_BUCKET, key, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
      await objects.putJson(config.STAGED_BUCKET, erasureLayout.identitiesManifest(requestId, source), manifestOf(config.STAGED_BUCKET, [{ key, bytes }]));
    };
    await writeWho();
    const who = `s3://${config.STAGED_BUCKET}/${erasureLayout.identitiesManifest(requestId, source)}`;
    const callTables = CALL_TABLES.filter((t) => columns.has(t)).map((table) => ({ table, columns: columns.get(table) as string[] }));
    const linked = expansionStatements(schema, callTables, who, config.COPY_ROLE_ARN);
    if (linked) {
      for (const r of await warehouse.runQuery(linked, `identities linked to the request in ${source}`)) {
        const value = r.value === null ? undefined : String(r.value);
        if (!value) continue;
        if (r.kind === 'anonymousId' || r.kind === 'previousId') anonymousIds.add(value);
        if (r.kind === 'previousId') userIds.add(value);
      }
      await writeWho();
    }
    const tables = [...columns].filter(([t]) => !LEDGER_TABLES.has(t)).map(([table, cols]) => ({ table, columns: cols }));
    const counting = rowCountStatements(schema, tables, who, config.COPY_ROLE_ARN);
    const rows: Record<string, number> = {};
    if (counting) for (const r of await warehouse.runQuery(counting, `rows of the identities in ${source}`)) rows[String(r.table_name)] = Number(r.n);
    if (!request.dryRun) {
      const ids = [
        ...[...userIds].map((id) => ({ kind: 'userId' as IdentityKind, id })),
        ...[...anonymousIds].map((id) => ({ kind: 'anonymousId' as IdentityKind, id })),
      ];
      await suppression.write(source, suppress(await suppression.read(source), ids, requestId, new Date(event.startedAt)));
    }
    for (const o of await objects.list(config.RAW_BUCKET, `${source}/`)) items.push({ source, kind: 'raw', key: o.key });
    for (const o of await objects.list(config.RAW_BUCKET, `${config.QUARANTINE_PREFIX}${source}/`)) items.push({ source, kind: 'quarantine', key: o.key });
    for (const prefix of await objects.listPrefixes(config.STAGED_BUCKET, layout.loadsPrefix(source))) items.push({ source, kind: 'load', key: prefix });
    sources.push({ source, userIds: userIds.size, anonymousIds: anonymousIds.size, rows });
  }

  const itemsKey = erasureLayout.items(requestId);
  await objects.putJson(config.STAGED_BUCKET, itemsKey, items);
  const plan: ForgetPlan = {
    requestId,
    dryRun: request.dryRun,
    startedAt: event.startedAt,
    itemsKey,
    items: items.length,
    itemsPerBatch: ITEMS_PER_BATCH,
    maxConcurrency: config.BACKFILL_DEFAULT_CONCURRENCY,
    settleSeconds: request.dryRun ? 0 : config.SUPPRESSION_SETTLE_SECONDS,
    sources,
  };
  logger.info('forget planned', {
    requestId,
    dryRun: plan.dryRun,
    items: plan.items,
    sources: sources.map((s) => ({ source: s.source, userIds: s.userIds, anonymousIds: s.anonymousIds })),
  });
  return plan;
}

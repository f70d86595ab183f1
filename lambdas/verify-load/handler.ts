import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { VerificationFailedError } from '../core/errors';
import { layout, manifestOf, sqlTime } from '../core/layout';
import type { LoadPlan, LoadSummary, TablesFile } from '../core/loadTypes';
import { METRIC_NAMES, METRIC_SERVICES, METRICS_NAMESPACE } from '../core/metrics';
import { ledgerStatements, loadTablesQuery } from '../core/sql';
import { compactSummary, type CompactLoadSummary } from '../core/summary';
import { sfnClient } from '../io/clients';
import { loaderContext } from '../io/context';
import { LoadLocks } from '../io/loadLock';
import { IsolationStore } from '../io/isolation';
import { afterSuccess } from '../core/isolation';
import { readChunkStats } from '../io/catalog';

const logger = new Logger({ serviceName: 'verify-load' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRIC_SERVICES.loader });

export interface VerifyEvent {
  readonly loadId: string;
  readonly source: string;
  readonly planKey: string;
  readonly dryRun: boolean;
  readonly startedAt?: string;
  /** The load's execution: it releases the source's load lock when it holds it. */
  readonly executionId?: string;
}

/**
 * Verify: per table, the rows this load staged in the warehouse (from `_load_tables`) against the
 * transform's counts — a mismatch fails the execution; then records the raw objects in the
 * `_loads` ledger (the commit point: until then the objects count as pending and a re-run loads
 * them again, harmlessly). On a test run: the report of what would load, be discarded or change.
 */
export async function handler(event: VerifyEvent): Promise<CompactLoadSummary> {
  const { config, objects, warehouse } = loaderContext();
  const plan = await objects.getJson<LoadPlan>(config.STAGED_BUCKET, event.planKey);
  const chunks = await readChunkStats(objects, config.STAGED_BUCKET, event.source, event.loadId);
  const tablesFile = await objects.getJson<TablesFile>(config.STAGED_BUCKET, layout.tables(event.source, event.loadId));
  const expectedRows = new Map<string, number>();
  for (const c of chunks) for (const [t, s] of Object.entries(c.tables)) expectedRows.set(t, (expectedRows.get(t) ?? 0) + s.rows);

  const hours: LoadSummary['hours'] = {};
  for (const c of chunks)
    for (const o of c.objects) {
      const h = (hours[o.hour] ??= { events: 0, discardedEvents: 0, objects: 0 });
      h.events += o.events;
      h.discardedEvents += o.discardedEvents;
      h.objects++;
    }
  const events = chunks.reduce((n, c) => n + c.events, 0);
  const eventsDiscarded = chunks.reduce((n, c) => n + c.discardedEvents, 0);
  const transformDiscards = expectedRows.get('_discards') ?? 0;

  let tables: LoadSummary['tables'];
  if (event.dryRun) {
    tables = tablesFile.tables.map((t) => ({
      table: t.plan.table,
      rows: t.plan.expected.rows,
      valuesDiscarded: t.plan.expected.discardedValues,
      newColumns: t.plan.newColumns.length,
    }));
  } else {
    const loaded = new Map((await warehouse.query(loadTablesQuery(event.source, event.loadId), {}, 'load ledger')).map((r) => [String(r.table_name), r]));
    const mismatches: string[] = [];
    tables = tablesFile.tables.map((t) => {
      const row = loaded.get(t.plan.table);
      const staged = Number(row?.rows_staged ?? -1);
      const expected = expectedRows.get(t.plan.table) ?? 0;
      if (staged !== expected) mismatches.push(`${t.plan.table}: transform wrote ${expected} rows, the warehouse staged ${row ? staged : 'none'}`);
      const valuesDiscarded = Number(row?.values_discarded ?? 0);
      if (valuesDiscarded !== t.plan.expected.discardedValues)
        logger.warn('discarded values differ from the prediction', {
          table: t.plan.table,
          predicted: t.plan.expected.discardedValues,
          actual: valuesDiscarded,
        });
      return { table: t.plan.table, rows: staged, changed: Number(row?.rows_applied ?? 0), valuesDiscarded, newColumns: t.plan.newColumns.length };
    });
    if (mismatches.length > 0)
      throw new VerificationFailedError(`Load ${event.loadId} of ${event.source} does not add up: ${mismatches.join('; ')}`, { loadId: event.loadId });

    const ledgerRows = chunks
      .flatMap((c) => c.objects)
      .map((o) =>
        JSON.stringify({
          object_key: o.key,
          load_id: event.loadId,
          hour: sqlTime(o.hour),
          events: o.events,
          discarded_events: o.discardedEvents,
          staged_events: o.stagedEvents,
        }),
      );
    const fileKey = layout.ledgerFile(event.source, event.loadId);
    const bytes = await objects.putGzip(config.STAGED_BUCKET, fileKey, `${ledgerRows.join('\n')}\n`);
    const manifestKey = layout.ledgerManifest(event.source, event.loadId);
    await objects.putJson(config.STAGED_BUCKET, manifestKey, manifestOf(config.STAGED_BUCKET, [{ key: fileKey, bytes }]));
    await warehouse.run(ledgerStatements(event.source, `s3://${config.STAGED_BUCKET}/${manifestKey}`, config.COPY_ROLE_ARN), `ledger of ${event.loadId}`);
  }

  const dataTables = tables.filter((t) => t.table !== '_discards');
  const valuesDiscarded = tables.reduce((n, t) => n + t.valuesDiscarded, 0);
  const summary: LoadSummary = {
    source: event.source,
    loadId: event.loadId,
    status: event.dryRun ? 'DRY_RUN' : 'SUCCEEDED',
    dryRun: event.dryRun,
    mode: plan.mode,
    objects: plan.objects.length,
    events,
    eventsDiscarded,
    rowsLoaded: dataTables.reduce((n, t) => n + t.rows, 0),
    rowsChanged: dataTables.reduce((n, t) => n + (t.changed ?? 0), 0),
    valuesDiscarded,
    rowsDiscarded: transformDiscards + valuesDiscarded,
    tables,
    ddl: tablesFile.ddl,
    hours,
    more: plan.more,
    durationMs: event.startedAt ? Date.now() - Date.parse(event.startedAt) : 0,
  };
  await objects.putJson(config.STAGED_BUCKET, layout.summary(event.source, event.loadId), summary);
  if (!event.dryRun) {
    metrics.addDimension('Source', event.source);
    metrics.addMetric(METRIC_NAMES.rowsLoaded, MetricUnit.Count, summary.rowsLoaded);
    metrics.addMetric(METRIC_NAMES.rowsDiscarded, MetricUnit.Count, summary.rowsDiscarded);
    metrics.publishStoredMetrics();
  }
  // A committed pending load widens the window again after failures (core/isolation.ts).
  if (!event.dryRun && plan.mode === 'pending' && !plan.window) {
    const isolation = new IsolationStore(objects, config.STAGED_BUCKET, event.source);
    const state = await isolation.state();
    const next = afterSuccess(state, plan.objects.length, config.MAX_OBJECTS_PER_LOAD);
    if (next !== state) await isolation.save(next);
  }
  // Committed: the source is free for the next load.
  if (event.executionId) await new LoadLocks(objects, sfnClient(), config.STAGED_BUCKET).release(event.source, event.executionId);
  logger.info('load verified', { loadId: event.loadId, status: summary.status, events, rowsLoaded: summary.rowsLoaded, rowsDiscarded: summary.rowsDiscarded });
  // The state carries a compact summary within a fixed byte budget; the full one is in summary.json.
  return compactSummary(summary, layout.summary(event.source, event.loadId));
}

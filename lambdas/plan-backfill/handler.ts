import { Logger } from '@aws-lambda-powertools/logger';
import {
  type ArchiveBatchReport,
  archiveObjectsPerBatch,
  type HourPreview,
  importReport,
  type ImportReport,
  isArchiveFile,
  mergePreviews,
  schemaChanges,
  windowPreviews,
} from '../core/archive';
import { type BackfillPlan, type BackfillRequest, checkBackfillRequest, hoursBetween, type Window, windowsPerBatch } from '../core/backfill';
import { backfillLayout } from '../core/layout';
import { schemaName } from '../core/naming';
import { mergeStaged, type StagedTable } from '../core/schema';
import { archiveDays } from '../io/archiveImport';
import { readCatalog } from '../io/catalog';
import { loaderContext } from '../io/context';
import { listHours, warehouseSide } from '../io/verification';

const logger = new Logger({ serviceName: 'plan-backfill' });

type Context = ReturnType<typeof loaderContext>;

export interface PlanBackfillEvent {
  readonly request?: unknown;
  readonly executionId: string;
  readonly executionName: string;
  /** `mode: "import"`, second call: the plan whose archive objects are now imported. */
  readonly imported?: BackfillPlan;
}

/**
 * PlanBackfill: validates the request (each bad input fails at once with what to change),
 * enumerates (source, hour) windows — `reload`: every hour with raw data; `missing`: hours whose
 * raw objects are not all in the `_loads` ledger, or whose loaded messages a call table no longer
 * has (`_ids`) — and writes them to S3 for the Distributed Map. `import`: first lists the archive
 * objects of the archived days in the range (the import's Distributed Map reads them); called
 * again once they are imported, plans the hours they were received in as windows (or, on a dry
 * run, reports per window what the loads would stage, discard and change).
 */
export async function handler(event: PlanBackfillEvent): Promise<BackfillPlan> {
  const ctx = loaderContext();
  if (event.imported) return planImportedWindows(ctx, event.imported);
  const { config, objects, warehouse } = ctx;
  const configured = config.SOURCES.map((s) => s.name);
  const checked = checkBackfillRequest(event.request, {
    sources: configured,
    maxBackfillDays: config.MAX_BACKFILL_DAYS,
    ceiling: config.BACKFILL_CEILING,
    defaultConcurrency: config.BACKFILL_DEFAULT_CONCURRENCY,
    archiveBuckets: config.ARCHIVE_BUCKETS,
  });
  const req: BackfillRequest = checked.request;
  const backfillId = event.executionName.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80) || `backfill-${Date.now()}`;
  const base = {
    backfillId,
    itemsKey: backfillLayout.windows(backfillId),
    maxConcurrency: checked.maxConcurrency ?? config.BACKFILL_DEFAULT_CONCURRENCY,
    toleratedFailurePercentage: req.toleratedFailurePercentage ?? config.TOLERATED_FAILURE_PERCENTAGE,
    dryRun: req.dryRun,
    mode: req.mode,
    sources: checked.sources,
    from: req.from,
    to: req.to,
  };

  if (checked.archive) {
    const { bucket, prefix } = checked.archive;
    const days = await archiveDays(objects, bucket, prefix, checked.from as Date, checked.to as Date);
    const items: Array<{ key: string; size: number }> = [];
    let skipped = 0;
    for (const day of days) {
      for (const o of await objects.list(bucket, `${prefix}${day.getTime()}/`)) {
        if (isArchiveFile(o.key)) items.push({ key: o.key, size: o.size });
        else skipped++;
      }
    }
    const itemsKey = backfillLayout.archiveObjects(backfillId);
    await objects.putJson(config.STAGED_BUCKET, itemsKey, items);
    const plan: BackfillPlan = {
      ...base,
      windows: 0,
      windowsPerBatch: 1,
      loadMode: 'pending',
      estimate: { childExecutions: 0, loadExecutions: 0, stateTransitions: 0, dataApiCalls: 0 },
      import: {
        bucket,
        prefix,
        itemsKey,
        objects: items.length,
        skipped,
        days: days.length,
        objectsPerBatch: archiveObjectsPerBatch(items.map((i) => i.size)),
      },
    };
    logger.info('import planned', { ...plan });
    return plan;
  }

  let windows: Window[];
  if (checked.windows) {
    windows = checked.windows;
  } else {
    const from = checked.from as Date;
    const to = checked.to as Date;
    const hours = hoursBetween(from, to);
    windows = [];
    for (const source of checked.sources) {
      const byHour = new Map<string, string[]>();
      for (const o of await listHours(objects, config.RAW_BUCKET, source, hours[0], to)) byHour.set(o.hour, [...(byHour.get(o.hour) ?? []), o.key]);
      let wanted = [...byHour.keys()];
      if (req.mode === 'missing') {
        // Hours with raw objects not in the ledger, or whose registered messages a call table no longer has.
        const side = await warehouseSide(warehouse, source, hours[0], to);
        const loaded = new Set(side.ledger.map((l) => l.key));
        const gaps = new Set(side.registered.filter((r) => r.missing > 0).map((r) => r.hour));
        wanted = wanted.filter((h) => gaps.has(h) || (byHour.get(h) ?? []).some((k) => !loaded.has(k)));
      }
      windows.push(...hourWindows(source, wanted));
    }
  }
  const plan = await writeWindows(ctx, { ...base, loadMode: 'reload' }, windows);
  logger.info('backfill planned', { ...plan });
  return plan;
}

const hourWindows = (source: string, hours: ReadonlyArray<string>): Window[] =>
  [...hours].sort().map((hour) => ({ source, from: hour, to: new Date(Date.parse(hour) + 3_600_000).toISOString() }));

/** Writes the windows for the Distributed Map and completes the plan with its batching and estimate. */
async function writeWindows(ctx: Context, base: Omit<BackfillPlan, 'windows' | 'windowsPerBatch' | 'estimate'>, windows: Window[]): Promise<BackfillPlan> {
  await ctx.objects.putJson(ctx.config.STAGED_BUCKET, base.itemsKey, windows);
  const perBatch = windowsPerBatch(windows.length);
  const children = Math.ceil(windows.length / perBatch);
  return {
    ...base,
    windows: windows.length,
    windowsPerBatch: perBatch,
    // Per window: ~16 transitions in the backfill child and ~20 + 6 per table in the load; ~6 Data API calls + 4 per table (assumed 8 tables).
    estimate: {
      childExecutions: children,
      loadExecutions: windows.length,
      stateTransitions: children * 6 + windows.length * (16 + 20 + 6 * 8),
      dataApiCalls: windows.length * (6 + 4 * 8),
    },
  };
}

/** `import`, once the archive objects are imported: the report, and the hours received as windows (none on a dry run). */
async function planImportedWindows(ctx: Context, plan: BackfillPlan): Promise<BackfillPlan> {
  const { config, objects, warehouse } = ctx;
  const archive = plan.import;
  if (!archive) throw new Error(`Backfill ${plan.backfillId} is not an import`);
  const source = plan.sources[0];
  const listed = await objects.list(config.STAGED_BUCKET, backfillLayout.imports(plan.backfillId));
  const batches = await Promise.all(listed.map((o) => objects.getJson<ArchiveBatchReport>(config.STAGED_BUCKET, o.key)));
  const { hourList, ...totals } = importReport({ archive: `s3://${archive.bucket}/${archive.prefix}`, dryRun: plan.dryRun, skipped: archive.skipped, batches });
  let report: ImportReport = totals;
  if (plan.dryRun) {
    const hours: Record<string, HourPreview> = {};
    for (const b of batches) if (b.preview) mergePreviews(hours, b.preview);
    const catalog = await readCatalog(warehouse, schemaName(source));
    const all: Record<string, StagedTable> = {};
    for (const p of Object.values(hours)) mergeStaged(all, p.tables);
    report = { ...totals, schemaChanges: schemaChanges(all, catalog), windows: windowPreviews(source, hours, catalog) };
  }
  const reportKey = backfillLayout.importReport(plan.backfillId);
  await objects.putJson(config.STAGED_BUCKET, reportKey, report);
  // The archive's hours load what is not loaded yet (`pending`): what arrived live and loaded stays as it is.
  const next = await writeWindows(ctx, { ...plan, import: { ...archive, reportKey } }, plan.dryRun ? [] : hourWindows(source, hourList));
  logger.info('import done, windows planned', {
    backfillId: plan.backfillId,
    messages: report.messages,
    invalid: report.invalid,
    windows: next.windows,
    dryRun: plan.dryRun,
  });
  return next;
}

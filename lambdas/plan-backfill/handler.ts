import { Logger } from '@aws-lambda-powertools/logger';
import { type BackfillPlan, type BackfillRequest, checkBackfillRequest, hoursBetween, type Window, windowsPerBatch } from '../core/backfill';
import { loaderContext } from '../io/context';
import { listHours, warehouseSide } from '../io/verification';

const logger = new Logger({ serviceName: 'plan-backfill' });


/**
 * PlanBackfill: validates the request (each bad input fails at once with what to change),
 * enumerates (source, hour) windows — `reload`: every hour with raw data; `missing`: hours whose
 * raw objects are not all in the `_loads` ledger, or whose loaded messages a call table no longer
 * has (`_ids`) — and writes them to S3 for the Distributed Map.
 */
export async function handler(event: { request: unknown; executionId: string; executionName: string }): Promise<BackfillPlan> {
  const { config, objects, warehouse } = loaderContext();
  const configured = config.SOURCES.map((s) => s.name);
  const checked = checkBackfillRequest(event.request, {
    sources: configured,
    maxBackfillDays: config.MAX_BACKFILL_DAYS,
    ceiling: config.BACKFILL_CEILING,
    defaultConcurrency: config.BACKFILL_DEFAULT_CONCURRENCY,
  });
  const req: BackfillRequest = checked.request;
  const maxConcurrency = checked.maxConcurrency ?? config.BACKFILL_DEFAULT_CONCURRENCY;
  const tolerated = req.toleratedFailurePercentage ?? config.TOLERATED_FAILURE_PERCENTAGE;
  const backfillId = event.executionName.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80) || `backfill-${Date.now()}`;

  let windows: Window[];
  const sources = checked.sources;
  if (checked.windows) {
    windows = checked.windows;
  } else {
    const from = checked.from as Date;
    const to = checked.to as Date;
    const hours = hoursBetween(from, to);
    windows = [];
    for (const source of sources) {
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
      for (const hour of wanted.sort()) windows.push({ source, from: hour, to: new Date(Date.parse(hour) + 3_600_000).toISOString() });
    }
  }
  const itemsKey = `backfills/${backfillId}/windows.json`;
  await objects.putJson(config.STAGED_BUCKET, itemsKey, windows);
  const perBatch = windowsPerBatch(windows.length);
  const children = Math.ceil(windows.length / perBatch);
  const plan: BackfillPlan = {
    backfillId,
    itemsKey,
    windows: windows.length,
    windowsPerBatch: perBatch,
    maxConcurrency,
    toleratedFailurePercentage: tolerated,
    dryRun: req.dryRun,
    mode: req.mode,
    sources,
    from: req.from,
    to: req.to,
    // Per window: ~16 transitions in the backfill child and ~20 + 6 per table in the load; ~6 Data API calls + 4 per table (assumed 8 tables).
    estimate: { childExecutions: children, loadExecutions: windows.length, stateTransitions: children * 6 + windows.length * (16 + 20 + 6 * 8), dataApiCalls: windows.length * (6 + 4 * 8) },
  };
  logger.info('backfill planned', { ...plan });
  return plan;
}

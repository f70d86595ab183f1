import { Logger } from '@aws-lambda-powertools/logger';
import { type BackfillPlan, type BackfillSummary, summarize, type Window, type WindowResult } from '../core/backfill';
import { loaderContext } from '../io/context';

const logger = new Logger({ serviceName: 'summarize-backfill' });

/**
 * Summarize: per window and in total — objects, events, rows loaded and discarded, duration,
 * status — with the input that re-runs only the failed windows. Writes the full summary to S3
 * and returns it (windows capped so the state stays small).
 */
export async function handler(event: { plan: BackfillPlan; executionId: string; startedAt?: string }): Promise<BackfillSummary> {
  const { config, objects } = loaderContext();
  const { plan } = event;
  const planned = await objects.getJson<Window[]>(config.STAGED_BUCKET, plan.itemsKey);
  const listed = await objects.list(config.STAGED_BUCKET, `backfills/${plan.backfillId}/results/`);
  const results = (await Promise.all(listed.map((o) => objects.getJson<WindowResult[]>(config.STAGED_BUCKET, o.key)))).flat();
  const summary = summarize({
    backfillId: plan.backfillId,
    dryRun: plan.dryRun,
    mode: plan.mode,
    planned,
    results,
    toleratedFailurePercentage: plan.toleratedFailurePercentage,
    maxConcurrency: plan.maxConcurrency,
    durationMs: event.startedAt ? Date.now() - Date.parse(event.startedAt) : 0,
  });
  await objects.putJson(config.STAGED_BUCKET, `backfills/${plan.backfillId}/summary.json`, summary);
  logger.info('backfill summarized', { backfillId: plan.backfillId, status: summary.status, ...summary.totals });
  return summary.windows.length > 200 ? { ...summary, windows: summary.windows.filter((w) => w.status !== 'SUCCEEDED').slice(0, 200) } : summary;
}

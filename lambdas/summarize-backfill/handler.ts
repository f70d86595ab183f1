import { Logger } from '@aws-lambda-powertools/logger';
import { type BackfillPlan, compactBackfillSummary, type BackfillSummary, summarize, type Window, type WindowResult } from '../core/backfill';
import type { ImportReport } from '../core/archive';
import { backfillLayout } from '../core/layout';
import { loaderContext } from '../io/context';

const logger = new Logger({ serviceName: 'summarize-backfill' });

/**
 * Summarize: per window and in total — objects, events, rows loaded and discarded, duration,
 * status — with the input that re-runs only the failed windows. Writes the full summary to S3
 * and returns it compacted (the state stays far below 256 KiB; the full one is in S3).
 */
export async function handler(event: { plan: BackfillPlan; executionId: string; startedAt?: string }): Promise<BackfillSummary> {
  const { config, objects } = loaderContext();
  const { plan } = event;
  const planned = await objects.getJson<Window[]>(config.STAGED_BUCKET, plan.itemsKey);
  const listed = await objects.list(config.STAGED_BUCKET, backfillLayout.results(plan.backfillId));
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
    imported: plan.import?.reportKey ? await objects.getJson<ImportReport>(config.STAGED_BUCKET, plan.import.reportKey) : undefined,
  });
  await objects.putJson(config.STAGED_BUCKET, backfillLayout.summary(plan.backfillId), summary);
  logger.info('backfill summarized', { backfillId: plan.backfillId, status: summary.status, ...summary.totals });
  return compactBackfillSummary(summary);
}

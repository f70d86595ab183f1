import { createHash } from 'node:crypto';
import type { WindowResult } from '../core/backfill';
import { backfillLayout } from '../core/layout';
import { loaderContext } from '../io/context';

/**
 * RecordWindows: writes the results of one batch of backfill windows to S3, where Summarize
 * reads them (the same on AWS and locally; no ResultWriter needed). Named by the windows, so a
 * retry overwrites instead of adding.
 */
export async function handler(event: { backfillId: string; results: WindowResult[] }): Promise<{ windows: number }> {
  const { config, objects } = loaderContext();
  const id = createHash('sha256')
    .update(event.results.map((r) => `${r.window.source}|${r.window.from}`).join(','))
    .digest('hex')
    .slice(0, 24);
  const backfillId = event.backfillId.replace(/[^A-Za-z0-9_-]/g, '-');
  await objects.putJson(config.STAGED_BUCKET, backfillLayout.result(backfillId, id), event.results);
  return { windows: event.results.length };
}

import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { type ArchiveBatchReport, archiveDayOfKey, type HourPreview } from '../core/archive';
import { InvalidInputError } from '../core/errors';
import { backfillLayout } from '../core/layout';
import { loaderContext } from '../io/context';
import { importArchiveObject } from '../io/archiveImport';
import { SuppressionStore } from '../io/suppression';
import { addCounts } from '../core/counts';

const logger = new Logger({ serviceName: 'import-archive' });

export interface ImportBatchEvent {
  readonly Items: ReadonlyArray<{ readonly key: string; readonly size: number }>;
  readonly BatchInput: { readonly backfillId: string; readonly source: string; readonly bucket: string; readonly prefix: string; readonly dryRun: boolean };
}

/**
 * ImportArchive: one Distributed Map batch of archive objects of a `mode: "import"` backfill.
 * Each object is read once and written as raw objects of the hours its messages were received
 * in (on a dry run, only mapped through the transform and counted); the batch's report goes to
 * S3, named by its objects, so a retried batch overwrites its own report.
 */
export async function handler(event: ImportBatchEvent): Promise<{ objects: number; messages: number }> {
  const { config, objects } = loaderContext();
  const { backfillId, source, bucket, prefix, dryRun } = event.BatchInput;
  if (!config.SOURCES.some((s) => s.name === source)) throw new InvalidInputError(`Unknown source "${source}"`);
  const suppressed = await new SuppressionStore(objects, config.CONTROL_BUCKET, 0).matcher(source);
  const preview: Record<string, HourPreview> = {};
  const report: ArchiveBatchReport = { objects: [], invalidReasons: {}, hours: {}, preview: dryRun ? preview : undefined };
  for (const item of event.Items) {
    const day = archiveDayOfKey(prefix, item.key);
    if (!day) throw new InvalidInputError(`${item.key} is not under ${prefix}<received day as epoch milliseconds>/`);
    const r = await importArchiveObject(objects, { source, bucket, rawBucket: config.RAW_BUCKET, dryRun, suppressed, preview }, item.key, day);
    report.objects.push({
      key: item.key,
      day: day.toISOString().slice(0, 10),
      messages: r.messages,
      invalid: r.invalid,
      suppressed: r.suppressed,
      rawObjectsWritten: r.rawObjectsWritten,
    });
    addCounts(report.invalidReasons, r.invalidReasons);
    addCounts(report.hours, r.hours);
  }
  const batch = createHash('sha256')
    .update(event.Items.map((i) => i.key).join('\n'))
    .digest('hex')
    .slice(0, 32);
  await objects.putJson(config.STAGED_BUCKET, backfillLayout.importBatch(backfillId, batch), report);
  const messages = report.objects.reduce((n, o) => n + o.messages, 0);
  logger.info('archive batch imported', { backfillId, source, dryRun, objects: event.Items.length, messages, hours: Object.keys(report.hours).length });
  return { objects: event.Items.length, messages };
}

import { Writable } from 'node:stream';
import { type HourPreview, parseArchiveUri, schemaChanges, windowPreviews, type WindowPreview } from '../lambdas/core/archive';
import { schemaName } from '../lambdas/core/naming';
import { mergeStaged, type StagedTable } from '../lambdas/core/schema';
import { readCatalog } from '../lambdas/io/catalog';
import { QUARANTINE_PREFIX } from '../lambdas/core/layout';
import { archiveDays, type DayImport, importArchiveDay } from '../lambdas/io/archiveImport';
import { SuppressionStore } from '../lambdas/io/suppression';
import { runBackfill } from './backfill';
import { fmt, progressLine, table } from './format';
import { IMPORT_HELP } from './help';
import { dateOption, sourceOf, type Target, targetIo, UsageError } from './target';
import { addCounts } from '../lambdas/core/counts';

export { IMPORT_HELP };

export interface ImportOptions {
  readonly source?: string;
  readonly archive?: string;
  readonly from?: string;
  readonly to?: string;
  readonly dryRun?: boolean;
  readonly maxConcurrency?: number;
  readonly json?: boolean;
}

/** The totals of every day imported (hours: the windows the backfill loads), and per day its counts. */
export interface ImportSummary extends Pick<DayImport, 'messages' | 'invalid' | 'invalidReasons' | 'suppressed' | 'hours' | 'rawObjectsWritten'> {
  readonly source: string;
  readonly archive: string;
  readonly from: string;
  readonly to: string;
  readonly dryRun: boolean;
  readonly days: ReadonlyArray<Pick<DayImport, 'day' | 'objects' | 'skipped' | 'messages' | 'invalid'>>;
  /** The backfill's exit code (not run on a dry run, or when nothing was imported). */
  readonly backfillCode?: number;
  /** The backfill's summary (with --json). */
  readonly backfill?: unknown;
  /** Dry run: the tables the import would create and the columns it would add, against today's tables. */
  readonly schemaChanges?: ReadonlyArray<string>;
  /** Dry run: per hourly window, the events, rows per table, discards and schema changes. */
  readonly windows?: ReadonlyArray<WindowPreview>;
}

export async function runImport(
  target: Target,
  options: ImportOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const source = sourceOf(target, options.source, IMPORT_HELP).name;
  if (!options.archive) throw new UsageError(`--archive is required: s3://BUCKET/PREFIX/ of the Segment archive\n\n${IMPORT_HELP}`);
  const archive = parseArchiveUri(options.archive);
  if (!archive) throw new UsageError(`--archive must be s3://BUCKET/PREFIX/, not "${options.archive}"`);
  const from = dateOption('from', options.from);
  const to = dateOption('to', options.to);
  if (from >= to) throw new UsageError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);
  if (options.maxConcurrency !== undefined && !(Number.isInteger(options.maxConcurrency) && options.maxConcurrency > 0))
    throw new UsageError('--max-concurrency must be a positive integer');
  const io = targetIo(target);
  const objects = io.objects;
  const progress = progressLine(err, Boolean(options.json));
  try {
    const days = await archiveDays(objects, archive.bucket, archive.prefix, from, to);
    // Identities erased by `forget` are not imported again (the archive itself is Segment's to erase).
    const suppressed = target.buckets.control ? await new SuppressionStore(objects, target.buckets.control, 0).matcher(source) : undefined;
    let suppressedMessages = 0;
    const summaryDays: Array<ImportSummary['days'][number]> = [];
    const hours = new Set<string>();
    const reasons: Record<string, number> = {};
    const preview: Record<string, HourPreview> = {};
    let written = 0;
    for (const [d, day] of days.entries()) {
      const label = `day ${d + 1}/${days.length} (${day.toISOString().slice(0, 10)})`;
      const r = await importArchiveDay(
        objects,
        { source, bucket: archive.bucket, prefix: archive.prefix, day, rawBucket: target.buckets.raw, dryRun: Boolean(options.dryRun), suppressed, preview },
        (i, n, m) => progress(`${label}, object ${i}/${n}: ${fmt(m)} messages`),
      );
      for (const h of r.hours) hours.add(h);
      addCounts(reasons, r.invalidReasons);
      written += r.rawObjectsWritten;
      suppressedMessages += r.suppressed;
      summaryDays.push({ day: r.day, objects: r.objects, skipped: r.skipped, messages: r.messages, invalid: r.invalid });
    }
    progress(`read ${fmt(days.length)} archived days`, true);
    const sortedHours = [...hours].sort();
    let backfillCode: number | undefined;
    let backfill: unknown;
    if (!options.dryRun && sortedHours.length > 0) {
      const windows = sortedHours.map((h) => ({ source, from: h, to: new Date(Date.parse(h) + 3_600_000).toISOString() }));
      if (!options.json) out.write(`Wrote ${fmt(written)} raw objects for ${fmt(sortedHours.length)} hours; loading them…\n`);
      // With --json the backfill's own JSON summary goes into ours.
      const captured: string[] = [];
      const sink = options.json
        ? new Writable({
            write: (chunk, _enc, cb) => {
              captured.push(String(chunk));
              cb();
            },
          })
        : out;
      backfillCode = await runBackfill(
        target,
        { windows: JSON.stringify(windows), mode: 'missing', maxConcurrency: options.maxConcurrency, json: options.json },
        sink,
        err,
      );
      if (options.json && captured.length > 0) backfill = JSON.parse(captured.join(''));
    }
    let previewed: Pick<ImportSummary, 'schemaChanges' | 'windows'> = {};
    if (options.dryRun && sortedHours.length > 0) {
      // What the loads would stage, discard and change, from the same transform and schema planner they run.
      const catalog = await readCatalog(io.warehouse, schemaName(source));
      const all: Record<string, StagedTable> = {};
      for (const p of Object.values(preview)) mergeStaged(all, p.tables);
      previewed = { schemaChanges: schemaChanges(all, catalog), windows: windowPreviews(source, preview, catalog) };
    }
    const summary: ImportSummary = {
      source,
      archive: `s3://${archive.bucket}/${archive.prefix}`,
      from: from.toISOString(),
      to: to.toISOString(),
      dryRun: Boolean(options.dryRun),
      days: summaryDays,
      messages: summaryDays.reduce((n, x) => n + x.messages, 0),
      invalid: summaryDays.reduce((n, x) => n + x.invalid, 0),
      invalidReasons: reasons,
      suppressed: suppressedMessages,
      hours: sortedHours,
      rawObjectsWritten: written,
      backfillCode,
      backfill,
      ...previewed,
    };
    if (options.json) out.write(`${JSON.stringify(summary, null, 2)}\n`);
    else printSummary(summary, out);
    return backfillCode ?? 0;
  } finally {
    io.close();
  }
}

function printSummary(s: ImportSummary, out: NodeJS.WritableStream): void {
  out.write(
    `${s.dryRun ? 'Dry run: would import' : 'Imported'} ${fmt(s.messages)} messages from ${s.archive} into source ${s.source} (${s.days.length} days, ${s.hours.length} hours)${s.dryRun ? '; nothing was written' : ''}.\n`,
  );
  out.write(
    `${table([['day', 'objects', 'skipped (not .gz)', 'messages', 'invalid'], ...s.days.map((d) => [d.day, fmt(d.objects), fmt(d.skipped), fmt(d.messages), fmt(d.invalid)])])}\n`,
  );
  if (s.suppressed > 0) out.write(`Messages of erased identities (suppressed by forget) ${s.dryRun ? 'would be ' : ''}left out: ${fmt(s.suppressed)}\n`);
  if (s.windows && s.windows.length > 0) {
    const tables = [...new Set(s.windows.flatMap((w) => Object.keys(w.rows)))].sort();
    out.write(
      `\nPer hour, the rows the loads would stage:\n${table([['hour', 'events', 'discarded', ...tables], ...s.windows.map((w) => [w.from.slice(0, 13).replace('T', ' '), fmt(w.events), fmt(w.discardedEvents), ...tables.map((x) => fmt(w.rows[x] ?? 0))])])}\n`,
    );
    const reasons: Record<string, number> = {};
    for (const w of s.windows) addCounts(reasons, w.discards);
    if (Object.keys(reasons).length > 0)
      out.write(
        `Discards: ${Object.entries(reasons)
          .map(([r, n]) => `${r}: ${fmt(n)}`)
          .join('; ')}\n`,
      );
  }
  if (s.schemaChanges && s.schemaChanges.length > 0) out.write(`Schema changes the loads would make:\n${s.schemaChanges.map((c) => `  ${c}`).join('\n')}\n`);
  if (s.invalid > 0)
    out.write(
      `Invalid lines (${s.dryRun ? 'would be ' : ''}quarantined under ${QUARANTINE_PREFIX}${s.source}/): ${Object.entries(s.invalidReasons)
        .map(([r, n]) => `${r}: ${fmt(n)}`)
        .join('; ')}\n`,
    );
}

import { Writable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { parseArchiveUri } from '../lambdas/core/archive';
import { QUARANTINE_PREFIX } from '../lambdas/core/layout';
import { archiveDays, importArchiveDay } from '../lambdas/io/archiveImport';
import { SuppressionStore } from '../lambdas/io/suppression';
import { ObjectStore } from '../lambdas/io/objects';
import { runBackfill } from './backfill';
import { fmt, progressLine, table } from './format';
import { IMPORT_HELP } from './help';
import { clientConfig, dateOption, sourceOf, type Target, UsageError } from './target';

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

export interface ImportSummary {
  readonly source: string;
  readonly archive: string;
  readonly from: string;
  readonly to: string;
  readonly dryRun: boolean;
  readonly days: ReadonlyArray<{ readonly day: string; readonly objects: number; readonly skipped: number; readonly messages: number; readonly invalid: number }>;
  readonly messages: number;
  readonly invalid: number;
  readonly invalidReasons: Readonly<Record<string, number>>;
  /** Messages of identities erased by `forget`: not imported. */
  readonly suppressed: number;
  /** Hours (UTC) the imported messages were received in: the windows the backfill loads. */
  readonly hours: ReadonlyArray<string>;
  readonly rawObjectsWritten: number;
  /** The backfill's exit code (not run on a dry run, or when nothing was imported). */
  readonly backfillCode?: number;
  /** The backfill's summary (with --json). */
  readonly backfill?: unknown;
}


export async function runImport(target: Target, options: ImportOptions, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const source = sourceOf(target, options.source, IMPORT_HELP).name;
  if (!options.archive) throw new UsageError(`--archive is required: s3://BUCKET/PREFIX/ of the Segment archive\n\n${IMPORT_HELP}`);
  const archive = parseArchiveUri(options.archive);
  if (!archive) throw new UsageError(`--archive must be s3://BUCKET/PREFIX/, not "${options.archive}"`);
  const from = dateOption('from', options.from);
  const to = dateOption('to', options.to);
  if (from >= to) throw new UsageError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);
  if (options.maxConcurrency !== undefined && !(Number.isInteger(options.maxConcurrency) && options.maxConcurrency > 0)) throw new UsageError('--max-concurrency must be a positive integer');
  const s3 = new S3Client({ ...clientConfig(target), forcePathStyle: true });
  const objects = new ObjectStore(s3);
  const progress = progressLine(err, Boolean(options.json));
  try {
    const days = await archiveDays(objects, archive.bucket, archive.prefix, from, to);
    // Identities erased by `forget` are not imported again (the archive itself is Segment's to erase).
    const suppressed = target.buckets.control ? await new SuppressionStore(objects, target.buckets.control, 0).matcher(source) : undefined;
    let suppressedMessages = 0;
    const summaryDays: Array<ImportSummary['days'][number]> = [];
    const hours = new Set<string>();
    const reasons: Record<string, number> = {};
    let written = 0;
    for (const [d, day] of days.entries()) {
      const label = `day ${d + 1}/${days.length} (${day.toISOString().slice(0, 10)})`;
      const r = await importArchiveDay(objects, { source, bucket: archive.bucket, prefix: archive.prefix, day, rawBucket: target.buckets.raw, dryRun: Boolean(options.dryRun), suppressed }, (i, n, m) => progress(`${label}, object ${i}/${n}: ${fmt(m)} messages`));
      for (const h of r.hours) hours.add(h);
      for (const [reason, n] of Object.entries(r.invalidReasons)) reasons[reason] = (reasons[reason] ?? 0) + n;
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
      const sink = options.json ? new Writable({ write: (chunk, _enc, cb) => { captured.push(String(chunk)); cb(); } }) : out;
      backfillCode = await runBackfill(target, { windows: JSON.stringify(windows), mode: 'missing', maxConcurrency: options.maxConcurrency, json: options.json }, sink, err);
      if (options.json && captured.length > 0) backfill = JSON.parse(captured.join(''));
    }
    const summary: ImportSummary = {
      source, archive: `s3://${archive.bucket}/${archive.prefix}`, from: from.toISOString(), to: to.toISOString(), dryRun: Boolean(options.dryRun),
      days: summaryDays, messages: summaryDays.reduce((n, x) => n + x.messages, 0), invalid: summaryDays.reduce((n, x) => n + x.invalid, 0),
      invalidReasons: reasons, suppressed: suppressedMessages, hours: sortedHours, rawObjectsWritten: written, backfillCode, backfill,
    };
    if (options.json) out.write(`${JSON.stringify(summary, null, 2)}\n`);
    else printSummary(summary, out);
    return backfillCode ?? 0;
  } finally {
    s3.destroy();
  }
}

function printSummary(s: ImportSummary, out: NodeJS.WritableStream): void {
  out.write(`${s.dryRun ? 'Dry run: would import' : 'Imported'} ${fmt(s.messages)} messages from ${s.archive} into source ${s.source} (${s.days.length} days, ${s.hours.length} hours)${s.dryRun ? '; nothing was written' : ''}.\n`);
  out.write(`${table([['day', 'objects', 'skipped (not .gz)', 'messages', 'invalid'], ...s.days.map((d) => [d.day, fmt(d.objects), fmt(d.skipped), fmt(d.messages), fmt(d.invalid)])])}\n`);
  if (s.suppressed > 0) out.write(`Messages of erased identities (suppressed by forget) ${s.dryRun ? 'would be ' : ''}left out: ${fmt(s.suppressed)}\n`);
  if (s.invalid > 0) out.write(`Invalid lines (${s.dryRun ? 'would be ' : ''}quarantined under ${QUARANTINE_PREFIX}${s.source}/): ${Object.entries(s.invalidReasons).map(([r, n]) => `${r}: ${fmt(n)}`).join('; ')}\n`);
}


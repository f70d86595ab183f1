import { gunzipSync } from 'node:zlib';
import { S3Client } from '@aws-sdk/client-s3';
import { archiveDayOfKey, isArchiveFile, parseArchiveUri, reshard } from '../lambdas/core/archive';
import { hourOfKey, QUARANTINE_PREFIX } from '../lambdas/core/layout';
import { ObjectStore } from '../lambdas/io/objects';
import { runBackfill } from './backfill';
import { fmt, nullStream, progressLine, table } from './format';
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
  /** Hours (UTC) the imported messages were received in: the windows the backfill loads. */
  readonly hours: ReadonlyArray<string>;
  readonly rawObjectsWritten: number;
  /** The backfill's exit code (not run on a dry run, or when nothing was imported). */
  readonly backfillCode?: number;
}

const DAY_MS = 86_400_000;
const gunzipped = (body: Buffer) => (body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body); // objects stored with Content-Encoding: gzip may arrive decoded

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
    const folders = await objects.listPrefixes(archive.bucket, archive.prefix);
    const days = folders
      .map((p) => archiveDayOfKey(archive.prefix, p))
      .filter((d): d is Date => d !== undefined && d.getTime() < to.getTime() && d.getTime() + DAY_MS > from.getTime())
      .sort((a, b) => a.getTime() - b.getTime());
    const summaryDays: Array<ImportSummary['days'][number]> = [];
    const hours = new Set<string>();
    const reasons: Record<string, number> = {};
    let written = 0;
    for (const [d, day] of days.entries()) {
      const listed = await objects.list(archive.bucket, `${archive.prefix}${day.getTime()}/`);
      const files = listed.filter((o) => isArchiveFile(o.key));
      let messages = 0;
      let invalid = 0;
      for (const [f, file] of files.entries()) {
        progress(`day ${d + 1}/${days.length} (${day.toISOString().slice(0, 10)}), object ${f + 1}/${files.length}: ${fmt(messages)} messages`);
        // One read per archive object (a batch of messages), one write per (object, hour): no per-record calls.
        const r = reshard(source, file.key, gunzipped(await objects.get(archive.bucket, file.key)).toString('utf8'));
        messages += r.messages;
        invalid += r.invalid.length;
        for (const x of r.invalid) reasons[x.reason] = (reasons[x.reason] ?? 0) + 1;
        for (const key of r.objects.keys()) hours.add(hourOfKey(key) as string);
        if (options.dryRun) continue;
        for (const [key, lines] of r.objects) {
          await objects.putGzip(target.buckets.raw, key, `${lines.join('\n')}\n`);
          written++;
        }
        if (r.invalid.length > 0) {
          // Kept with their reason, as the collector keeps what it rejects.
          const name = key(file.key);
          const quarantined = r.invalid.map((x) => JSON.stringify({ reason: `${x.reason} (archive ${file.key}, line ${x.line})`, receivedAt: day.toISOString(), source, message: x.text }));
          await objects.putGzip(target.buckets.raw, `${QUARANTINE_PREFIX}${source}/${day.toISOString().slice(0, 10).replace(/-/g, '/')}/00/${name}.json.gz`, `${quarantined.join('\n')}\n`);
        }
      }
      summaryDays.push({ day: day.toISOString().slice(0, 10), objects: files.length, skipped: listed.length - files.length, messages, invalid });
    }
    progress(`read ${fmt(days.length)} archived days`, true);
    const sortedHours = [...hours].sort();
    let backfillCode: number | undefined;
    if (!options.dryRun && sortedHours.length > 0) {
      const windows = sortedHours.map((h) => ({ source, from: h, to: new Date(Date.parse(h) + 3_600_000).toISOString() }));
      if (!options.json) out.write(`Wrote ${fmt(written)} raw objects for ${fmt(sortedHours.length)} hours; loading them…\n`);
      backfillCode = await runBackfill(target, { windows: JSON.stringify(windows), mode: 'missing', maxConcurrency: options.maxConcurrency, json: options.json }, options.json ? nullStream() : out, err);
    }
    const summary: ImportSummary = {
      source, archive: `s3://${archive.bucket}/${archive.prefix}`, from: from.toISOString(), to: to.toISOString(), dryRun: Boolean(options.dryRun),
      days: summaryDays, messages: summaryDays.reduce((n, x) => n + x.messages, 0), invalid: summaryDays.reduce((n, x) => n + x.invalid, 0),
      invalidReasons: reasons, hours: sortedHours, rawObjectsWritten: written, backfillCode,
    };
    if (options.json) out.write(`${JSON.stringify(summary, null, 2)}\n`);
    else printSummary(summary, out);
    return backfillCode ?? 0;
  } finally {
    s3.destroy();
  }
}

/** A stable name for what one archive object leaves behind. */
const key = (archiveKey: string) => archiveKey.replace(/[^A-Za-z0-9._-]/g, '_').slice(-120);

function printSummary(s: ImportSummary, out: NodeJS.WritableStream): void {
  out.write(`${s.dryRun ? 'Dry run: would import' : 'Imported'} ${fmt(s.messages)} messages from ${s.archive} into source ${s.source} (${s.days.length} days, ${s.hours.length} hours)${s.dryRun ? '; nothing was written' : ''}.\n`);
  out.write(`${table([['day', 'objects', 'skipped (not .gz)', 'messages', 'invalid'], ...s.days.map((d) => [d.day, fmt(d.objects), fmt(d.skipped), fmt(d.messages), fmt(d.invalid)])])}\n`);
  if (s.invalid > 0) out.write(`Invalid lines (${s.dryRun ? 'would be ' : ''}quarantined under ${QUARANTINE_PREFIX}${s.source}/): ${Object.entries(s.invalidReasons).map(([r, n]) => `${r}: ${fmt(n)}`).join('; ')}\n`);
}


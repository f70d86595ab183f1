import { gunzipSync } from 'node:zlib';
import { archiveDayOfKey, type HourPreview, isArchiveFile, previewObject, reshard } from '../core/archive';
import { hourOfKey, QUARANTINE_PREFIX } from '../core/layout';
import type { IdentityMatcher } from '../core/privacy';
import type { ObjectStore } from './objects';
import { addCounts } from '../core/counts';

/** What importing one archived day did (or, on a dry run, would do). */
export interface DayImport {
  readonly day: string;
  readonly objects: number;
  /** Objects of the day that are not Segment files (not `.gz`). */
  readonly skipped: number;
  readonly messages: number;
  readonly invalid: number;
  readonly invalidReasons: Readonly<Record<string, number>>;
  /** Messages of erased (suppressed) identities: not written. */
  readonly suppressed: number;
  /** Hours (UTC) the day's messages were received in. */
  readonly hours: ReadonlyArray<string>;
  readonly rawObjectsWritten: number;
}

/** Objects stored with `Content-Encoding: gzip` may arrive decoded. */
const gunzipped = (body: Buffer) => (body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body);

/** The received days (UTC midnights) of a Segment archive that overlap [from, to), oldest first. */
export async function archiveDays(objects: ObjectStore, bucket: string, prefix: string, from: Date, to: Date): Promise<Date[]> {
  return (await objects.listPrefixes(bucket, prefix))
    .map((p) => archiveDayOfKey(prefix, p))
    .filter((d): d is Date => d !== undefined && d.getTime() < to.getTime() && d.getTime() + 86_400_000 > from.getTime())
    .sort((a, b) => a.getTime() - b.getTime());
}

/** What importing one archive object did (or, on a dry run, would do). */
export interface ObjectImport {
  readonly messages: number;
  readonly invalid: number;
  readonly invalidReasons: Readonly<Record<string, number>>;
  /** Messages of erased (suppressed) identities: not written. */
  readonly suppressed: number;
  /** Messages per hour (UTC) they were received in. */
  readonly hours: Readonly<Record<string, number>>;
  readonly rawObjectsWritten: number;
}

export interface ImportArgs {
  readonly source: string;
  readonly bucket: string;
  readonly rawBucket: string;
  readonly dryRun: boolean;
  readonly suppressed?: IdentityMatcher;
  /** On a dry run, what the loads would stage is added here per hour. */
  readonly preview?: Record<string, HourPreview>;
}

/**
 * Imports one object of a Segment archive: read once, its messages written, as archived, to raw
 * objects of the hours they were received in (keys named after the archive object, so a second
 * import overwrites with the same content); lines that are not Segment messages are quarantined
 * with their reason; messages of erased identities are left out. Nothing is written on a dry run.
 */
export async function importArchiveObject(objects: ObjectStore, args: ImportArgs, key: string, receivedDay: Date): Promise<ObjectImport> {
  const r = reshard(args.source, key, gunzipped(await objects.get(args.bucket, key)).toString('utf8'));
  const invalidReasons: Record<string, number> = {};
  for (const x of r.invalid) invalidReasons[x.reason] = (invalidReasons[x.reason] ?? 0) + 1;
  // Erased identities stay erased: their archived messages are not written back.
  const shards = new Map(r.objects);
  let suppressed = 0;
  if (args.suppressed && !args.suppressed.empty) {
    for (const [rawKey, lines] of shards) {
      const kept = lines.filter((l) => !args.suppressed?.message(JSON.parse(l)));
      suppressed += lines.length - kept.length;
      if (kept.length > 0) shards.set(rawKey, kept);
      else shards.delete(rawKey);
    }
  }
  const hours: Record<string, number> = {};
  for (const [rawKey, lines] of shards) {
    const hour = hourOfKey(rawKey) as string;
    hours[hour] = (hours[hour] ?? 0) + lines.length;
  }
  let written = 0;
  if (args.dryRun) {
    if (args.preview) for (const [rawKey, lines] of shards) previewObject(rawKey, lines, args.preview);
  } else {
    for (const [rawKey, lines] of shards) {
      await objects.putGzip(args.rawBucket, rawKey, `${lines.join('\n')}\n`);
      written++;
    }
    if (r.invalid.length > 0) {
      // Kept with their reason, as the collector keeps what it rejects.
      const name = key.replace(/[^A-Za-z0-9._-]/g, '_').slice(-120);
      const lines = r.invalid.map((x) =>
        JSON.stringify({ reason: `${x.reason} (archive ${key}, line ${x.line})`, receivedAt: receivedDay.toISOString(), source: args.source, message: x.text }),
      );
      await objects.putGzip(
        args.rawBucket,
        `${QUARANTINE_PREFIX}${args.source}/${receivedDay.toISOString().slice(0, 10).replace(/-/g, '/')}/00/${name}.json.gz`,
        `${lines.join('\n')}\n`,
      );
    }
  }
  return { messages: r.messages, invalid: r.invalid.length, invalidReasons, suppressed, hours, rawObjectsWritten: written };
}

/** Imports one archived day of a Segment source, object by object ({@link importArchiveObject}). */
export async function importArchiveDay(
  objects: ObjectStore,
  args: ImportArgs & { readonly prefix: string; readonly day: Date },
  progress: (object: number, of: number, messages: number) => void = () => undefined,
): Promise<DayImport> {
  const listed = await objects.list(args.bucket, `${args.prefix}${args.day.getTime()}/`);
  const files = listed.filter((o) => isArchiveFile(o.key));
  const hours = new Set<string>();
  const reasons: Record<string, number> = {};
  let messages = 0;
  let invalid = 0;
  let written = 0;
  let suppressed = 0;
  for (const [i, file] of files.entries()) {
    progress(i + 1, files.length, messages);
    const r = await importArchiveObject(objects, args, file.key, args.day);
    messages += r.messages;
    invalid += r.invalid;
    suppressed += r.suppressed;
    written += r.rawObjectsWritten;
    addCounts(reasons, r.invalidReasons);
    for (const h of Object.keys(r.hours)) hours.add(h);
  }
  return {
    day: args.day.toISOString().slice(0, 10),
    objects: files.length,
    skipped: listed.length - files.length,
    messages,
    invalid,
    invalidReasons: reasons,
    suppressed,
    hours: [...hours].sort(),
    rawObjectsWritten: written,
  };
}

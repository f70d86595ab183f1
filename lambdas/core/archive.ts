import { createHash } from 'node:crypto';
import { hourOfKey, hourPrefix } from './layout';
import { type Catalog, mergeStaged, planSchema, type StagedTable } from './schema';
import { tagOf } from './staged';
import { mapEvent, stageDiscard } from './transform';
import { addCounts } from './counts';

/**
 * Segment's S3 destination archives, read for an import of history: objects are
 * `[PREFIX/]segment-logs/<source-id>/<received day as epoch milliseconds>/<opaque name>.gz`, each a
 * gzip file of whole Segment messages, one JSON object per line. Pure: keys and lines in, the raw
 * objects of our layout out.
 */

const DAY_MS = 86_400_000;

/** The received day (UTC midnight) an archive object belongs to, from the key's folder under `prefix`. */
export function archiveDayOfKey(prefix: string, key: string): Date | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const m = /^(\d{10,16})\//.exec(key.slice(prefix.length));
  if (!m) return undefined;
  const ms = Number(m[1]);
  return ms % DAY_MS === 0 ? new Date(ms) : undefined;
}

/** Whether an archive object holds messages: Segment's files end in `.gz`; anything else is skipped. */
export const isArchiveFile = (key: string): boolean => key.endsWith('.gz');

/** `s3://bucket/prefix/` → its parts; the prefix always ends in `/` (or is empty). */
export function parseArchiveUri(uri: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/?(.*)$/.exec(uri);
  if (!m) return undefined;
  const prefix = m[2] === '' || m[2].endsWith('/') ? m[2] : `${m[2]}/`;
  return { bucket: m[1], prefix };
}

export interface Resharded {
  /** Raw objects to write: key in our raw layout → NDJSON lines (the messages as archived). */
  readonly objects: ReadonlyMap<string, string[]>;
  /** Lines that are not a Segment message we can place, with the reason. */
  readonly invalid: ReadonlyArray<{ readonly line: number; readonly reason: string; readonly text: string }>;
  readonly messages: number;
}

/**
 * One archive object's lines → raw objects of `source`, one per UTC hour of `receivedAt` (so
 * imported events land in the hours they were received), named after the archive object: an
 * import run twice writes the same keys with the same content. A line must be a JSON object with
 * a `messageId`, a `type` and a valid `receivedAt`; anything else is returned as invalid. The
 * messages themselves are kept as archived: the loads validate them as they validate live ones.
 */
export function reshard(source: string, archiveKey: string, text: string): Resharded {
  const objects = new Map<string, string[]>();
  const invalid: Array<{ line: number; reason: string; text: string }> = [];
  const name = `segment-archive-${createHash('sha256').update(archiveKey).digest('hex').slice(0, 24)}.gz`;
  let messages = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (e) {
      invalid.push({ line: i + 1, reason: `not JSON: ${(e as Error).message}`, text: line.slice(0, 1000) });
      return;
    }
    const m = message as { messageId?: unknown; type?: unknown; receivedAt?: unknown };
    const receivedAt = typeof m?.receivedAt === 'string' ? new Date(m.receivedAt) : undefined;
    const reason =
      message === null || typeof message !== 'object' || Array.isArray(message)
        ? 'not a JSON object'
        : typeof m.messageId !== 'string' || m.messageId === ''
          ? 'no messageId'
          : typeof m.type !== 'string'
            ? 'no type'
            : !receivedAt || Number.isNaN(receivedAt.getTime())
              ? 'no valid receivedAt'
              : undefined;
    if (reason) {
      invalid.push({ line: i + 1, reason, text: line.slice(0, 1000) });
      return;
    }
    const key = `${hourPrefix(source, receivedAt as Date)}${name}`;
    const lines = objects.get(key) ?? [];
    lines.push(line);
    objects.set(key, lines);
    messages++;
  });
  return { objects, invalid, messages };
}

/** What one hour of archived messages would load, predicted by the real transform (a dry run). */
export interface HourPreview {
  events: number;
  /** Events unusable as a whole (one `_discards` row each). */
  discardedEvents: number;
  /** Per table, the rows and the tags of the values the transform would stage. */
  tables: Record<string, StagedTable>;
  /** `_discards` rows by table, column and reason. */
  discards: Record<string, number>;
}

/** Distinct discard reasons kept per hour; the rest are counted together. */
const MAX_REASONS = 50;
const OTHER_REASONS = 'other reasons';

const emptyPreview = (): HourPreview => ({ events: 0, discardedEvents: 0, tables: {}, discards: {} });

function countReason(into: Record<string, number>, reason: string, n: number): void {
  const key = reason in into || Object.keys(into).length < MAX_REASONS ? reason : OTHER_REASONS;
  into[key] = (into[key] ?? 0) + n;
}

/**
 * Maps the messages of one raw object (as an import would write it) through the transform and
 * counts, per hour, what the load would stage: rows and value tags per table, and discards with
 * their reasons. Nothing is staged; the counts are what a dry run reports.
 */
export function previewObject(rawKey: string, lines: ReadonlyArray<string>, into: Record<string, HourPreview>): void {
  const hour = hourOfKey(rawKey);
  if (!hour) throw new Error(`${rawKey} is not a raw object key of the form <source>/YYYY/MM/DD/HH/…`);
  const p = (into[hour] ??= emptyPreview());
  lines.forEach((line, i) => {
    const mapped = mapEvent(JSON.parse(line), { object: rawKey, line: i });
    p.events++;
    if (mapped.discarded) p.discardedEvents++;
    const rows = [
      ...mapped.rows.map((r) => ({ table: r.table, values: r.values })),
      ...mapped.discards.map((d) => ({ table: '_discards', values: stageDiscard(d, 'dry-run') })),
    ];
    for (const row of rows) {
      const t = (p.tables[row.table] ??= { rows: 0, columns: {} });
      t.rows++;
      for (const [column, value] of Object.entries(row.values)) {
        const tags = (t.columns[column] ??= {});
        const tag = tagOf(value);
        tags[tag] = (tags[tag] ?? 0) + 1;
      }
    }
    for (const d of mapped.discards)
      countReason(p.discards, `${d.table_name || 'event'}${d.column_name ? `.${d.column_name}` : ''}: ${d.reason}`.slice(0, 200), 1);
  });
}

/** Adds the previews of one batch of archive objects to those of others. */
export function mergePreviews(into: Record<string, HourPreview>, from: Readonly<Record<string, HourPreview>>): Record<string, HourPreview> {
  for (const [hour, p] of Object.entries(from)) {
    const q = (into[hour] ??= emptyPreview());
    q.events += p.events;
    q.discardedEvents += p.discardedEvents;
    mergeStaged(q.tables, p.tables);
    for (const [reason, n] of Object.entries(p.discards)) countReason(q.discards, reason, n);
  }
  return into;
}

/** A dry run's report of one hourly window of an import. */
export interface WindowPreview {
  readonly source: string;
  readonly from: string;
  readonly to: string;
  readonly events: number;
  readonly discardedEvents: number;
  /** Rows the load would stage per table (`_discards` included); messages already loaded merge into their rows. */
  readonly rows: Readonly<Record<string, number>>;
  /** Values that do not fit an existing column's type (they would go to `_discards`). */
  readonly valuesDiscarded: number;
  readonly discards: Readonly<Record<string, number>>;
  /** Tables the load would create and columns it would add, against today's catalog. */
  readonly schemaChanges: ReadonlyArray<string>;
}

/** The schema changes that staging `tables` into `catalog` would make, in words. */
export function schemaChanges(tables: Record<string, StagedTable>, catalog: Catalog): string[] {
  const { plans, derived } = planSchema(tables, catalog);
  return [...plans, ...derived].flatMap((p) =>
    p.exists ? p.newColumns.map(([c, t]) => `add column ${p.table}.${c} ${t}`) : [`create table ${p.table} (${p.newColumns.length} columns)`],
  );
}

/** Per hour of an import's dry run: what each window would load, discard and change. */
export function windowPreviews(source: string, hours: Readonly<Record<string, HourPreview>>, catalog: Catalog): WindowPreview[] {
  return Object.keys(hours)
    .sort()
    .map((hour) => {
      const p = hours[hour];
      const { plans } = planSchema(p.tables, catalog);
      return {
        source,
        from: hour,
        to: new Date(Date.parse(hour) + 3_600_000).toISOString(),
        events: p.events,
        discardedEvents: p.discardedEvents,
        rows: Object.fromEntries(
          Object.entries(p.tables)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([t, s]) => [t, s.rows]),
        ),
        valuesDiscarded: plans.reduce((n, x) => n + x.expected.discardedValues, 0),
        discards: p.discards,
        schemaChanges: schemaChanges(p.tables, catalog),
      };
    });
}

/** Archive objects per import batch: about 256 MiB of archive per Lambda invocation, 1 to 50 objects. */
export function archiveObjectsPerBatch(sizes: ReadonlyArray<number>): number {
  if (sizes.length === 0) return 1;
  const average = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  return Math.min(50, Math.max(1, Math.floor((256 * 1024 * 1024) / Math.max(average, 1))));
}

/** What one batch of an import's archive objects did (written to S3 by each batch). */
export interface ArchiveBatchReport {
  readonly objects: Array<{
    readonly key: string;
    readonly day: string;
    readonly messages: number;
    readonly invalid: number;
    readonly suppressed: number;
    readonly rawObjectsWritten: number;
  }>;
  readonly invalidReasons: Record<string, number>;
  /** Messages per hour (UTC) received. */
  readonly hours: Record<string, number>;
  /** On a dry run: what the loads of each hour would stage. */
  readonly preview?: Record<string, HourPreview>;
}

/** An import's report: per archived day, in total, and (dry run) per window. */
export interface ImportReport {
  readonly archive: string;
  readonly dryRun: boolean;
  readonly days: Array<{ readonly day: string; readonly objects: number; readonly messages: number; readonly invalid: number; readonly suppressed: number }>;
  readonly objects: number;
  /** Objects of the archived days that are not Segment files (not `.gz`): not read. */
  readonly skipped: number;
  readonly messages: number;
  readonly invalid: number;
  readonly invalidReasons: Record<string, number>;
  readonly suppressed: number;
  readonly rawObjectsWritten: number;
  /** Hours (UTC) the messages were received in: the windows loaded after the import. */
  readonly hours: number;
  /** Dry run: the tables the import would create and columns it would add, against today's catalog. */
  readonly schemaChanges?: ReadonlyArray<string>;
  /** Dry run: per hourly window. */
  readonly windows?: ReadonlyArray<WindowPreview>;
}

/** Sums the batch reports of an import into its report (the windows are added by the caller). */
export function importReport(args: {
  archive: string;
  dryRun: boolean;
  skipped: number;
  batches: ReadonlyArray<ArchiveBatchReport>;
}): ImportReport & { hourList: string[] } {
  const days = new Map<string, { day: string; objects: number; messages: number; invalid: number; suppressed: number }>();
  const invalidReasons: Record<string, number> = {};
  const hours = new Set<string>();
  for (const b of args.batches) {
    for (const o of b.objects) {
      const d = days.get(o.day) ?? { day: o.day, objects: 0, messages: 0, invalid: 0, suppressed: 0 };
      d.objects++;
      d.messages += o.messages;
      d.invalid += o.invalid;
      d.suppressed += o.suppressed;
      days.set(o.day, d);
    }
    addCounts(invalidReasons, b.invalidReasons);
    for (const h of Object.keys(b.hours)) hours.add(h);
  }
  const objects = args.batches.flatMap((b) => b.objects);
  const sum = (f: (o: (typeof objects)[number]) => number) => objects.reduce((n, o) => n + f(o), 0);
  return {
    archive: args.archive,
    dryRun: args.dryRun,
    days: [...days.values()].sort((a, b) => a.day.localeCompare(b.day)),
    objects: objects.length,
    skipped: args.skipped,
    messages: sum((o) => o.messages),
    invalid: sum((o) => o.invalid),
    invalidReasons,
    suppressed: sum((o) => o.suppressed),
    rawObjectsWritten: sum((o) => o.rawObjectsWritten),
    hours: hours.size,
    hourList: [...hours].sort(),
  };
}

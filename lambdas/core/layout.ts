import { createHash } from 'node:crypto';

/**
 * Where each load keeps its files in the staged bucket: one folder per load, so a load's plan,
 * COPY files, manifests, statistics and summary are found by its id alone.
 */

/** An S3-safe, SQL-literal-safe path segment for a table (names may hold any letter). */
export function tableSegment(table: string): string {
  return /^[a-z0-9_]{1,100}$/.test(table) ? table : `u_${createHash('sha256').update(table, 'utf8').digest('hex').slice(0, 24)}`;
}

/** Prefix of the raw bucket where invalid events are kept with their reason. */
export const QUARANTINE_PREFIX = '_quarantine/';
/** Prefix of the raw bucket for records Firehose fails to process (only Lambda processing or format conversion failures: none here). */
export const FIREHOSE_ERROR_PREFIX = '_errors/';

export const layout = {
  /** Every load's folder of a source. */
  loadsPrefix: (source: string) => `loads/${source}/`,
  /** Who runs the source's pending load now (one at a time; see io/loadLock.ts). */
  loadLock: (source: string) => `locks/${source}/load.json`,
  /** The window of the source's pending loads after failures, and the objects set aside (core/isolation.ts). */
  isolationState: (source: string) => `isolation/${source}/state.json`,
  setAside: (source: string) => `isolation/${source}/set-aside.json`,
  loadPrefix: (source: string, loadId: string) => `loads/${source}/${loadId}/`,
  plan: (source: string, loadId: string) => `loads/${source}/${loadId}/plan.json`,
  statsPrefix: (source: string, loadId: string) => `loads/${source}/${loadId}/stats/`,
  stats: (source: string, loadId: string, chunk: number) => `loads/${source}/${loadId}/stats/chunk-${String(chunk).padStart(5, '0')}.json`,
  tableFile: (source: string, loadId: string, table: string, chunk: number, part: number) =>
    `loads/${source}/${loadId}/tables/${tableSegment(table)}/chunk-${String(chunk).padStart(5, '0')}-${part}.json.gz`,
  manifest: (source: string, loadId: string, table: string) => `loads/${source}/${loadId}/manifests/${tableSegment(table)}.json`,
  tables: (source: string, loadId: string) => `loads/${source}/${loadId}/tables.json`,
  ledgerFile: (source: string, loadId: string) => `loads/${source}/${loadId}/ledger/objects.json.gz`,
  ledgerManifest: (source: string, loadId: string) => `loads/${source}/${loadId}/ledger/manifest.json`,
  summary: (source: string, loadId: string) => `loads/${source}/${loadId}/summary.json`,
  failure: (source: string, loadId: string) => `failures/${source}/${loadId}.json`,
  /** A verification's report: `from`/`to` to the hour, the execution named when there is one. */
  verification: (source: string, from: string, to: string, executionName?: string) =>
    `verifications/${source}/${from.slice(0, 13)}_${to.slice(0, 13)}${executionName ? `_${executionName.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80)}` : ''}.json`,
} as const;

/** A backfill's files in the staged bucket, under `backfills/<backfill id>/`. */
export const backfillLayout = {
  prefix: (backfillId: string) => `backfills/${backfillId}/`,
  /** The (source, hour) windows the Distributed Map reads. */
  windows: (backfillId: string) => `backfills/${backfillId}/windows.json`,
  results: (backfillId: string) => `backfills/${backfillId}/results/`,
  result: (backfillId: string, batch: string) => `backfills/${backfillId}/results/${batch}.json`,
  summary: (backfillId: string) => `backfills/${backfillId}/summary.json`,
  /** `mode: "import"`: the archive objects the import reads, what each batch of them did, and the import's report. */
  archiveObjects: (backfillId: string) => `backfills/${backfillId}/archive-objects.json`,
  imports: (backfillId: string) => `backfills/${backfillId}/imports/`,
  importBatch: (backfillId: string, batch: string) => `backfills/${backfillId}/imports/${batch}.json`,
  importReport: (backfillId: string) => `backfills/${backfillId}/import.json`,
} as const;

/** The UTC hour a raw object belongs to, from its key `<source>/YYYY/MM/DD/HH/…`. */
export function hourOfKey(key: string): string | undefined {
  const m = /^[^/]+\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\//.exec(key);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:00:00.000Z` : undefined;
}

/** The key prefix of an hour: `<source>/YYYY/MM/DD/HH/`. */
export function hourPrefix(source: string, hour: Date): string {
  const iso = hour.toISOString();
  return `${source}/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}/`;
}

/** A time as the warehouse's TIMESTAMP text (`YYYY-MM-DD HH:MM:SS.mmm`, UTC), for bound parameters and COPY files. */
export function sqlTime(d: Date | string): string {
  return (typeof d === 'string' ? new Date(d) : d).toISOString().replace('T', ' ').replace('Z', '');
}

/** The warehouse's TIMESTAMP text (`YYYY-MM-DD HH:MM:SS[.fff]`, UTC) as a Date: the reverse of {@link sqlTime}. */
export function fromSqlTime(value: unknown): Date {
  return new Date(`${String(value).replace(' ', 'T')}Z`);
}

export function floorHour(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 3_600_000) * 3_600_000);
}

/** The manifest COPY reads: every file, mandatory, with its size. */
export function manifestOf(
  bucket: string,
  files: ReadonlyArray<{ key: string; bytes: number }>,
): { entries: Array<{ url: string; mandatory: boolean; meta: { content_length: number } }> } {
  return { entries: files.map((f) => ({ url: `s3://${bucket}/${f.key}`, mandatory: true, meta: { content_length: f.bytes } })) };
}

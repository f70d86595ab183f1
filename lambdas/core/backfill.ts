import { z } from 'zod';
import { InvalidInputError } from './errors';
import type { ImportReport } from './archive';
import { parseIsoDate } from './segment';

/** An ISO-8601 date-time with a zone; seconds optional (`2026-11-01T00:00Z`). */
export const isoDateTime = (error: string) => z.string({ error }).refine((s) => parseIsoDate(s) !== undefined, { error });

/**
 * The backfill request an operator types in the console, its windows, and its summary. Pure.
 */

export const BackfillRequestSchema = z
  .object({
    source: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], { error: 'source must be a source name, a list of names, or "*"' }).optional(),
    from: isoDateTime('from must be an ISO-8601 date-time such as 2026-11-01T00:00Z').optional(),
    to: isoDateTime('to must be an ISO-8601 date-time such as 2026-11-08T00:00Z').optional(),
    /** Exactly these windows (what a summary's re-run input lists). */
    windows: z
      .array(z.object({ source: z.string(), from: isoDateTime('must be an ISO-8601 date-time'), to: isoDateTime('must be an ISO-8601 date-time') }))
      .min(1)
      .optional(),
    mode: z
      .enum(['reload', 'missing', 'import'], {
        error: 'mode must be "reload" (every hour with data), "missing" (only hours not fully loaded) or "import" (a Segment archive)',
      })
      .default('reload'),
    /** `mode: "import"`: the Segment S3 destination archive to read, `{"bucket": "…", "prefix": "segment-logs/<source-id>/"}`. */
    archive: z
      .object(
        {
          bucket: z
            .string({ error: "archive.bucket must be the archive bucket's name" })
            .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'archive.bucket must be an S3 bucket name (not an ARN or s3:// URI)' }),
          prefix: z.string({ error: 'archive.prefix must be text such as "segment-logs/<source-id>/"' }).max(900).default(''),
        },
        { error: 'archive must be {"bucket": "…", "prefix": "segment-logs/<source-id>/"}' },
      )
      .strict()
      .optional(),
    dryRun: z.boolean({ error: 'dryRun must be true or false' }).default(false),
    maxConcurrency: z
      .number({ error: 'maxConcurrency must be a whole number' })
      .int({ error: 'maxConcurrency must be a whole number' })
      .min(1, { error: 'maxConcurrency must be at least 1' })
      .optional(),
    toleratedFailurePercentage: z.number().min(0).max(100).optional(),
  })
  .passthrough();

export type BackfillRequest = z.infer<typeof BackfillRequestSchema>;

/** What a backfill may ask for, from the environment's configuration. */
export interface BackfillLimits {
  readonly sources: ReadonlyArray<string>;
  readonly maxBackfillDays?: number;
  readonly ceiling?: number;
  readonly defaultConcurrency?: number;
  /** Buckets an import may read (cdk.json: archiveBuckets); undefined when unknown (the CLI of an older stack). */
  readonly archiveBuckets?: ReadonlyArray<string>;
}

/** A checked request: the sources it covers (or its exact windows) and its concurrency. */
export interface CheckedBackfill {
  readonly request: BackfillRequest;
  readonly sources: string[];
  readonly windows?: Window[];
  readonly from?: Date;
  readonly to?: Date;
  readonly maxConcurrency?: number;
  /** `mode: "import"`: the archive, its prefix ending in `/` (or empty). */
  readonly archive?: { readonly bucket: string; readonly prefix: string };
}

/**
 * Validates a backfill request against the environment's limits; each bad input throws an
 * InvalidInputError saying what to change. PlanBackfill runs it, and so does the CLI before it
 * starts an execution (with whatever limits it knows).
 */
export function checkBackfillRequest(input: unknown, limits: BackfillLimits): CheckedBackfill {
  const parsed = BackfillRequestSchema.safeParse(input);
  if (!parsed.success)
    throw new InvalidInputError(`Invalid backfill input: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`);
  const req = parsed.data;
  const configured = limits.sources;
  const maxConcurrency = req.maxConcurrency ?? limits.defaultConcurrency;
  if (maxConcurrency !== undefined && limits.ceiling !== undefined && maxConcurrency > limits.ceiling) {
    throw new InvalidInputError(
      `maxConcurrency ${maxConcurrency} is over the ceiling of ${limits.ceiling} (cdk.json: concurrency.backfillCeiling): use at most ${limits.ceiling}`,
    );
  }
  if (req.mode === 'import' && !req.archive)
    throw new InvalidInputError('mode "import" reads a Segment archive: give "archive": {"bucket": "…", "prefix": "segment-logs/<source-id>/"}');
  if (req.mode !== 'import' && req.archive) throw new InvalidInputError(`"archive" belongs to mode "import" (this request's mode is "${req.mode}")`);
  if (req.windows) {
    if (req.mode === 'import')
      throw new InvalidInputError('mode "import" takes "source", "from" and "to", not "windows" (re-run failed windows with mode "reload")');
    for (const w of req.windows)
      if (!configured.includes(w.source))
        throw new InvalidInputError(`Unknown source "${w.source}" in windows: configured sources are ${configured.join(', ')}`);
    const windows = req.windows.map((w) => ({ source: w.source, from: new Date(w.from).toISOString(), to: new Date(w.to).toISOString() }));
    return { request: req, sources: [...new Set(windows.map((w) => w.source))], windows, maxConcurrency };
  }
  if (req.source === undefined) throw new InvalidInputError('Name the source(s): "source": "web", ["web","app"] or "*"');
  if (!req.from || !req.to) throw new InvalidInputError('Give the range: "from" and "to", e.g. "from": "2026-11-01T00:00Z", "to": "2026-11-08T00:00Z"');
  const sources = req.source === '*' ? [...configured] : Array.isArray(req.source) ? req.source : [req.source];
  for (const s of sources)
    if (!configured.includes(s)) throw new InvalidInputError(`Unknown source "${s}": configured sources are ${configured.join(', ')} (or use "*")`);
  const from = new Date(req.from);
  const to = new Date(req.to);
  if (from >= to) throw new InvalidInputError(`"from" (${req.from}) must be before "to" (${req.to})`);
  const days = (to.getTime() - from.getTime()) / 86_400_000;
  if (limits.maxBackfillDays !== undefined && days > limits.maxBackfillDays) {
    throw new InvalidInputError(
      `The range is ${days.toFixed(1)} days; at most ${limits.maxBackfillDays} days per backfill (cdk.json: load.maxBackfillDays). Split it into several backfills.`,
    );
  }
  if (req.mode === 'import')
    return {
      request: req,
      sources,
      from,
      to,
      maxConcurrency,
      archive: checkArchive(req.archive as { bucket: string; prefix: string }, sources, limits.archiveBuckets),
    };
  return { request: req, sources, from, to, maxConcurrency };
}

/** An import reads one source's archive, from a bucket the environment grants read on. */
function checkArchive(
  archive: { bucket: string; prefix: string },
  sources: ReadonlyArray<string>,
  allowed: ReadonlyArray<string> | undefined,
): { bucket: string; prefix: string } {
  if (sources.length !== 1)
    throw new InvalidInputError(
      `An import reads the archive of one source: name one source, not ${sources.length} (each Segment source has its own archive prefix)`,
    );
  if (allowed !== undefined && !allowed.includes(archive.bucket)) {
    throw new InvalidInputError(
      allowed.length === 0
        ? `This environment may read no archive bucket: add "arn:aws:s3:::${archive.bucket}" to its "archiveBuckets" in cdk.json and deploy (docs/migrate-from-segment.md)`
        : `The bucket "${archive.bucket}" is not one this environment may read (${allowed.join(', ')}): add "arn:aws:s3:::${archive.bucket}" to its "archiveBuckets" in cdk.json and deploy`,
    );
  }
  const prefix = archive.prefix === '' || archive.prefix.endsWith('/') ? archive.prefix : `${archive.prefix}/`;
  return { bucket: archive.bucket, prefix };
}

/** What PlanBackfill returns into the state (`$.plan`); the windows themselves are in S3. */
export interface BackfillPlan {
  readonly backfillId: string;
  readonly itemsKey: string;
  readonly windows: number;
  readonly windowsPerBatch: number;
  readonly maxConcurrency: number;
  readonly toleratedFailurePercentage: number;
  readonly dryRun: boolean;
  readonly mode: 'reload' | 'missing' | 'import';
  /** How each window's load picks its objects: all of them (`reload`), or those not yet loaded (`pending`, after an import). */
  readonly loadMode: 'reload' | 'pending';
  readonly sources: string[];
  readonly from?: string;
  readonly to?: string;
  /** What the backfill will cost, before it runs. */
  readonly estimate: { readonly childExecutions: number; readonly loadExecutions: number; readonly stateTransitions: number; readonly dataApiCalls: number };
  /** `mode: "import"`: the archive and the objects its Distributed Map reads (then the report of what they gave). */
  readonly import?: {
    readonly bucket: string;
    readonly prefix: string;
    readonly itemsKey: string;
    readonly objects: number;
    readonly skipped: number;
    readonly days: number;
    readonly objectsPerBatch: number;
    /** Set once the objects are imported: the report's key. */
    readonly reportKey?: string;
  };
}

export interface Window {
  readonly source: string;
  readonly from: string;
  readonly to: string;
}

/** Whole hours covering [from, to). */
export function hoursBetween(from: Date, to: Date): Date[] {
  const out: Date[] = [];
  for (let t = Math.floor(from.getTime() / 3_600_000) * 3_600_000; t < to.getTime(); t += 3_600_000) out.push(new Date(t));
  return out;
}

/** Windows per child execution: one each up to 5,000 windows, then batched (at most 100 per child). */
export function windowsPerBatch(windows: number): number {
  return Math.min(100, Math.max(1, Math.ceil(windows / 5000)));
}

export interface WindowResult {
  readonly window: Window;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly load?: {
    readonly executionArn?: string;
    readonly startDate?: string | number;
    readonly stopDate?: string | number;
    readonly output?: Record<string, unknown>;
  };
  readonly error?: string;
  readonly cause?: string;
}

export interface BackfillSummary {
  readonly backfillId: string;
  readonly status: 'SUCCEEDED' | 'PARTIAL' | 'FAILED' | 'EMPTY';
  readonly message: string;
  readonly dryRun: boolean;
  readonly mode: string;
  readonly totals: {
    windows: number;
    succeeded: number;
    failed: number;
    notRun: number;
    objects: number;
    events: number;
    rowsLoaded: number;
    rowsDiscarded: number;
    durationMs: number;
  };
  readonly windows: Array<{
    source: string;
    from: string;
    to: string;
    status: string;
    objects: number;
    events: number;
    rowsLoaded: number;
    rowsDiscarded: number;
    durationMs: number;
    error?: string;
    cause?: string;
  }>;
  /** Start the backfill workflow with this input to re-run only the failed windows. */
  readonly rerunInput?: Record<string, unknown>;
  /** `mode: "import"`: what the archive gave (per day, in total; on a dry run per window and the schema changes). */
  readonly import?: ImportReport;
}

const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Summarizes the windows of a backfill (failed and never-run windows get a re-run input). */
export function summarize(args: {
  backfillId: string;
  dryRun: boolean;
  mode: string;
  planned: Window[];
  results: WindowResult[];
  toleratedFailurePercentage: number;
  maxConcurrency: number;
  durationMs: number;
  imported?: ImportReport;
}): BackfillSummary {
  const key = (w: Window) => `${w.source}|${w.from}`;
  const byWindow = new Map(args.results.map((r) => [key(r.window), r]));
  const windows = args.planned.map((w) => {
    const r = byWindow.get(key(w));
    if (!r) return { ...w, status: 'NOT_RUN', objects: 0, events: 0, rowsLoaded: 0, rowsDiscarded: 0, durationMs: 0 };
    const out = r.load?.output ?? {};
    const durationMs = r.load?.startDate && r.load?.stopDate ? new Date(r.load.stopDate).getTime() - new Date(r.load.startDate).getTime() : 0;
    return {
      ...w,
      status: r.status,
      objects: n(out.objects),
      events: n(out.events),
      rowsLoaded: n(out.rowsLoaded),
      rowsDiscarded: n(out.rowsDiscarded),
      durationMs: Number.isFinite(durationMs) ? durationMs : 0,
      ...(r.status === 'FAILED' ? { error: r.error, cause: causeText(r.cause) } : {}),
    };
  });
  const failed = windows.filter((w) => w.status !== 'SUCCEEDED');
  const totals = {
    windows: windows.length,
    succeeded: windows.length - failed.length,
    failed: windows.filter((w) => w.status === 'FAILED').length,
    notRun: windows.filter((w) => w.status === 'NOT_RUN').length,
    objects: windows.reduce((s, w) => s + w.objects, 0),
    events: windows.reduce((s, w) => s + w.events, 0),
    rowsLoaded: windows.reduce((s, w) => s + w.rowsLoaded, 0),
    rowsDiscarded: windows.reduce((s, w) => s + w.rowsDiscarded, 0),
    durationMs: args.durationMs,
  };
  const pct = windows.length ? (100 * failed.length) / windows.length : 0;
  const imported = args.imported;
  const previewed = imported?.dryRun === true && imported.messages + imported.invalid > 0;
  const status = previewed
    ? 'SUCCEEDED'
    : windows.length === 0
      ? 'EMPTY'
      : failed.length === 0
        ? 'SUCCEEDED'
        : pct <= args.toleratedFailurePercentage
          ? 'PARTIAL'
          : 'FAILED';
  const message = previewed
    ? `Dry run: would import ${imported.messages} messages (${imported.invalid} invalid lines to quarantine) into ${imported.hours} hourly windows; nothing was written.`
    : status === 'EMPTY'
      ? imported
        ? `The archive ${imported.archive} has no messages in the range (${imported.objects} objects read).`
        : 'No window in the range has raw data to load.'
      : status === 'SUCCEEDED'
        ? `All ${windows.length} windows loaded.`
        : `${failed.length} of ${windows.length} windows did not load (${pct.toFixed(1)}%, tolerated ${args.toleratedFailurePercentage}%). Re-run only them with: ${JSON.stringify(rerun(failed, args))}`;
  return {
    backfillId: args.backfillId,
    status,
    message,
    dryRun: args.dryRun,
    mode: args.mode,
    totals,
    windows,
    rerunInput: failed.length ? rerun(failed, args) : undefined,
    ...(imported ? { import: imported } : {}),
  };
}

/** Windows and previews a summary carries in the state; the full summary is in S3. */
const STATE_WINDOWS = 200;
const STATE_BYTES = 160 * 1024;

/**
 * The summary as the state carries it: at most 200 windows (the ones that did not load first),
 * and an import's dry-run previews cut to as many, with counts of what was left out.
 */
export function compactBackfillSummary(summary: BackfillSummary): BackfillSummary & { readonly omitted?: Record<string, number> } {
  const omitted: Record<string, number> = {};
  let windows = summary.windows;
  if (windows.length > STATE_WINDOWS) {
    const bad = windows.filter((w) => w.status !== 'SUCCEEDED');
    windows = (bad.length > 0 ? bad : windows).slice(0, STATE_WINDOWS);
    omitted.windows = summary.windows.length - windows.length;
  }
  let imported = summary.import;
  if (imported?.windows && imported.windows.length > STATE_WINDOWS) {
    omitted.importWindows = imported.windows.length - STATE_WINDOWS;
    imported = { ...imported, windows: imported.windows.slice(0, STATE_WINDOWS) };
  }
  if (imported?.schemaChanges && imported.schemaChanges.length > 1000) {
    omitted.schemaChanges = imported.schemaChanges.length - 1000;
    imported = { ...imported, schemaChanges: imported.schemaChanges.slice(0, 1000) };
  }
  // Previews carry per-table counts: halve them until the whole summary fits a budget well below 256 KiB.
  const size = () => Buffer.byteLength(JSON.stringify({ ...summary, windows, import: imported }));
  while (imported?.windows && imported.windows.length > 0 && size() > STATE_BYTES) {
    const keep = Math.floor(imported.windows.length / 2);
    omitted.importWindows = (omitted.importWindows ?? 0) + imported.windows.length - keep;
    imported = { ...imported, windows: imported.windows.slice(0, keep) };
  }
  return Object.keys(omitted).length === 0 ? summary : { ...summary, windows, ...(imported ? { import: imported } : {}), omitted };
}

function rerun(failed: Window[], args: { dryRun: boolean; maxConcurrency: number }): Record<string, unknown> {
  return { windows: failed.map(({ source, from, to }) => ({ source, from, to })), mode: 'reload', dryRun: args.dryRun, maxConcurrency: args.maxConcurrency };
}

function causeText(cause: string | undefined): string | undefined {
  if (!cause) return cause;
  try {
    const parsed = JSON.parse(cause) as { cause?: string; error?: string };
    if (parsed.cause) return `${parsed.error ?? ''}: ${parsed.cause}`.slice(0, 2000);
  } catch {
    // plain text
  }
  return cause.slice(0, 2000);
}

import { z } from 'zod';
import { parseIsoDate } from './segment';

/** An ISO-8601 date-time with a zone; seconds optional (`2026-11-01T00:00Z`). */
const isoDateTime = (error: string) => z.string({ error }).refine((s) => parseIsoDate(s) !== undefined, { error });
import type { Tag } from './transform';
import type { DerivedTable, TablePlan } from './schema';

/** The load workflow's input, as schedules, backfills and operators send it. */
export const LoadRequestSchema = z
  .object({
    source: z.string({ error: 'name the source to load, e.g. {"source": "web"}' }).min(1),
    window: z
      .object({ from: isoDateTime('window.from must be an ISO-8601 date-time'), to: isoDateTime('window.to must be an ISO-8601 date-time') })
      .refine((w) => Date.parse(w.from) < Date.parse(w.to), { error: 'window.from must be before window.to' })
      .optional(),
    mode: z.enum(['pending', 'reload'], { error: 'mode must be "pending" or "reload"' }).default('pending'),
    dryRun: z.boolean({ error: 'dryRun must be true or false' }).default(false),
  })
  .passthrough();

export type LoadRequest = z.infer<typeof LoadRequestSchema>;

export interface PlannedObject {
  readonly key: string;
  readonly size: number;
  readonly hour: string;
  readonly lastModified: string;
}

/** The plan PlanLoad writes to S3; state payloads carry only its key. */
export interface LoadPlan {
  readonly loadId: string;
  readonly source: string;
  readonly mode: 'pending' | 'reload';
  readonly dryRun: boolean;
  readonly window?: { readonly from: string; readonly to: string };
  readonly objects: PlannedObject[];
  /** Object indexes per transform chunk. */
  readonly chunks: number[][];
  /** More pending objects remain after this bounded load. */
  readonly more: boolean;
  readonly createdAt: string;
}

/** What PlanLoad returns into the state (`$.plan`). */
export interface PlanOutput {
  readonly loadId: string;
  readonly source: string;
  readonly planKey: string;
  readonly objects: number;
  readonly bytes: number;
  readonly chunks: Array<{ readonly index: number }>;
  readonly dryRun: boolean;
  readonly mode: 'pending' | 'reload';
  /** More pending objects remain after this bounded load. */
  readonly more: boolean;
  /** This pending load ended at once: the source's load is running (`runningLoad`). */
  readonly skipped?: boolean;
  readonly runningLoad?: string;
}

export interface ObjectStats {
  readonly key: string;
  readonly hour: string;
  events: number;
  discardedEvents: number;
  /** Events that reached a call table (every other event is discarded as a whole: events = staged + discarded). */
  stagedEvents: number;
}

export interface TableFileStats {
  rows: number;
  /** The oldest `received_at` staged (warehouse time, `YYYY-MM-DD HH:MM:SS.mmm`): where a bounded merge starts looking back from. */
  minReceivedAt?: string;
  columns: Record<string, Partial<Record<Tag, number>>>;
  files: Array<{ key: string; bytes: number }>;
}

/** What one Transform chunk staged (written to S3 beside its files). */
export interface ChunkStats {
  readonly loadId: string;
  readonly source: string;
  readonly chunk: number;
  readonly objects: ObjectStats[];
  readonly events: number;
  readonly discardedEvents: number;
  readonly tables: Record<string, TableFileStats>;
}

/** One table of a load, as PrepareSchema planned it and SubmitLoad runs it. */
export interface TableLoad {
  readonly plan: TablePlan;
  readonly manifestKey: string;
  /** The merge compares with rows received since then only (the merge window before the oldest staged row); absent: the whole table. */
  readonly mergeSince?: string;
  readonly derive?: DerivedTable;
}

export interface TablesFile {
  readonly loadId: string;
  readonly source: string;
  readonly tables: TableLoad[];
  readonly ddl: string[];
}

/** The load summary: the execution's output and `summary.json`. */
export interface LoadSummary {
  readonly source: string;
  readonly loadId: string;
  /** SKIPPED: the source's load was running (`runningLoad`); nothing was done. */
  readonly status: 'SUCCEEDED' | 'DRY_RUN' | 'EMPTY' | 'SKIPPED';
  readonly runningLoad?: string;
  readonly dryRun: boolean;
  readonly mode: 'pending' | 'reload';
  readonly objects: number;
  readonly events: number;
  readonly eventsDiscarded: number;
  readonly rowsLoaded: number;
  readonly rowsChanged: number;
  readonly valuesDiscarded: number;
  readonly rowsDiscarded: number;
  readonly tables: Array<{
    readonly table: string;
    readonly rows: number;
    readonly changed?: number;
    readonly valuesDiscarded: number;
    readonly newColumns: number;
  }>;
  readonly ddl: string[];
  readonly hours: Record<string, { events: number; discardedEvents: number; objects: number }>;
  readonly more: boolean;
  readonly durationMs: number;
}

/** A table load's statement as SubmitLoad and CheckStatement pass it along the workflow. */
export interface StatementState {
  readonly statementId: string;
  readonly table: string;
  readonly waitSeconds: number;
  readonly attempt: number;
  readonly finished: boolean;
}

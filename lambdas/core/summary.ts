import type { LoadSummary } from './loadTypes';

/** Step Functions passes at most 256 KiB between states; a load's output stays far below it. */
export const MAX_OUTPUT_BYTES = 32 * 1024;
/** A schema change longer than this is cut in the state output (the full text is in summary.json). */
const MAX_DDL_CHARS = 300;
/** Hours listed in the state output at most. */
const MAX_HOURS = 48;

export type CompactLoadSummary = LoadSummary & {
  /** Key of the full summary in the staged bucket. */
  readonly summaryKey: string;
  /** How many tables, schema changes and hours the state output leaves out (all are in summary.json). */
  readonly omitted: { readonly tables: number; readonly ddl: number; readonly hours: number };
};

const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x), 'utf8');

/**
 * What VerifyAndCommit hands to the next state: the summary's totals, and as many tables, schema changes
 * and hours as fit in `budget` bytes, whatever the load's size — never `States.DataLimitExceeded`,
 * which no Catch can handle. Whatever is left out is counted and kept whole in summary.json.
 */
export function compactSummary(summary: LoadSummary, summaryKey: string, budget = MAX_OUTPUT_BYTES): CompactLoadSummary {
  const hourEntries = Object.entries(summary.hours);
  const out = {
    ...summary,
    tables: [] as LoadSummary['tables'][number][],
    ddl: [] as string[],
    hours: hourEntries.length <= MAX_HOURS ? summary.hours : {},
    summaryKey,
    omitted: { tables: 0, ddl: 0, hours: hourEntries.length <= MAX_HOURS ? 0 : hourEntries.length },
  };
  if (bytes(out) > budget) {
    out.omitted.hours = hourEntries.length;
    out.hours = {};
  }
  let used = bytes(out);
  const fill = <T>(items: ReadonlyArray<T>, into: T[]): number => {
    let i = 0;
    for (; i < items.length; i++) {
      const size = bytes(items[i]) + 1;
      if (used + size > budget) break;
      into.push(items[i]);
      used += size;
    }
    return items.length - i;
  };
  out.omitted.tables = fill(summary.tables, out.tables);
  out.omitted.ddl = fill(
    summary.ddl.map((d) => (d.length > MAX_DDL_CHARS ? `${d.slice(0, MAX_DDL_CHARS - 1)}…` : d)),
    out.ddl,
  );
  return out;
}

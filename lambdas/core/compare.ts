import { isSanitizedIdentifier, quoteIdent } from './naming';
import type { ColumnType } from './transform';

/**
 * Compares our tables with the ones Segment loaded into the same warehouse (seed 001: verify new
 * against old). One aggregate query per table joins both sides on `id` over a `received_at`
 * range and answers per day: distinct ids on each side, ids only in one side (the smallest and
 * largest as examples) and, for ids in both, per column the rows whose values differ —
 * type-aware: timestamps to the millisecond, numbers numerically, everything else as text.
 * Pure: SQL in, report out.
 */

/** Columns that say when a row was loaded, not what was sent: never compared by default. */
export const DEFAULT_IGNORED_COLUMNS = ['uuid_ts'] as const;

/** Our own tables: the other side has nothing to compare them with. */
const OWN_ONLY = new Set(['_loads', '_load_tables', '_discards', '_ids', '_pending_ids', '_pending_discards']);

/** The most columns one query compares (each adds two aggregates); wider tables take more queries. */
const COLUMNS_PER_QUERY = 150;

const NUMERIC: ReadonlySet<string> = new Set(['BIGINT', 'INTEGER', 'SMALLINT', 'DOUBLE PRECISION', 'REAL', 'NUMERIC']);

/** A schema's columns and their types, as `information_schema.columns` has them. */
export type SchemaCatalog = Record<string, Record<string, ColumnType | string>>;

/** The SQL type of an `information_schema.columns.data_type`. */
export function comparableType(dataType: string): 'timestamp' | 'number' | 'text' {
  const t = dataType.toUpperCase();
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  if (NUMERIC.has(t) || t.startsWith('NUMERIC') || t === 'DOUBLE PRECISION') return 'number';
  return 'text';
}

export interface TablePlan {
  readonly table: string;
  /** Columns compared value by value, with how. */
  readonly columns: ReadonlyArray<{ readonly name: string; readonly how: 'timestamp' | 'number' | 'text' }>;
  readonly onlyOld: ReadonlyArray<string>;
  readonly onlyNew: ReadonlyArray<string>;
  /** Columns whose names we would not put into SQL (they did not come from a snake_case sanitizer). */
  readonly skipped: ReadonlyArray<string>;
}

export interface ComparePlan {
  readonly tables: ReadonlyArray<TablePlan>;
  readonly tablesOnlyOld: ReadonlyArray<string>;
  readonly tablesOnlyNew: ReadonlyArray<string>;
}

/** What to compare: tables both schemas have (with `id` and `received_at`), their common columns. */
export function planCompare(oldCatalog: SchemaCatalog, newCatalog: SchemaCatalog, ignored: ReadonlyArray<string> = DEFAULT_IGNORED_COLUMNS): ComparePlan {
  const comparable = (c: SchemaCatalog) => Object.keys(c).filter((t) => !OWN_ONLY.has(t) && c[t].id !== undefined && c[t].received_at !== undefined);
  const oldTables = new Set(comparable(oldCatalog));
  const newTables = new Set(comparable(newCatalog));
  const tables: TablePlan[] = [];
  for (const table of [...oldTables].filter((t) => newTables.has(t)).sort()) {
    const o = oldCatalog[table];
    const n = newCatalog[table];
    const common = Object.keys(o)
      .filter((c) => n[c] !== undefined && c !== 'id' && !ignored.includes(c))
      .sort();
    const how = (c: string): 'timestamp' | 'number' | 'text' => {
      const [a, b] = [comparableType(String(o[c])), comparableType(String(n[c]))];
      return a === b ? a : 'text';
    };
    tables.push({
      table,
      columns: common.filter(isSanitizedIdentifier).map((name) => ({ name, how: how(name) })),
      onlyOld: Object.keys(o)
        .filter((c) => n[c] === undefined)
        .sort(),
      onlyNew: Object.keys(n)
        .filter((c) => o[c] === undefined)
        .sort(),
      skipped: common.filter((c) => !isSanitizedIdentifier(c)),
    });
  }
  return {
    tables: tables.filter((t) => isSanitizedIdentifier(t.table)),
    tablesOnlyOld: [...oldTables].filter((t) => !newTables.has(t)).sort(),
    tablesOnlyNew: [...newTables].filter((t) => !oldTables.has(t)).sort(),
  };
}

/** A value as compared: the expression that makes both sides comparable. */
function comparable(side: 'o' | 'n', column: string, how: 'timestamp' | 'number' | 'text'): string {
  const ref = `${side}.${quoteIdent(column)}`;
  if (how === 'timestamp') return `DATE_TRUNC('millisecond', ${ref})`;
  if (how === 'number') return `CAST(${ref} AS DOUBLE PRECISION)`;
  return `CAST(${ref} AS VARCHAR(65535))`;
}

/**
 * The queries comparing one table (one, unless it has more than {@link COLUMNS_PER_QUERY} common
 * columns); bind `:from` and `:to` (ISO timestamps). Rows per day, ordered by day; the columns
 * are `day, ids_old, ids_new, only_old, only_new, only_old_min, only_old_max, only_new_min,
 * only_new_max`, then `d<i>` (rows that differ) and `e<i>` (the smallest such id) per column.
 */
export function compareQueries(oldSchema: string, newSchema: string, plan: TablePlan): string[] {
  const range = 'received_at >= CAST(:from AS TIMESTAMP) AND received_at < CAST(:to AS TIMESTAMP)';
  const side = (schema: string) => `(SELECT * FROM ${quoteIdent(schema)}.${quoteIdent(plan.table)} WHERE ${range})`;
  const groups: Array<TablePlan['columns']> = [];
  for (let i = 0; i < Math.max(plan.columns.length, 1); i += COLUMNS_PER_QUERY) groups.push(plan.columns.slice(i, i + COLUMNS_PER_QUERY));
  return groups.map((columns, g) => {
    const differs = columns.map(({ name, how }, i) => {
      const [a, b] = [comparable('o', name, how), comparable('n', name, how)];
      const cond = `o.id IS NOT NULL AND n.id IS NOT NULL AND ((${a} IS NULL AND ${b} IS NOT NULL) OR (${a} IS NOT NULL AND ${b} IS NULL) OR ${a} <> ${b})`;
      return `SUM(CASE WHEN ${cond} THEN 1 ELSE 0 END) AS d${g * COLUMNS_PER_QUERY + i}, MIN(CASE WHEN ${cond} THEN o.id END) AS e${g * COLUMNS_PER_QUERY + i}`;
    });
    return [
      "SELECT TO_CHAR(DATE_TRUNC('day', COALESCE(o.received_at, n.received_at)), 'YYYY-MM-DD') AS day,",
      'COUNT(DISTINCT o.id) AS ids_old, COUNT(DISTINCT n.id) AS ids_new,',
      'COUNT(DISTINCT CASE WHEN n.id IS NULL THEN o.id END) AS only_old, COUNT(DISTINCT CASE WHEN o.id IS NULL THEN n.id END) AS only_new,',
      'MIN(CASE WHEN n.id IS NULL THEN o.id END) AS only_old_min, MAX(CASE WHEN n.id IS NULL THEN o.id END) AS only_old_max,',
      'MIN(CASE WHEN o.id IS NULL THEN n.id END) AS only_new_min, MAX(CASE WHEN o.id IS NULL THEN n.id END) AS only_new_max',
      ...differs.map((d) => `, ${d}`),
      `FROM ${side(oldSchema)} o FULL OUTER JOIN ${side(newSchema)} n ON o.id = n.id`,
      'GROUP BY 1 ORDER BY 1',
    ].join(' ');
  });
}

export interface DayComparison {
  readonly day: string;
  readonly idsOld: number;
  readonly idsNew: number;
  readonly onlyOld: number;
  readonly onlyNew: number;
  /** The smallest and largest ids only in the old (new) table. */
  readonly onlyOldExamples: ReadonlyArray<string>;
  readonly onlyNewExamples: ReadonlyArray<string>;
  /** Columns whose values differ for ids in both: rows, and the smallest such id. */
  readonly differing: ReadonlyArray<{ readonly column: string; readonly rows: number; readonly example: string }>;
}

export interface TableComparison {
  readonly table: string;
  readonly equal: boolean;
  readonly days: ReadonlyArray<DayComparison>;
  readonly columnsCompared: number;
  readonly columnsOnlyOld: ReadonlyArray<string>;
  readonly columnsOnlyNew: ReadonlyArray<string>;
  readonly columnsSkipped: ReadonlyArray<string>;
}

export interface CompareReport {
  readonly oldSchema: string;
  readonly newSchema: string;
  readonly from: string;
  readonly to: string;
  readonly equal: boolean;
  readonly ignoredColumns: ReadonlyArray<string>;
  readonly tablesOnlyOld: ReadonlyArray<string>;
  readonly tablesOnlyNew: ReadonlyArray<string>;
  readonly tables: ReadonlyArray<TableComparison>;
}

type Row = Record<string, string | number | boolean | null>;

/** One table's comparison from the rows of its queries (one result per query, in order). */
export function tableComparison(plan: TablePlan, results: ReadonlyArray<ReadonlyArray<Row>>): TableComparison {
  const days = new Map<string, DayComparison & { differing: Array<DayComparison['differing'][number]> }>();
  results.forEach((rows, g) => {
    for (const r of rows) {
      const day = String(r.day);
      let d = days.get(day);
      if (!d) {
        const examples = (a: unknown, b: unknown) => [...new Set([a, b].filter((x) => x !== null && x !== undefined).map(String))];
        d = {
          day,
          idsOld: Number(r.ids_old),
          idsNew: Number(r.ids_new),
          onlyOld: Number(r.only_old),
          onlyNew: Number(r.only_new),
          onlyOldExamples: examples(r.only_old_min, r.only_old_max),
          onlyNewExamples: examples(r.only_new_min, r.only_new_max),
          differing: [],
        };
        days.set(day, d);
      }
      plan.columns.slice(g * COLUMNS_PER_QUERY, (g + 1) * COLUMNS_PER_QUERY).forEach(({ name }, i) => {
        const n = Number(r[`d${g * COLUMNS_PER_QUERY + i}`] ?? 0);
        if (n > 0) d.differing.push({ column: name, rows: n, example: String(r[`e${g * COLUMNS_PER_QUERY + i}`]) });
      });
    }
  });
  const list = [...days.values()]
    .sort((a, b) => a.day.localeCompare(b.day))
    .map((d) => ({ ...d, differing: [...d.differing].sort((a, b) => a.column.localeCompare(b.column)) }));
  return {
    table: plan.table,
    equal: list.every((d) => d.onlyOld === 0 && d.onlyNew === 0 && d.differing.length === 0),
    days: list,
    columnsCompared: plan.columns.length,
    columnsOnlyOld: plan.onlyOld,
    columnsOnlyNew: plan.onlyNew,
    columnsSkipped: plan.skipped,
  };
}

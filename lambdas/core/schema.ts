import { warehouseTime } from './staged';
import { addColumn, createSchema, createTable, ledgerTables } from './sql';
import { CALL_COLUMNS, type ColumnType, DISCARD_COLUMNS, STANDARD_COLUMNS, type Tag, acceptedTags, typeOfTag, widen } from './transform';

/**
 * Schema evolution: what each table must look like for the staged data, given the live
 * catalog. Never drops or narrows: an existing column's type wins (values that do not fit go to
 * `_discards`), new columns are added, and a table stops growing at 1,600 columns. Pure.
 */

export const MAX_COLUMNS_PER_TABLE = 1600;

/** Per table, what one or more transform chunks staged. */
export interface StagedTable {
  rows: number;
  /** column → non-null values per tag */
  columns: Record<string, Partial<Record<Tag, number>>>;
}

export type Catalog = Record<string, Record<string, ColumnType>>;

/** The kind of table decides its load: call/event tables merge on id; `_discards` appends once. */
export type TableKind = 'call' | 'event' | 'discards';

export interface TablePlan {
  readonly table: string;
  readonly kind: TableKind;
  /** Staged columns with their final types (existing or new). */
  readonly columnTypes: Record<string, ColumnType>;
  /** Staged columns the table cannot take (1,600-column cap): their values go to `_discards`. */
  readonly droppedColumns: string[];
  /** Columns to create (new table) or add (existing table), in order. */
  readonly newColumns: Array<[string, ColumnType]>;
  readonly exists: boolean;
  /** What the load will do, predicted from the staged counts (dry runs report this). */
  readonly expected: { readonly rows: number; readonly discardedValues: number; readonly conflicts: Record<string, number> };
}

/** Parses `information_schema.columns.data_type` into our column types. */
export function columnTypeOf(dataType: string): ColumnType {
  const t = dataType.toLowerCase();
  if (t === 'bigint' || t === 'integer' || t === 'smallint') return 'BIGINT';
  if (t === 'double precision' || t === 'real' || t === 'numeric') return 'DOUBLE PRECISION';
  if (t === 'boolean') return 'BOOLEAN';
  if (t.startsWith('timestamp')) return 'TIMESTAMP';
  return 'VARCHAR(65535)';
}

export function kindOf(table: string): TableKind {
  if (table === '_discards') return 'discards';
  return table in CALL_COLUMNS ? 'call' : 'event';
}

/** Columns a table always has, whatever was staged. */
export function fixedColumnsOf(table: string): Record<string, ColumnType> {
  if (table === '_discards') return { ...DISCARD_COLUMNS };
  if (table === 'users' || table === 'accounts') return { id: 'VARCHAR(65535)', received_at: 'TIMESTAMP', uuid_ts: 'TIMESTAMP' };
  if (Object.prototype.hasOwnProperty.call(CALL_COLUMNS, table)) return { ...STANDARD_COLUMNS, ...CALL_COLUMNS[table] };
  return { ...STANDARD_COLUMNS, ...CALL_COLUMNS.tracks };
}

/** Plans one table: final types of the staged columns, columns to add, predicted discards. */
export function planTable(table: string, staged: StagedTable, existing: Record<string, ColumnType> | undefined): TablePlan {
  const fixed = fixedColumnsOf(table);
  const current: Record<string, ColumnType> = { ...(existing ?? {}) };
  const newColumns: Array<[string, ColumnType]> = [];
  if (!existing)
    for (const [c, t] of Object.entries(fixed)) {
      current[c] = t;
      newColumns.push([c, t]);
    }
  const columnTypes: Record<string, ColumnType> = {};
  const droppedColumns: string[] = [];
  const conflicts: Record<string, number> = {};
  let discardedValues = 0;
  for (const column of Object.keys(staged.columns).sort()) {
    const tags = staged.columns[column];
    let type = current[column] ?? fixed[column];
    if (!type) {
      // A new column: the narrowest type that holds every staged value.
      type = (Object.keys(tags) as Tag[]).map(typeOfTag).reduce(widen);
      if (Object.keys(current).length >= MAX_COLUMNS_PER_TABLE) {
        droppedColumns.push(column);
        const n = Object.values(tags).reduce((a, b) => a + (b ?? 0), 0);
        discardedValues += n;
        conflicts[column] = n;
        continue;
      }
      current[column] = type;
      newColumns.push([column, type]);
    } else if (existing && !(column in existing) && !newColumns.some(([c]) => c === column)) {
      // A fixed column missing from an existing table (created by an older version): add it.
      current[column] = type;
      newColumns.push([column, type]);
    }
    columnTypes[column] = type;
    const accepted = new Set(acceptedTags(type));
    const bad = Object.entries(tags)
      .filter(([tag]) => !accepted.has(tag as Tag))
      .reduce((a, [, n]) => a + (n ?? 0), 0);
    if (bad > 0) {
      conflicts[column] = bad;
      discardedValues += bad;
    }
  }
  return {
    table,
    kind: kindOf(table),
    columnTypes,
    droppedColumns,
    newColumns,
    exists: Boolean(existing),
    expected: { rows: staged.rows, discardedValues, conflicts },
  };
}

/** Merges the staged statistics of several chunks. */
export function mergeStaged(into: Record<string, StagedTable>, from: Record<string, StagedTable>): Record<string, StagedTable> {
  for (const [table, s] of Object.entries(from)) {
    const t = (into[table] ??= { rows: 0, columns: {} });
    t.rows += s.rows;
    for (const [column, tags] of Object.entries(s.columns)) {
      const c = (t.columns[column] ??= {});
      for (const [tag, n] of Object.entries(tags)) c[tag as Tag] = (c[tag as Tag] ?? 0) + (n ?? 0);
    }
  }
  return into;
}

/** Trait columns of identifies / groups: what `users` / `accounts` carry besides id and times. */
export function traitColumns(callTable: 'identifies' | 'groups', types: Record<string, ColumnType>): Record<string, ColumnType> {
  const skip = new Set([...Object.keys(STANDARD_COLUMNS), ...Object.keys(CALL_COLUMNS[callTable])]);
  return Object.fromEntries(Object.entries(types).filter(([c]) => !skip.has(c) && !c.startsWith('context_')));
}

/** How a call table feeds its latest-state table (`identifies` → `users`, `groups` → `accounts`). */
export interface DerivedTable {
  readonly table: 'users' | 'accounts';
  readonly keyColumn: 'user_id' | 'group_id';
  readonly traits: Record<string, ColumnType>;
}

/** Plans every table of the load against the catalog, plus the `users` / `accounts` tables they feed. */
export function planSchema(
  staged: Record<string, StagedTable>,
  catalog: Catalog,
): { plans: TablePlan[]; derived: TablePlan[]; derive: Map<string, DerivedTable> } {
  const plans = Object.keys(staged)
    .sort()
    .map((table) => planTable(table, staged[table], catalog[table]));
  const derived: TablePlan[] = [];
  const derive = new Map<string, DerivedTable>();
  for (const [source, target, keyColumn] of [
    ['identifies', 'users', 'user_id'],
    ['groups', 'accounts', 'group_id'],
  ] as const) {
    const plan = plans.find((p) => p.table === source);
    if (!plan) continue;
    const allTypes: Record<string, ColumnType> = { ...(catalog[source] ?? {}), ...plan.columnTypes };
    const traits = traitColumns(source, allTypes);
    const tags = Object.fromEntries(Object.entries(traits).map(([c]) => [c, { s: 1 }]));
    // The derived table takes the trait types of its call table; planning it like a staged table adds missing columns.
    const derivedPlan = planTable(target, { rows: 0, columns: tags }, catalog[target]);
    derived.push({ ...derivedPlan, newColumns: derivedPlan.newColumns.map(([c, t]) => [c, traits[c] ?? t] as [string, ColumnType]) });
    derive.set(source, { table: target, keyColumn, traits });
  }
  return { plans, derived, derive };
}

/** The DDL that makes the catalog ready for the plans: idempotent, additive only. */
/** Columns the ledger tables gained later, in order: added to an existing ledger by the next load. */
export const LEDGER_COLUMNS_ADDED: ReadonlyArray<readonly [string, string, ColumnType]> = [['_loads', 'staged_events', 'BIGINT']];

export function ddlFor(schema: string, plans: TablePlan[], catalog: Catalog): string[] {
  const ddl = [createSchema(schema), ...ledgerTables(schema)];
  // Ledger columns added after a source's ledger was created (CREATE TABLE IF NOT EXISTS keeps the old shape).
  for (const [table, column, type] of LEDGER_COLUMNS_ADDED) if (catalog[table] && !catalog[table][column]) ddl.push(addColumn(schema, table, column, type));
  const all = [...plans];
  if (!all.some((p) => p.table === '_discards') && !catalog._discards) all.push(planTable('_discards', { rows: 0, columns: {} }, undefined));
  for (const p of all) {
    if (!p.exists) ddl.push(createTable(schema, p.table, p.newColumns));
    else for (const [c, t] of p.newColumns) ddl.push(addColumn(schema, p.table, c, t));
  }
  return ddl;
}

/**
 * Where a table load's merge starts looking for earlier copies of its messages: `windowDays` before
 * the oldest `received_at` any chunk staged for the table. Undefined — compare with the whole table —
 * when the window is 0 or a chunk with rows did not record its oldest time.
 */
export function mergeSince(chunks: ReadonlyArray<{ rows: number; minReceivedAt?: string } | undefined>, windowDays: number): string | undefined {
  if (windowDays <= 0) return undefined;
  let oldest: string | undefined;
  for (const c of chunks) {
    if (!c || c.rows === 0) continue;
    if (c.minReceivedAt === undefined) return undefined;
    if (oldest === undefined || c.minReceivedAt < oldest) oldest = c.minReceivedAt;
  }
  if (oldest === undefined) return undefined;
  const at = Date.parse(`${oldest.replace(' ', 'T')}Z`);
  if (Number.isNaN(at)) return undefined;
  return warehouseTime(new Date(at - windowDays * 86_400_000));
}

import { quoteIdent, schemaName } from './naming';
import type { TablePlan } from './schema';
import { stagedSql } from './staged';
import { type ColumnType, DISCARD_COLUMNS } from './transform';

/**
 * Every SQL statement the stack runs, in Redshift's dialect. Identifiers go through
 * {@link quoteIdent}; the few literals are values we generate ourselves and are checked against a
 * strict pattern before use; event data never appears in SQL — it moves through COPY files.
 * Every statement stays under the Data API's 100 KB limit (checked).
 */

export const MAX_STATEMENT_BYTES = 95_000;

/** Statements one BatchExecuteStatement takes at most (Data API quota: 40 SQL statements per batch). */
export const MAX_BATCH_STATEMENTS = 40;

/** Splits statements into batches the Data API accepts. */
export function batches(statements: ReadonlyArray<string>, size = MAX_BATCH_STATEMENTS): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < statements.length; i += size) out.push(statements.slice(i, i + size));
  return out;
}

const PATTERNS = {
  loadId: /^[A-Za-z0-9_-]{1,100}$/,
  name: /^[\p{L}\p{N}_]{1,127}$/u,
  s3Uri: /^s3:\/\/[a-z0-9][a-z0-9.-]{1,62}\/[A-Za-z0-9_./=-]+$/,
  roleArn: /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
  reason: /^[A-Za-z0-9 ,.;:()_'-]{1,300}$/,
  timestamp: /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$/,
} as const;

/** A string literal of a value we generated, after checking it against `kind`'s pattern. */
export function literal(value: string, kind: keyof typeof PATTERNS): string {
  if (!PATTERNS[kind].test(value)) throw new Error(`Refusing to put ${JSON.stringify(value).slice(0, 80)} into SQL as a ${kind}`);
  return `'${value.replace(/'/g, "''")}'`;
}

function check(statements: string[]): string[] {
  for (const s of statements) {
    const bytes = Buffer.byteLength(s, 'utf8');
    if (bytes > MAX_STATEMENT_BYTES) throw new Error(`A generated statement is ${bytes} bytes, over the Data API limit; it starts: ${s.slice(0, 120)}`);
  }
  return statements;
}

const q = quoteIdent;
const tableRef = (schema: string, table: string) => `${q(schemaName(schema))}.${q(table)}`;

// ---------------------------------------------------------------------------------------------
// Warehouse identity (run once, by the namespace admin: docs/deploy.md, "Warehouse identity")
// ---------------------------------------------------------------------------------------------

/**
 * The database role of the loaders' user. The user role carries it in its `RedshiftDbRoles`
 * principal tag (a colon-separated list of role names), which Redshift Serverless reads at sign-in.
 */
export const LOADER_DATABASE_ROLE = 'clickstream_loader';

/** Whether the loaders' database role exists; bind `:role`. */
export const ROLE_EXISTS_QUERY = 'SELECT COUNT(*) AS n FROM svv_roles WHERE role_name = :role';

/** Creates the loaders' role (unless `exists`) and lets it create schemas in `database`. */
export function bootstrapStatements(database: string, exists: boolean): string[] {
  const role = q(LOADER_DATABASE_ROLE);
  return check([...(exists ? [] : [`CREATE ROLE ${role}`]), `GRANT CREATE ON DATABASE ${q(database)} TO ROLE ${role}`]);
}

// ---------------------------------------------------------------------------------------------
// Catalog and DDL
// ---------------------------------------------------------------------------------------------

/** Columns of every table of a schema; bind `:schema`. */
export const CATALOG_QUERY =
  'SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = :schema ORDER BY table_name, ordinal_position';

export function createSchema(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${q(schemaName(schema))}`;
}

/** A table distributed on `id` (the merge joins on it) and sorted on `received_at`. */
export function createTable(schema: string, table: string, columns: ReadonlyArray<[string, ColumnType]>): string {
  const hasKeys = columns.some(([c]) => c === 'id') && columns.some(([c]) => c === 'received_at');
  const body = columns.map(([c, t]) => `${q(c)} ${t}`).join(', ');
  return check([`CREATE TABLE IF NOT EXISTS ${tableRef(schema, table)} (${body})${hasKeys ? ' DISTKEY(id) SORTKEY(received_at)' : ''}`])[0];
}

export function addColumn(schema: string, table: string, column: string, type: ColumnType): string {
  return `ALTER TABLE ${tableRef(schema, table)} ADD COLUMN ${q(column)} ${type}`;
}

/**
 * The ledger tables every source schema has. `_pending_ids` and `_pending_discards` take what the
 * table loads of a load register (ids by raw-object hour, discarded values): a table load only
 * appends to them, without reading them, so concurrent table loads never form a serializable-
 * isolation cycle over shared tables (Redshift error 1023); the load's commit moves them, deduped,
 * into `_ids` and `_discards` in one transaction.
 */
export function ledgerTables(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${tableRef(schema, '_loads')} (object_key VARCHAR(1024), load_id VARCHAR(128), hour TIMESTAMP, events BIGINT, discarded_events BIGINT, loaded_at TIMESTAMP, staged_events BIGINT) SORTKEY(hour)`,
    `CREATE TABLE IF NOT EXISTS ${tableRef(schema, '_load_tables')} (load_id VARCHAR(128), table_name VARCHAR(256), rows_staged BIGINT, rows_applied BIGINT, values_discarded BIGINT, loaded_at TIMESTAMP) SORTKEY(loaded_at)`,
    `CREATE TABLE IF NOT EXISTS ${tableRef(schema, '_ids')} (id VARCHAR(65535), table_name VARCHAR(256), object_hour TIMESTAMP) DISTKEY(id) SORTKEY(object_hour)`,
    ...pendingTables(schema),
    ...erasureTables(schema),
  ];
}

/** Where table loads register ids and discarded values until their load commits (see ledgerTables). */
export function pendingTables(schema: string): string[] {
  const discardColumns = Object.entries(DISCARD_COLUMNS)
    .map(([c, t]) => `${q(c)} ${t}`)
    .join(', ');
  return [
    `CREATE TABLE IF NOT EXISTS ${tableRef(schema, '_pending_ids')} (load_id VARCHAR(128), id VARCHAR(65535), table_name VARCHAR(256), object_hour TIMESTAMP) DISTKEY(id)`,
    `CREATE TABLE IF NOT EXISTS ${tableRef(schema, '_pending_discards')} (${discardColumns}) DISTKEY(id)`,
  ];
}

/** Erased messages (moved out of `_ids`, or found only in raw objects) by raw-object hour, and one receipt per forget request. */
export function erasureTables(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${tableRef(schema, '_erased_ids')} (request_id VARCHAR(128), id VARCHAR(65535), table_name VARCHAR(256), object_hour TIMESTAMP, erased_at TIMESTAMP) DISTKEY(id) SORTKEY(object_hour)`,
    `CREATE TABLE IF NOT EXISTS ${tableRef(schema, '_erasures')} (request_id VARCHAR(128), identities BIGINT, identities_digest VARCHAR(64), rows_deleted VARCHAR(65535), objects_rewritten BIGINT, lines_removed BIGINT, remaining_rows BIGINT, started_at TIMESTAMP, finished_at TIMESTAMP) SORTKEY(finished_at)`,
  ];
}

/** Call tables: one row per message; `_ids` registers their ids by raw-object hour. */
export const CALL_TABLES = ['tracks', 'pages', 'screens', 'identifies', 'groups', 'aliases'] as const;

/**
 * Per raw-object hour and call table: the messages the loads registered in `_ids`, and how many
 * of them the table no longer has (rows deleted or lost after their load). What `verify` and
 * `missing` backfills compare. Bind `:from` and `:to`; pass only call tables that exist.
 */
export function registeredIdsQuery(schema: string, tables: ReadonlyArray<string>): string {
  const ids = tableRef(schema, '_ids');
  const branches = tables.map(
    (t) =>
      `SELECT r.object_hour, ${literal(t, 'name')} AS table_name, COUNT(*) AS registered, SUM(CASE WHEN c.${q('id')} IS NULL THEN 1 ELSE 0 END) AS missing FROM ${ids} r LEFT JOIN ${tableRef(schema, t)} c ON c.${q('id')} = r.id WHERE r.table_name = ${literal(t, 'name')} AND r.object_hour >= CAST(:from AS TIMESTAMP) AND r.object_hour < CAST(:to AS TIMESTAMP) GROUP BY r.object_hour`,
  );
  return check([`SELECT * FROM (${branches.join(' UNION ALL ')}) v ORDER BY object_hour, table_name`])[0];
}

// ---------------------------------------------------------------------------------------------
// Loads
// ---------------------------------------------------------------------------------------------

const STAGE = q('__stage');
const TYPED = q('__typed');
const DISCARDED = q('__discarded');
const ORDER = q('__order');

/** The text of a tagged staged value (`t:` values carry their original text after `|`). */
const textOf = (ref: string) => `CASE WHEN ${stagedSql.tagOf(ref)} = ${stagedSql.tag('t')} THEN ${stagedSql.original(ref)} ELSE ${stagedSql.value(ref)} END`;

/** A tagged value as the column's type, or NULL when the tag does not fit (that value is discarded). */
function typedExpr(ref: string, type: ColumnType): string {
  switch (type) {
    case 'BIGINT':
      return `CASE WHEN ${stagedSql.tagOf(ref)} = ${stagedSql.tag('i')} THEN CAST(${stagedSql.value(ref)} AS BIGINT) END`;
    case 'DOUBLE PRECISION':
      return `CASE WHEN ${stagedSql.tagOf(ref)} IN (${stagedSql.tag('i')}, ${stagedSql.tag('f')}) THEN CAST(${stagedSql.value(ref)} AS DOUBLE PRECISION) END`;
    case 'BOOLEAN':
      return `CASE WHEN ${stagedSql.tagOf(ref)} = ${stagedSql.tag('b')} THEN ${stagedSql.value(ref)} = 'true' END`;
    case 'TIMESTAMP':
      return `CASE WHEN ${stagedSql.tagOf(ref)} = ${stagedSql.tag('t')} THEN CAST(${stagedSql.time(ref)} AS TIMESTAMP) END`;
    default:
      return textOf(ref);
  }
}

const ACCEPTED: Record<ColumnType, string> = {
  BIGINT: `(${stagedSql.tag('i')})`,
  'DOUBLE PRECISION': `(${stagedSql.tag('i')}, ${stagedSql.tag('f')})`,
  BOOLEAN: `(${stagedSql.tag('b')})`,
  TIMESTAMP: `(${stagedSql.tag('t')})`,
  'VARCHAR(65535)': '',
};

export interface TableLoadInput {
  readonly schema: string;
  readonly plan: TablePlan;
  readonly loadId: string;
  /** `s3://staged/…/manifest.json` listing this table's staged files. */
  readonly manifestUri: string;
  readonly copyRoleArn: string;
  /** For identifies / groups: rebuild `users` / `accounts` for the ids this load touched. */
  readonly derive?: { readonly table: 'users' | 'accounts'; readonly keyColumn: 'user_id' | 'group_id'; readonly traits: Record<string, ColumnType> };
  /**
   * The merge compares with rows received since this time only (`YYYY-MM-DD HH:MM:SS.mmm`): a
   * constant on the sort key, so Redshift reads only the blocks of that window (zone maps).
   * @default the whole table
   */
  readonly mergeSince?: string;
}

/** Column groups whose cast expressions fit one statement; `id` and `received_at` stay in the first. */
function groupBySize(columns: string[], exprs: string[], budget: number): Array<{ columns: string[]; exprs: string[] }> {
  const order = columns.map((c, i) => ({ c, e: exprs[i] }));
  order.sort((a, b) => Number(b.c === 'id' || b.c === 'received_at') - Number(a.c === 'id' || a.c === 'received_at'));
  const groups: Array<{ columns: string[]; exprs: string[] }> = [];
  let current = { columns: [] as string[], exprs: [] as string[] };
  let size = 0;
  for (const { c, e } of order) {
    if (current.columns.length > 0 && size + e.length + 2 > budget) {
      groups.push(current);
      current = { columns: [], exprs: [] };
      size = 0;
    }
    current.columns.push(c);
    current.exprs.push(e);
    size += e.length + 2;
  }
  groups.push(current);
  // One group keeps the original column order (the common case, and the golden SQL).
  if (groups.length === 1) return [{ columns, exprs }];
  return groups;
}

/** Splits `INSERT INTO target SELECT … UNION ALL SELECT …` into statements under the size limit. */
function unionInserts(prefix: string, branches: string[]): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let size = prefix.length;
  for (const b of branches) {
    if (current.length > 0 && size + b.length + 11 > MAX_STATEMENT_BYTES) {
      out.push(`${prefix} ${current.join(' UNION ALL ')}`);
      current = [];
      size = prefix.length;
    }
    current.push(b);
    size += b.length + 11;
  }
  if (current.length > 0) out.push(`${prefix} ${current.join(' UNION ALL ')}`);
  return out;
}

/**
 * One table load = one transaction (one BatchExecuteStatement):
 * stage all staged columns as text; COPY the manifest; record values that do not fit their
 * column (or a column the table cannot take) for `_discards`; dedupe within the batch (latest
 * `received_at`, then the transform's order key); cast to the column types; keep rows the table
 * already has in the same or a newer version; replace the others (delete + insert);
 * write the discards (once per value) and the `_load_tables` ledger row; for identifies /
 * groups rebuild `users` / `accounts` of the touched ids, per trait the latest non-null value
 * by event timestamp — whatever order events arrive and load in.
 */
export function tableLoadStatements(input: TableLoadInput): string[] {
  const { schema, plan, loadId } = input;
  const target = tableRef(schema, plan.table);
  const staged = [...Object.keys(plan.columnTypes), ...plan.droppedColumns].sort();
  const stmts: string[] = [];
  stmts.push(`CREATE TEMP TABLE ${STAGE} (${[...staged.map((c) => `${q(c)} VARCHAR(65535)`), `${ORDER} VARCHAR(1024)`].join(', ')})`);
  stmts.push(
    `COPY ${STAGE} FROM ${literal(input.manifestUri, 's3Uri')} IAM_ROLE ${literal(input.copyRoleArn, 'roleArn')} MANIFEST FORMAT AS JSON 'auto' GZIP COMPUPDATE OFF STATUPDATE OFF`,
  );

  const tableLit = literal(plan.table, 'name');
  stmts.push(
    `CREATE TEMP TABLE ${DISCARDED} (id VARCHAR(64), table_name VARCHAR(256), row_id VARCHAR(65535), column_name VARCHAR(256), value VARCHAR(65535), value_type VARCHAR(8), reason VARCHAR(1024), received_at TIMESTAMP)`,
  );
  if (plan.kind !== 'discards') {
    const branch = (column: string, condition: string, reason: string) =>
      `SELECT MD5(${tableLit} || ':' || ${stagedSql.value(`s.${q('id')}`)} || ':' || ${literal(column, 'name')}), ${tableLit}, ${stagedSql.value(`s.${q('id')}`)}, ${literal(column, 'name')}, ${textOf(`s.${q(column)}`)}, ${stagedSql.tagLetter(`s.${q(column)}`)}, ${literal(reason, 'reason')}, CAST(${stagedSql.time(`s.${q('received_at')}`)} AS TIMESTAMP) FROM ${STAGE} s WHERE ${condition}`;
    const branches: string[] = [];
    for (const [column, type] of Object.entries(plan.columnTypes)) {
      if (type === 'VARCHAR(65535)') continue;
      branches.push(
        branch(
          column,
          `s.${q(column)} IS NOT NULL AND ${stagedSql.tagOf(`s.${q(column)}`)} NOT IN ${ACCEPTED[type]}`,
          `value does not fit column type ${type}`,
        ),
      );
    }
    for (const column of plan.droppedColumns) {
      branches.push(branch(column, `s.${q(column)} IS NOT NULL`, 'table has reached 1600 columns; column not added'));
    }
    stmts.push(...unionInserts(`INSERT INTO ${DISCARDED}`, branches));
  }

  // Dedupe within the batch and cast in one pass.
  const kept = Object.keys(plan.columnTypes).sort();
  const typed = kept.map((c) => `${typedExpr(`d.${q(c)}`, plan.columnTypes[c])} AS ${q(c)}`);
  const dedupe = `(SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.${q('id')} ORDER BY s.${q('received_at')} DESC, s.${ORDER} DESC) AS ${q('__rn')} FROM ${STAGE} s) d WHERE d.${q('__rn')} = 1`;
  // A very wide table does not fit one statement: cast in column groups joined on the row's order key.
  const groups = groupBySize(kept, typed, MAX_STATEMENT_BYTES - 4_000);
  if (groups.length === 1) {
    stmts.push(`CREATE TEMP TABLE ${TYPED} AS SELECT ${typed.join(', ')} FROM ${dedupe}`);
  } else {
    stmts.push(`CREATE TEMP TABLE ${q('__dedup')} AS SELECT d.* FROM ${dedupe}`);
    if (plan.kind === 'discards') throw new Error('_discards has a fixed, narrow shape; it never needs column groups');
    groups.forEach((g, i) => {
      stmts.push(`CREATE TEMP TABLE ${i === 0 ? TYPED : q(`__typed${i}`)} AS SELECT ${[`d.${ORDER}`, ...g.exprs].join(', ')} FROM ${q('__dedup')} d`);
    });
  }

  const insertOf = (columnsOf: string[]) => {
    const list = columnsOf.map((c) => q(c)).join(', ');
    return { list, select: columnsOf.map((c) => `n.${q(c)}`).join(', ') };
  };
  const first = insertOf(groups[0].columns);
  // Shared tables are only appended to (see ledgerTables): `_discards` through `_pending_discards`.
  const pendingDiscards = tableRef(schema, '_pending_discards');
  if (plan.kind === 'discards') {
    stmts.push(`INSERT INTO ${pendingDiscards} (${first.list}, ${q('uuid_ts')}) SELECT ${first.select}, GETDATE() FROM ${TYPED} n`);
  } else {
    // A row already loaded in the same or a newer version stays as it is: reloads change nothing.
    // Within the merge window only, when there is one: the cost of a merge does not grow with history.
    const bound = input.mergeSince === undefined ? undefined : `CAST(${literal(input.mergeSince, 'timestamp')} AS TIMESTAMP)`;
    const since = (ref: string) => (bound === undefined ? '' : ` AND ${ref}.${q('received_at')} >= ${bound}`);
    stmts.push(
      `DELETE FROM ${TYPED} USING ${target} t WHERE ${TYPED}.${q('id')} = t.${q('id')} AND t.${q('received_at')} >= ${TYPED}.${q('received_at')}${since('t')}`,
    );
    stmts.push(`DELETE FROM ${target} USING ${TYPED} WHERE ${target}.${q('id')} = ${TYPED}.${q('id')}${since(target)}`);
    stmts.push(`INSERT INTO ${target} (${first.list}, ${q('uuid_ts')}) SELECT ${first.list}, GETDATE() FROM ${TYPED}`);
    groups.slice(1).forEach((g, i) => {
      const sets = g.columns.map((c) => `${q(c)} = g.${q(c)}`).join(', ');
      stmts.push(
        `UPDATE ${target} SET ${sets} FROM ${q(`__typed${i + 1}`)} g, ${TYPED} t0 WHERE g.${ORDER} = t0.${ORDER} AND ${target}.${q('id')} = t0.${q('id')}`,
      );
    });
    stmts.push(
      `INSERT INTO ${pendingDiscards} (id, table_name, row_id, column_name, value, value_type, reason, received_at, load_id, uuid_ts) SELECT id, table_name, row_id, column_name, value, value_type, reason, received_at, ${literal(loadId, 'loadId')}, GETDATE() FROM (SELECT n.*, ROW_NUMBER() OVER (PARTITION BY n.id ORDER BY n.received_at DESC) AS rn FROM ${DISCARDED} n) x WHERE x.rn = 1`,
    );
  }
  if ((CALL_TABLES as readonly string[]).includes(plan.table)) {
    // Register each message by the hour of its (earliest) raw object: what `missing` backfills and verification compare against.
    const ids = tableRef(schema, '_pending_ids');
    const key = stagedSql.orderObject(`s.${ORDER}`);
    const prefix = `${schema}/`.length;
    const part = (from: number, len: number) => `SUBSTRING(${key}, ${prefix + from}, ${len})`;
    const hour = `CAST(${part(1, 4)} || '-' || ${part(6, 2)} || '-' || ${part(9, 2)} || ' ' || ${part(12, 2)} || ':00:00' AS TIMESTAMP)`;
    stmts.push(
      `INSERT INTO ${ids} (load_id, id, table_name, object_hour) SELECT ${literal(loadId, 'loadId')}, ${stagedSql.value(`s.${q('id')}`)}, ${tableLit}, MIN(${hour}) FROM ${STAGE} s GROUP BY ${stagedSql.value(`s.${q('id')}`)}`,
    );
  }
  // Appended, never rewritten: a table load run twice leaves two rows, and readers take the latest.
  const ledger = tableRef(schema, '_load_tables');
  stmts.push(
    `INSERT INTO ${ledger} (load_id, table_name, rows_staged, rows_applied, values_discarded, loaded_at) SELECT ${literal(loadId, 'loadId')}, ${tableLit}, (SELECT COUNT(*) FROM ${STAGE}), (SELECT COUNT(*) FROM ${TYPED}), (SELECT COUNT(*) FROM ${DISCARDED}), GETDATE()`,
  );
  if (input.derive) stmts.push(...deriveLatestTraits(schema, plan.table, input.derive));
  return check(stmts);
}

/**
 * Rebuilds `users` (from identifies) or `accounts` (from groups) for the ids in `__stage`:
 * per trait, the latest non-null value by event timestamp (then received_at, then id).
 */
function deriveLatestTraits(schema: string, source: string, derive: NonNullable<TableLoadInput['derive']>): string[] {
  const key = q(derive.keyColumn);
  return [
    `CREATE TEMP TABLE ${q('__keys')} AS SELECT DISTINCT ${textOf(`s.${key}`)} AS k FROM ${STAGE} s WHERE s.${key} IS NOT NULL`,
    ...rebuildLatestTraits(schema, source, derive),
  ];
}

/** Rebuilds `users` / `accounts` for the keys in the temp table `__keys` (column `k`) from what `source` now holds. */
function rebuildLatestTraits(schema: string, source: string, derive: NonNullable<TableLoadInput['derive']>): string[] {
  const from = tableRef(schema, source);
  const target = tableRef(schema, derive.table);
  const key = q(derive.keyColumn);
  const keys = q('__keys');
  const base = q('__base');
  const stmts = [
    `DELETE FROM ${target} WHERE ${q('id')} IN (SELECT k FROM ${keys})`,
    `CREATE TEMP TABLE ${base} AS SELECT i.${key} AS k, MAX(i.${q('received_at')}) AS received_at FROM ${from} i JOIN ${keys} kk ON i.${key} = kk.k GROUP BY i.${key}`,
  ];
  const traits = Object.keys(derive.traits).sort();
  const groups: string[][] = [];
  for (let i = 0; i < traits.length; i += 20) groups.push(traits.slice(i, i + 20));
  groups.forEach((group, g) => {
    const joins = group.map(
      (t, j) =>
        `LEFT JOIN (SELECT k, v FROM (SELECT i.${key} AS k, i.${q(t)} AS v, ROW_NUMBER() OVER (PARTITION BY i.${key} ORDER BY i.${q('timestamp')} DESC NULLS LAST, i.${q('received_at')} DESC, i.${q('id')} DESC) AS rn FROM ${from} i JOIN ${keys} kk ON i.${key} = kk.k WHERE i.${q(t)} IS NOT NULL) x WHERE x.rn = 1) t${j} ON t${j}.k = b.k`,
    );
    stmts.push(
      `CREATE TEMP TABLE ${q(`__traits${g}`)} AS SELECT b.k, ${group.map((t, j) => `t${j}.v AS ${q(t)}`).join(', ')} FROM ${base} b ${joins.join(' ')}`,
    );
  });
  const cols = [q('id'), q('received_at'), q('uuid_ts'), ...traits.map((t) => q(t))];
  const values = ['b.k', 'b.received_at', 'GETDATE()', ...traits.map((t) => `g${Math.floor(traits.indexOf(t) / 20)}.${q(t)}`)];
  const joins = groups.map((_, g) => `LEFT JOIN ${q(`__traits${g}`)} g${g} ON g${g}.k = b.k`).join(' ');
  stmts.push(`INSERT INTO ${target} (${cols.join(', ')}) SELECT ${values.join(', ')} FROM ${base} b ${joins}`);
  return stmts;
}

/** Records the raw objects of a completed load in `_loads` (the ledger PlanLoad subtracts). */
export function ledgerStatements(schema: string, manifestUri: string, copyRoleArn: string): string[] {
  const loads = tableRef(schema, '_loads');
  const stage = q('__ledger');
  return check([
    `CREATE TEMP TABLE ${stage} (object_key VARCHAR(1024), load_id VARCHAR(128), hour TIMESTAMP, events BIGINT, discarded_events BIGINT, staged_events BIGINT)`,
    `COPY ${stage} FROM ${literal(manifestUri, 's3Uri')} IAM_ROLE ${literal(copyRoleArn, 'roleArn')} MANIFEST FORMAT AS JSON 'auto' GZIP TIMEFORMAT 'auto'`,
    `DELETE FROM ${loads} USING ${stage} n WHERE ${loads}.object_key = n.object_key`,
    `INSERT INTO ${loads} (object_key, load_id, hour, events, discarded_events, loaded_at, staged_events) SELECT object_key, load_id, hour, events, discarded_events, GETDATE(), staged_events FROM ${stage}`,
    ...pendingMergeStatements(schema),
  ]);
}

/**
 * Moves what table loads registered (`_pending_ids`, `_pending_discards`) into `_ids` and
 * `_discards`, each message once (its earliest raw-object hour; its latest discard row), and empties
 * them. Part of a load's commit; it takes every pending row, also those of an earlier load that
 * failed before its commit (its rows are in the tables all the same) or of one still running.
 */
export function pendingMergeStatements(schema: string): string[] {
  const ids = tableRef(schema, '_ids');
  const pendingIds = tableRef(schema, '_pending_ids');
  const discards = tableRef(schema, '_discards');
  const pendingDiscards = tableRef(schema, '_pending_discards');
  const columns = Object.keys(DISCARD_COLUMNS)
    .map((c) => q(c))
    .join(', ');
  return [
    `INSERT INTO ${ids} (id, table_name, object_hour) SELECT n.id, n.table_name, n.object_hour FROM (SELECT id, table_name, MIN(object_hour) AS object_hour FROM ${pendingIds} GROUP BY id, table_name) n WHERE NOT EXISTS (SELECT 1 FROM ${ids} r WHERE r.id = n.id AND r.table_name = n.table_name)`,
    `DELETE FROM ${pendingIds}`,
    `INSERT INTO ${discards} (${columns}) SELECT ${columns} FROM (SELECT p.*, ROW_NUMBER() OVER (PARTITION BY p.id ORDER BY p.received_at DESC, p.uuid_ts DESC) AS rn FROM ${pendingDiscards} p) x WHERE x.rn = 1 AND NOT EXISTS (SELECT 1 FROM ${discards} e WHERE e.id = x.id)`,
    `DELETE FROM ${pendingDiscards}`,
  ];
}

/** Objects of the given hours already in the ledger, with their transform counts; bind `:from` and `:to` (hour timestamps). */
export function ledgerKeysQuery(schema: string): string {
  return `SELECT object_key, hour, events, discarded_events, staged_events FROM ${tableRef(schema, '_loads')} WHERE hour >= CAST(:from AS TIMESTAMP) AND hour < CAST(:to AS TIMESTAMP)`;
}

/** What `status` shows of a source's ledger: the last load, events loaded since `:hourAgo` and `:dayAgo`. */
export function loadActivityQuery(schema: string): string {
  return `SELECT MAX(loaded_at) AS last_loaded_at, COALESCE(SUM(CASE WHEN loaded_at >= CAST(:hourAgo AS TIMESTAMP) THEN events END), 0) AS events_hour, COALESCE(SUM(CASE WHEN loaded_at >= CAST(:dayAgo AS TIMESTAMP) THEN events END), 0) AS events_day FROM ${tableRef(schema, '_loads')}`;
}

/** Discarded values in total and since `:dayAgo`. */
export function discardActivityQuery(schema: string): string {
  return `SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN uuid_ts >= CAST(:dayAgo AS TIMESTAMP) THEN 1 END), 0) AS day FROM ${tableRef(schema, '_discards')}`;
}

/** The newest hour in the ledger (pending loads list from a little before it). */
export function latestLedgerHourQuery(schema: string): string {
  return `SELECT MAX(hour) AS hour FROM ${tableRef(schema, '_loads')}`;
}

/** Per table, what a load put in the warehouse. */
export function loadTablesQuery(schema: string, loadId: string): string {
  // The latest row per table: a table load that ran twice (a retried submit after its commit) appended two.
  return `SELECT table_name, rows_staged, rows_applied, values_discarded FROM (SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.table_name ORDER BY t.loaded_at DESC) AS rn FROM ${tableRef(schema, '_load_tables')} t WHERE t.load_id = ${literal(loadId, 'loadId')}) x WHERE x.rn = 1`;
}

/** The tables of a source's schema; bind `:schema`. */
export const TABLES_QUERY = 'SELECT table_name FROM information_schema.tables WHERE table_schema = :schema';

/** Whether the ledger tables exist yet; bind `:schema`. */
export const LEDGER_EXISTS_QUERY = "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = :schema AND table_name = '_loads'";

// ---------------------------------------------------------------------------------------------
// Erasure (forget): identities and results move through COPY files, never through SQL text
// ---------------------------------------------------------------------------------------------

const WHO = q('__who');
const FOUND = q('__found');
const COPY_JSON = "FORMAT AS JSON 'auto' GZIP";

/** The temp table `__who (kind, value)` of a request's identities, from its COPY manifest. */
function whoStatements(manifestUri: string, copyRoleArn: string): string[] {
  return [
    `CREATE TEMP TABLE ${WHO} (kind VARCHAR(16), value VARCHAR(65535))`,
    `COPY ${WHO} FROM ${literal(manifestUri, 's3Uri')} IAM_ROLE ${literal(copyRoleArn, 'roleArn')} MANIFEST ${COPY_JSON}`,
  ];
}

/**
 * The rows of a table that belong to the identities in `__who`, by the identity columns the table
 * has (`user_id`, `anonymous_id`, and an alias's `previous_id` as either); undefined when it has none.
 */
export function identityPredicate(alias: string, columns: ReadonlyArray<string>): string | undefined {
  const ids = (kind: string) => `(SELECT value FROM ${WHO} WHERE kind = '${kind}')`;
  const col = (c: string) => (alias ? `${alias}.${q(c)}` : q(c));
  const parts: string[] = [];
  if (columns.includes('user_id')) parts.push(`${col('user_id')} IN ${ids('userId')}`);
  if (columns.includes('anonymous_id')) parts.push(`${col('anonymous_id')} IN ${ids('anonymousId')}`);
  if (columns.includes('previous_id')) parts.push(`${col('previous_id')} IN (SELECT value FROM ${WHO})`);
  return parts.length > 0 ? `(${parts.join(' OR ')})` : undefined;
}

export interface ErasureRegistryInput {
  readonly schema: string;
  readonly requestId: string;
  readonly whoManifest: string;
  readonly copyRoleArn: string;
  /** Call tables that exist, with their columns. */
  readonly callTables: ReadonlyArray<{ table: string; columns: ReadonlyArray<string> }>;
  /** Messages removed from raw objects: `{id, object_hour}` lines. */
  readonly idsManifest?: string;
  /** Rewritten raw objects with their counts now: `{object_key, events, discarded_events}` lines. */
  readonly objectsManifest?: string;
}

/**
 * One transaction: every message of the identities (in a call table, or removed from a raw object)
 * is moved from `_ids` to `_erased_ids` (kept by raw-object hour, so `verify` counts it as erased),
 * its discarded values leave `_discards`, and the ledger takes the rewritten objects' new counts
 * (absolute values: running it twice changes nothing).
 */
export function erasureRegistryStatements(input: ErasureRegistryInput): string[] {
  const { schema } = input;
  const ids = tableRef(schema, '_ids');
  const erased = tableRef(schema, '_erased_ids');
  const req = literal(input.requestId, 'loadId');
  const role = literal(input.copyRoleArn, 'roleArn');
  const stmts = [...whoStatements(input.whoManifest, input.copyRoleArn), `CREATE TEMP TABLE ${FOUND} (id VARCHAR(65535), object_hour TIMESTAMP)`];
  if (input.idsManifest) stmts.push(`COPY ${FOUND} FROM ${literal(input.idsManifest, 's3Uri')} IAM_ROLE ${role} MANIFEST ${COPY_JSON} TIMEFORMAT 'auto'`);
  for (const t of input.callTables) {
    const match = identityPredicate('t', t.columns);
    if (match) stmts.push(`INSERT INTO ${FOUND} (id) SELECT t.${q('id')} FROM ${tableRef(schema, t.table)} t WHERE ${match}`);
  }
  stmts.push(
    `INSERT INTO ${erased} (request_id, id, table_name, object_hour, erased_at) SELECT ${req}, r.id, r.table_name, r.object_hour, GETDATE() FROM ${ids} r WHERE r.id IN (SELECT id FROM ${FOUND}) AND NOT EXISTS (SELECT 1 FROM ${erased} e WHERE e.id = r.id)`,
    `INSERT INTO ${erased} (request_id, id, table_name, object_hour, erased_at) SELECT ${req}, f.id, '', MIN(f.object_hour), GETDATE() FROM ${FOUND} f WHERE f.object_hour IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${erased} e WHERE e.id = f.id) AND NOT EXISTS (SELECT 1 FROM ${ids} r WHERE r.id = f.id) GROUP BY f.id`,
    `DELETE FROM ${ids} WHERE id IN (SELECT id FROM ${FOUND})`,
    `DELETE FROM ${tableRef(schema, '_discards')} WHERE row_id IN (SELECT id FROM ${FOUND})`,
    // What a load registered but has not committed yet must not bring them back.
    `DELETE FROM ${tableRef(schema, '_pending_ids')} WHERE id IN (SELECT id FROM ${FOUND})`,
    `DELETE FROM ${tableRef(schema, '_pending_discards')} WHERE row_id IN (SELECT id FROM ${FOUND})`,
  );
  if (input.objectsManifest) {
    const fix = q('__fix');
    const loads = tableRef(schema, '_loads');
    stmts.push(
      `CREATE TEMP TABLE ${fix} (object_key VARCHAR(1024), events BIGINT, discarded_events BIGINT, staged_events BIGINT)`,
      `COPY ${fix} FROM ${literal(input.objectsManifest, 's3Uri')} IAM_ROLE ${role} MANIFEST ${COPY_JSON}`,
      `UPDATE ${loads} SET events = f.events, discarded_events = f.discarded_events, staged_events = f.staged_events FROM ${fix} f WHERE ${loads}.object_key = f.object_key`,
    );
  }
  return check(stmts);
}

/**
 * One transaction per table: delete the identities' rows. `users` loses the named user ids;
 * `groups` also rebuilds `accounts` for the groups it touched from the group calls that remain.
 * `countAt` is the index of the DELETE whose affected rows are the table's count.
 */
export function eraseTableStatements(input: {
  schema: string;
  table: string;
  columns: ReadonlyArray<string>;
  whoManifest: string;
  copyRoleArn: string;
  accounts?: { traits: ReadonlyArray<string> };
}): { statements: string[]; countAt: number } | undefined {
  const target = tableRef(input.schema, input.table);
  const stmts = whoStatements(input.whoManifest, input.copyRoleArn);
  if (input.table === 'users') {
    stmts.push(`DELETE FROM ${target} WHERE ${q('id')} IN (SELECT value FROM ${WHO} WHERE kind = 'userId')`);
    return { statements: check(stmts), countAt: stmts.length - 1 };
  }
  const match = identityPredicate('', input.columns);
  if (!match) return undefined;
  const rebuild = input.table === 'groups' && input.accounts;
  if (rebuild)
    stmts.push(`CREATE TEMP TABLE ${q('__keys')} AS SELECT DISTINCT ${q('group_id')} AS k FROM ${target} WHERE ${match} AND ${q('group_id')} IS NOT NULL`);
  stmts.push(`DELETE FROM ${target} WHERE ${match}`);
  const countAt = stmts.length - 1;
  if (rebuild && input.accounts) {
    stmts.push(
      ...rebuildLatestTraits(input.schema, 'groups', {
        table: 'accounts',
        keyColumn: 'group_id',
        traits: Object.fromEntries(input.accounts.traits.map((t) => [t, 'VARCHAR(65535)' as ColumnType])),
      }),
    );
  }
  return { statements: check(stmts), countAt };
}

/** Rows of a table that still belong to the identities (after the deletes: 0 unless a load raced them). */
export function remainingRowsStatements(
  schema: string,
  tables: ReadonlyArray<{ table: string; columns: ReadonlyArray<string> }>,
  whoManifest: string,
  copyRoleArn: string,
): string[] {
  const branches = tables.flatMap((t) => {
    const match = t.table === 'users' ? `u.${q('id')} IN (SELECT value FROM ${WHO} WHERE kind = 'userId')` : identityPredicate('u', t.columns);
    return match ? [`SELECT COUNT(*) AS n FROM ${tableRef(schema, t.table)} u WHERE ${match}`] : [];
  });
  return check([
    ...whoStatements(whoManifest, copyRoleArn),
    `SELECT ${branches.length > 0 ? `(SELECT SUM(n) FROM (${branches.join(' UNION ALL ')}) x)` : '0'} AS remaining`,
  ]);
}

/** Records a forget request's receipt (from its COPY file) once: a second run of the same request keeps the first receipt. */
export function erasureReceiptStatements(schema: string, requestId: string, receiptManifest: string, copyRoleArn: string): string[] {
  const receipts = tableRef(schema, '_erasures');
  const stage = q('__receipt');
  const cols = 'request_id, identities, identities_digest, rows_deleted, objects_rewritten, lines_removed, remaining_rows, started_at, finished_at';
  return check([
    `CREATE TEMP TABLE ${stage} (request_id VARCHAR(128), identities BIGINT, identities_digest VARCHAR(64), rows_deleted VARCHAR(65535), objects_rewritten BIGINT, lines_removed BIGINT, remaining_rows BIGINT, started_at TIMESTAMP)`,
    `COPY ${stage} FROM ${literal(receiptManifest, 's3Uri')} IAM_ROLE ${literal(copyRoleArn, 'roleArn')} MANIFEST ${COPY_JSON} TIMEFORMAT 'auto'`,
    `INSERT INTO ${receipts} (${cols}) SELECT ${cols.replace('finished_at', 'GETDATE()')} FROM ${stage} WHERE NOT EXISTS (SELECT 1 FROM ${receipts} r WHERE r.request_id = ${literal(requestId, 'loadId')})`,
  ]);
}

/** A source's receipts, newest first; bind nothing. */
export function erasureReceiptsQuery(schema: string, requestId?: string): string {
  return `SELECT request_id, identities, identities_digest, rows_deleted, objects_rewritten, lines_removed, remaining_rows, started_at, finished_at FROM ${tableRef(schema, '_erasures')}${requestId ? ` WHERE request_id = ${literal(requestId, 'loadId')}` : ''} ORDER BY finished_at DESC`;
}

/** Erased messages per raw-object hour; bind `:from` and `:to`. */
export function erasedIdsQuery(schema: string): string {
  return `SELECT object_hour, COUNT(DISTINCT id) AS erased FROM ${tableRef(schema, '_erased_ids')} WHERE object_hour >= CAST(:from AS TIMESTAMP) AND object_hour < CAST(:to AS TIMESTAMP) GROUP BY object_hour`;
}

/**
 * The anonymous ids linked to the request's user ids (any call with both), and aliases'
 * previous ids of those users: rows `(kind, value)`. Undefined when no call table has both columns.
 */
export function expansionStatements(
  schema: string,
  callTables: ReadonlyArray<{ table: string; columns: ReadonlyArray<string> }>,
  whoManifest: string,
  copyRoleArn: string,
): string[] | undefined {
  const users = `(SELECT value FROM ${WHO} WHERE kind = 'userId')`;
  const branches = callTables.flatMap((t) => {
    const out: string[] = [];
    if (t.columns.includes('user_id') && t.columns.includes('anonymous_id')) {
      out.push(
        `SELECT 'anonymousId' AS kind, c.${q('anonymous_id')} AS value FROM ${tableRef(schema, t.table)} c WHERE c.${q('user_id')} IN ${users} AND c.${q('anonymous_id')} IS NOT NULL`,
      );
    }
    if (t.columns.includes('user_id') && t.columns.includes('previous_id')) {
      out.push(
        `SELECT 'previousId' AS kind, c.${q('previous_id')} AS value FROM ${tableRef(schema, t.table)} c WHERE c.${q('user_id')} IN ${users} AND c.${q('previous_id')} IS NOT NULL`,
      );
    }
    return out;
  });
  if (branches.length === 0) return undefined;
  return check([...whoStatements(whoManifest, copyRoleArn), `SELECT DISTINCT kind, value FROM (${branches.join(' UNION ALL ')}) x ORDER BY kind, value`]);
}

/** Per table, the rows that belong to the identities in `__who`: rows `(table_name, n)`. `_discards` counts the values of their messages. */
export function rowCountStatements(
  schema: string,
  tables: ReadonlyArray<{ table: string; columns: ReadonlyArray<string> }>,
  whoManifest: string,
  copyRoleArn: string,
): string[] | undefined {
  const messages = tables.flatMap((t) => {
    const match = (CALL_TABLES as readonly string[]).includes(t.table) ? identityPredicate('c', t.columns) : undefined;
    return match ? [`SELECT c.${q('id')} AS id FROM ${tableRef(schema, t.table)} c WHERE ${match}`] : [];
  });
  const branches = tables.flatMap((t) => {
    const name = literal(t.table, 'name');
    if (t.table === 'users')
      return [
        `SELECT ${name} AS table_name, COUNT(*) AS n FROM ${tableRef(schema, t.table)} u WHERE u.${q('id')} IN (SELECT value FROM ${WHO} WHERE kind = 'userId')`,
      ];
    if (t.table === '_discards')
      return messages.length > 0
        ? [`SELECT ${name} AS table_name, COUNT(*) AS n FROM ${tableRef(schema, t.table)} u WHERE u.row_id IN (${messages.join(' UNION ALL ')})`]
        : [];
    const match = identityPredicate('u', t.columns);
    return match ? [`SELECT ${name} AS table_name, COUNT(*) AS n FROM ${tableRef(schema, t.table)} u WHERE ${match}`] : [];
  });
  if (branches.length === 0) return undefined;
  return check([...whoStatements(whoManifest, copyRoleArn), branches.join(' UNION ALL ')]);
}

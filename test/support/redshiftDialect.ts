/**
 * A deny-list of PostgreSQL syntax that Amazon Redshift does not accept, each entry with the
 * Redshift page that says so. Postgres (the local warehouse) runs all of it happily, so without
 * this check a statement could pass every local test and fail on the first real load.
 * (No SQL parser on npm is a Redshift validator; this list is curated for the SQL we emit.)
 */
const DG = 'https://docs.aws.amazon.com/redshift/latest/dg';

export interface DialectRule {
  readonly id: string;
  readonly pattern: RegExp;
  readonly page: string;
  /** A statement the rule must catch (its test plants it). */
  readonly example: string;
}

export const POSTGRES_ONLY: ReadonlyArray<DialectRule> = [
  {
    id: 'on-conflict',
    pattern: /\bON\s+CONFLICT\b/i,
    page: `${DG}/r_INSERT_30.html (no ON CONFLICT clause: merge with DELETE … USING + INSERT, or MERGE)`,
    example: 'INSERT INTO t (id) VALUES (1) ON CONFLICT (id) DO NOTHING',
  },
  {
    id: 'returning',
    pattern: /\bRETURNING\b/i,
    page: `${DG}/r_INSERT_30.html (INSERT, UPDATE and DELETE have no RETURNING clause)`,
    example: 'DELETE FROM t WHERE id = 1 RETURNING id',
  },
  {
    id: 'distinct-on',
    pattern: /\bDISTINCT\s+ON\s*\(/i,
    page: `${DG}/r_SELECT_list.html (DISTINCT, not DISTINCT ON: use ROW_NUMBER())`,
    example: 'SELECT DISTINCT ON (id) id, v FROM t ORDER BY id, v',
  },
  {
    id: 'json-types',
    pattern: /\bjsonb\b|::\s*json\b|\bAS\s+json\s*\)|\w\s+json\s*[,)]/i,
    page: `${DG}/r_SUPER_type.html (semi-structured data is SUPER; there is no json/jsonb type)`,
    example: 'CREATE TABLE t (doc json, n int)',
  },
  {
    id: 'postgres-only-cast',
    pattern: /::\s*(uuid|bytea|inet|cidr|macaddr|money|interval\[\]|\w+\[\])/i,
    page: `${DG}/c_unsupported-postgresql-datatypes.html`,
    example: "SELECT '00000000-0000-0000-0000-000000000000'::uuid",
  },
  {
    id: 'array-types',
    pattern: /\b(ARRAY\s*\[|\w+\s*\[\]\s*[,)])/i,
    page: `${DG}/c_unsupported-postgresql-datatypes.html (arrays)`,
    example: 'CREATE TABLE t (tags text[], n int)',
  },
  {
    id: 'serial',
    pattern: /\b(BIG|SMALL)?SERIAL\b/i,
    page: `${DG}/c_unsupported-postgresql-datatypes.html (use IDENTITY)`,
    example: 'CREATE TABLE t (id SERIAL)',
  },
  {
    id: 'lateral',
    pattern: /\bLATERAL\b/i,
    page: `${DG}/c_unsupported-postgresql-features.html (no LATERAL joins)`,
    example: 'SELECT * FROM t, LATERAL (SELECT 1) x',
  },
  {
    id: 'generate-series',
    pattern: /\bgenerate_series\s*\(/i,
    page: `${DG}/c_SQL_functions_leader_node_only.html (leader node only: fails against user tables)`,
    example: 'INSERT INTO t SELECT generate_series(1, 10)',
  },
  {
    id: 'now',
    pattern: /\bNOW\s*\(\s*\)/i,
    page: `${DG}/c_SQL_functions_leader_node_only.html (NOW() is leader-node only; use GETDATE() or SYSDATE)`,
    example: 'INSERT INTO t (at) SELECT NOW() FROM s',
  },
  {
    id: 'create-index',
    pattern: /\bCREATE\s+(UNIQUE\s+)?INDEX\b/i,
    page: `${DG}/c_unsupported-postgresql-features.html (no indexes: sort and distribution keys)`,
    example: 'CREATE INDEX t_id ON t (id)',
  },
  {
    id: 'aggregate-filter',
    pattern: /\)\s*FILTER\s*\(\s*WHERE\b/i,
    page: `${DG}/c_Aggregate_Functions.html (no FILTER clause: use CASE inside the aggregate)`,
    example: 'SELECT COUNT(*) FILTER (WHERE v > 1) FROM t',
  },
  {
    id: 'string-agg',
    pattern: /\b(string_agg|array_agg|json_agg|jsonb_agg)\s*\(/i,
    page: `${DG}/c_unsupported-postgresql-functions.html (use LISTAGG)`,
    example: "SELECT string_agg(v, ',') FROM t",
  },
  {
    id: 'generated-column',
    pattern: /\bGENERATED\s+ALWAYS\s+AS\s*\(/i,
    page: `${DG}/r_CREATE_TABLE_NEW.html (no generated columns; IDENTITY only)`,
    example: 'CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED)',
  },
  {
    id: 'postgres-copy-options',
    pattern: /\bCOPY\b[\s\S]*\b(FROM\s+STDIN|WITH\s*\(\s*FORMAT)/i,
    page: `${DG}/r_COPY.html (FROM 's3://…' with FORMAT AS …, no option list in parentheses)`,
    example: "COPY t FROM 's3://b/k' WITH (FORMAT csv)",
  },
  {
    id: 'if-not-exists-column',
    pattern: /\bADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\b/i,
    page: `${DG}/r_ALTER_TABLE.html (ADD COLUMN has no IF NOT EXISTS)`,
    example: 'ALTER TABLE t ADD COLUMN IF NOT EXISTS c BIGINT',
  },
  {
    id: 'regexp-matches',
    pattern: /\bregexp_matches\s*\(/i,
    page: `${DG}/c_unsupported-postgresql-functions.html (use REGEXP_SUBSTR)`,
    example: "SELECT regexp_matches(v, 'a+') FROM t",
  },
];

/** Quoted identifiers and string literals are data, not syntax: blank them before matching. */
function syntaxOnly(sql: string): string {
  return sql.replace(/"(?:[^"]|"")*"/g, '"x"').replace(/'(?:[^']|'')*'/g, "'x'");
}

/** The rules a statement breaks (none for valid Redshift of the kinds the stack emits). */
export function postgresOnlySyntax(sql: string): DialectRule[] {
  const text = syntaxOnly(sql);
  return POSTGRES_ONLY.filter((r) => r.pattern.test(text));
}

import { createHash } from 'node:crypto';
import { LOCAL_SYSTEM_SCHEMA } from './EmbeddedWarehouse';

/**
 * Translates the Redshift SQL our stack emits into Postgres for the local warehouse.
 *
 * - Physical-design clauses Postgres has no use for are dropped: DISTKEY, SORTKEY, DISTSTYLE,
 *   ENCODE, BACKUP.
 * - Types and functions: SUPER → jsonb; GETDATE() → the statement's start (statement_timestamp()),
 *   SYSDATE → the transaction's start (now()), as Redshift defines them.
 * - `COPY t [(cols)] FROM 's3://…' [MANIFEST] … JSON 'auto' [GZIP]` becomes a bulk load of the
 *   referenced objects (see {@link CopyCommand}); any COPY option we do not implement is an
 *   error naming it, never a silent success.
 * Rewrites apply outside string literals and quoted identifiers only.
 */

export class UnsupportedSqlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedSqlError';
  }
}

export interface CopyCommand {
  /** Target table as written (schema-qualified, possibly quoted). */
  readonly table: string;
  /** Column list as written, or undefined for all columns. */
  readonly columns: ReadonlyArray<string> | undefined;
  /** `s3://bucket/key-or-prefix`. */
  readonly from: string;
  readonly manifest: boolean;
  readonly gzip: boolean;
}

/** `after`: statements that run right after `sql`, in the same transaction (a sort key's index). */
export type Translated =
  { readonly kind: 'sql'; readonly sql: string; readonly after?: ReadonlyArray<string> } | { readonly kind: 'copy'; readonly copy: CopyCommand };

/** Postgres keeps 63 bytes of an identifier; Redshift keeps 127. */
const PG_MAX_IDENTIFIER = 63;

/**
 * Quoted identifiers longer than Postgres allows become a stable alias (a prefix plus a hash of
 * the whole name), and results map aliases back, so names up to Redshift's 127 bytes round-trip.
 */
export class IdentifierAliases {
  private readonly byAlias = new Map<string, string>();

  constructor(known: Iterable<[string, string]> = []) {
    for (const [alias, name] of known) this.byAlias.set(alias, name);
  }

  alias(name: string): string {
    if (Buffer.byteLength(name, 'utf8') <= PG_MAX_IDENTIFIER) return name;
    let prefix = '';
    for (const ch of name) {
      if (Buffer.byteLength(prefix + ch, 'utf8') > PG_MAX_IDENTIFIER - 14) break;
      prefix += ch;
    }
    const alias = `${prefix}~${createHash('sha1').update(name, 'utf8').digest('hex').slice(0, 12)}`;
    this.byAlias.set(alias, name);
    return alias;
  }

  original(value: string): string {
    return this.byAlias.get(value) ?? value;
  }

  entries(): Array<[string, string]> {
    return [...this.byAlias];
  }
}

type Segment = { readonly code: boolean; readonly text: string };

/** Splits SQL into code and literal segments ('…', "…", $$…$$, comments count as code-free). */
export function segments(sql: string): Segment[] {
  const out: Segment[] = [];
  let code = '';
  let i = 0;
  const flush = () => {
    if (code) out.push({ code: true, text: code });
    code = '';
  };
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      flush();
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === c) {
          if (sql[j + 1] === c) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      out.push({ code: false, text: sql.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else {
      code += c;
      i++;
    }
  }
  flush();
  return out;
}

const REWRITES: ReadonlyArray<[RegExp, string]> = [
  [/\b(COMPOUND\s+|INTERLEAVED\s+)?SORTKEY\s*(AUTO\b|\([^)]*\))/gi, ''],
  [/\bDISTKEY\s*\([^)]*\)/gi, ''],
  [/\bDISTSTYLE\s+(ALL|EVEN|KEY|AUTO)\b/gi, ''],
  [/\bENCODE\s+(AUTO|RAW|AZ64|BYTEDICT|DELTA|DELTA32K|LZO|MOSTLY8|MOSTLY16|MOSTLY32|RUNLENGTH|TEXT255|TEXT32K|ZSTD)\b/gi, ''],
  [/\bBACKUP\s+(YES|NO)\b/gi, ''],
  [/\bSUPER\b/gi, 'jsonb'],
  // Redshift: GETDATE() is the start of the current statement, SYSDATE of the current transaction.
  [/\bGETDATE\s*\(\s*\)/gi, 'statement_timestamp()'],
  [/\bSYSDATE\b/gi, 'now()'],
  // Redshift's catalog of database roles; Postgres keeps roles in pg_roles (see EmbeddedWarehouse).
  [/(?<![.\w])svv_roles\b/gi, `${LOCAL_SYSTEM_SCHEMA}.svv_roles`],
  // `GRANT … TO ROLE r`: Postgres grants to a role without the keyword.
  [/\bTO\s+ROLE\b/gi, 'TO'],
];

/** `ON DATABASE <name>` names the stack's database, the local warehouse's `localDatabase` here; any other database does not exist. */
function onDatabase(sql: string, database: string | undefined, localDatabase: string): string {
  return sql.replace(/\bON\s+DATABASE\s+("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)/gi, (_m, name: string) => {
    const unquoted = name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
    if (database !== undefined && unquoted !== database) throw new UnsupportedSqlError(`ERROR: database "${unquoted}" does not exist`);
    return `ON DATABASE "${localDatabase.replace(/"/g, '""')}"`;
  });
}

/** Constraint names of the byte checks: `rs_vc<length>_<hash of the column>`. */
export const VARCHAR_BYTES_CONSTRAINT = /violates check constraint "rs_vc(\d+)_[0-9a-f]+"/;

/**
 * Redshift counts a VARCHAR(n)'s length in bytes, Postgres in characters: each VARCHAR(n) column
 * a CREATE TABLE or ADD COLUMN declares gets a CHECK on its UTF-8 byte length, so a value that
 * Redshift would refuse is refused here too (mapped back to Redshift's message by the Data API).
 */
function varcharInBytes(sql: string): string {
  if (!/^\s*(CREATE\s+(TEMP\s+|TEMPORARY\s+)?TABLE|ALTER\s+TABLE)\b/i.test(sql)) return sql;
  return sql.replace(/("(?:[^"]|"")*"|\b[A-Za-z_][A-Za-z0-9_$]*)\s+(?:VARCHAR|CHARACTER\s+VARYING)\s*\(\s*(\d+)\s*\)/gi, (_m, column: string, n: string) => {
    const name = `rs_vc${n}_${createHash('sha1').update(column).digest('hex').slice(0, 12)}`;
    return `${column} VARCHAR(${n}) CONSTRAINT "${name}" CHECK (octet_length(${column}) <= ${n})`;
  });
}

export interface TranslateOptions {
  /** Count VARCHAR lengths in bytes, as Redshift does. @default true */
  readonly varcharBytes?: boolean;
  /** The name the stack gives its database (`ON DATABASE` must name it). @default any name */
  readonly database?: string;
  /** The local warehouse's database (PGlite's `postgres`, or the server URL's). @default postgres */
  readonly localDatabase?: string;
}

/** Translates one Redshift statement. */
export function translate(sql: string, aliases: IdentifierAliases = new IdentifierAliases(), options: TranslateOptions = {}): Translated {
  const aliased = segments(sql)
    .map((s) => (!s.code && s.text.startsWith('"') ? `"${aliases.alias(s.text.slice(1, -1).replace(/""/g, '"')).replace(/"/g, '""')}"` : s.text))
    .join('');
  if (/^\s*COPY\b/i.test(stripComments(aliased))) return { kind: 'copy', copy: parseCopy(aliased) };
  const text = segments(aliased)
    .map((s) => (s.code ? REWRITES.reduce((acc, [re, to]) => acc.replace(re, to), s.text) : s.text))
    .join('');
  const inDatabase = onDatabase(text, options.database, options.localDatabase ?? 'postgres');
  const after = sortKeyIndex(stripComments(aliased));
  return { kind: 'sql', sql: options.varcharBytes === false ? inDatabase : varcharInBytes(inDatabase), ...(after ? { after: [after] } : {}) };
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;

/**
 * Redshift skips the blocks of a table whose sort key range a predicate excludes (zone maps): a
 * merge bounded by `received_at` reads only its window. Postgres's nearest is a BRIN index (the
 * min and max of each range of pages): a permanent table created with a one-column `SORTKEY` gets
 * one (16 pages of 8 KB per range, about Redshift's 1 MB block), so a bounded query reads about
 * what it would on Redshift.
 */
function sortKeyIndex(sql: string): string | undefined {
  const table = new RegExp(String.raw`^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(${IDENT}(?:\.${IDENT})?)\s*\(`, 'i').exec(sql);
  const key = new RegExp(String.raw`\bSORTKEY\s*\(\s*(${IDENT})\s*\)\s*;?\s*$`, 'i').exec(sql);
  if (!table || !key) return undefined;
  const name = `rs_sk_${createHash('sha1').update(table[1]).digest('hex').slice(0, 16)}`;
  return `CREATE INDEX IF NOT EXISTS "${name}" ON ${table[1]} USING brin (${key[1]}) WITH (pages_per_range = 16, autosummarize = on)`;
}

function stripComments(sql: string): string {
  return segments(sql)
    .map((s) => s.text)
    .join('');
}

/** Tokens of a COPY statement: words, 'strings', "identifiers", parentheses, commas. */
function tokenize(sql: string): string[] {
  const tokens: string[] = [];
  const re = /\s*('(?:[^']|'')*'|"(?:[^"]|"")*"|[(),;]|[^\s(),;'"]+)/gy;
  let m: RegExpExecArray | null;
  const text = stripComments(sql).trim();
  while ((m = re.exec(text)) !== null) {
    if (m[1] === undefined) break;
    tokens.push(m[1]);
    if (re.lastIndex >= text.length) break;
  }
  return tokens;
}

const unquote = (s: string) => (s.startsWith("'") ? s.slice(1, -1).replace(/''/g, "'") : s);

function parseCopy(sql: string): CopyCommand {
  const t = tokenize(sql);
  let i = 1;
  let table = '';
  while (i < t.length && t[i] !== '(' && t[i].toUpperCase() !== 'FROM') table += t[i++];
  let columns: string[] | undefined;
  if (t[i] === '(') {
    columns = [];
    i++;
    while (i < t.length && t[i] !== ')') {
      if (t[i] !== ',') columns.push(t[i]);
      i++;
    }
    i++;
  }
  if (t[i]?.toUpperCase() !== 'FROM') throw new UnsupportedSqlError(`COPY without FROM: ${sql.slice(0, 200)}`);
  const from = unquote(t[i + 1] ?? '');
  if (!/^s3:\/\/[^/]+\/.*/.test(from)) throw new UnsupportedSqlError(`local warehouse: COPY reads only from 's3://bucket/key', got ${t[i + 1]}`);
  i += 2;
  let manifest = false;
  let gzip = false;
  let json = false;
  while (i < t.length) {
    const word = t[i].toUpperCase();
    const next = t[i + 1];
    switch (word) {
      case ';':
        i++;
        break;
      case 'IAM_ROLE':
        // Local mode reads the staged objects itself; the role is checked for form only.
        if (!/^'arn:aws[a-z-]*:iam::\d{12}:role\/.+'$/.test(next ?? '') && next?.toUpperCase() !== 'DEFAULT')
          throw new UnsupportedSqlError(`ERROR: IAM_ROLE must be 'arn:aws:iam::<account>:role/<name>' or DEFAULT, got ${next}`);
        i += 2;
        break;
      case 'TIMEFORMAT': {
        // 'auto' recognizes the formats Postgres reads from our files (ISO 8601, with or without a
        // zone); any other format string would need Redshift's format parser: refused, not ignored.
        const value = t[i + 1]?.toUpperCase() === 'AS' ? t[i + 2] : next;
        if (unquote(value ?? '').toLowerCase() !== 'auto')
          throw new UnsupportedSqlError(`local warehouse: COPY TIMEFORMAT ${value} is not implemented (only 'auto')`);
        i += t[i + 1]?.toUpperCase() === 'AS' ? 3 : 2;
        break;
      }
      case 'MANIFEST':
        manifest = true;
        i++;
        break;
      case 'GZIP':
        gzip = true;
        i++;
        break;
      case 'FORMAT':
        i += next?.toUpperCase() === 'AS' ? 2 : 1;
        break;
      case 'JSON': {
        const arg = next && next.startsWith("'") ? unquote(next).toLowerCase() : 'auto';
        // 'auto ignorecase' matches keys case-insensitively: not implemented, so refused.
        if (arg !== 'auto') throw new UnsupportedSqlError(`local warehouse: COPY JSON '${arg}' is not implemented (only 'auto')`);
        json = true;
        i += next && next.startsWith("'") ? 2 : 1;
        break;
      }
      case 'COMPUPDATE':
      case 'STATUPDATE':
        i += /^(ON|OFF|TRUE|FALSE)$/i.test(next ?? '') ? 2 : 1;
        break;
      default:
        throw new UnsupportedSqlError(`local warehouse: COPY option ${t[i]} is not supported in: ${sql.slice(0, 300)}`);
    }
  }
  if (!json) throw new UnsupportedSqlError(`local warehouse: COPY loads only FORMAT JSON 'auto' files: ${sql.slice(0, 300)}`);
  return { table, columns, from, manifest, gzip };
}

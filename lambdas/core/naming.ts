import { createHash } from 'node:crypto';

/**
 * Warehouse names the way Segment makes them: snake_case, nested keys joined with `_`,
 * reserved words and collisions with our own columns prefixed with `_`, at most 127 bytes
 * (a stable hash suffix when cut). Every identifier of the stack goes through here.
 */

export const MAX_IDENTIFIER_BYTES = 127;

/** Redshift reserved words (https://docs.aws.amazon.com/redshift/latest/dg/r_pg_keywords.html). */
export const RESERVED_WORDS: ReadonlySet<string> = new Set(
  (
    'aes128 aes256 all allowoverwrite analyse analyze and any array as asc authorization az64 backup between binary blanksasnull both bytedict bzip2 case cast check collate column constraint create credentials cross current_date current_time current_timestamp current_user current_user_id default deferrable deflate defrag delta delta32k desc disable distinct do else emptyasnull enable encode encrypt encryption end except explicit false for foreign freeze from full globaldict256 globaldict64k grant group gzip having identity ignore ilike in initially inner intersect interval into is isnull join language leading left like limit localtime localtimestamp lun luns lzo lzop minus mostly16 mostly32 mostly8 natural new not notnull null nulls off offline offset oid old on only open or order outer overlaps parallel partition percent permissions pivot placing primary raw readratio recover references rejectlog resort respect restore right select session_user similar snapshot some sysdate system table tag tdes text255 text32k then timestamp to top trailing true truncatecolumns union unique unnest unpivot user using verbose wallet when where with without'
  ).split(' '),
);

function shortHash(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 8);
}

/** Cuts to at most `max` UTF-8 bytes without splitting a character. */
function cutBytes(s: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * `orderCompleted`, `Order Completed`, `order-completed` → `order_completed`. Letters and digits
 * of any script are kept (lower-cased); everything else becomes `_`.
 */
export function snakeCase(name: string): string {
  return name
    .normalize('NFC')
    .replace(/(\p{Ll})(\p{Lu})/gu, '$1_$2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1_$2')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * A valid, stable identifier for `name`: snake_case; `_` in front of an empty name, a leading
 * digit or a reserved word; cut to 127 bytes with a hash of the whole name when too long.
 */
export function identifier(name: string): string {
  let id = identifierCache.get(name);
  if (id === undefined) {
    id = computeIdentifier(name);
    // Bounded: a flood of distinct names must not grow memory without end.
    if (identifierCache.size >= 50_000) identifierCache.clear();
    identifierCache.set(name, id);
  }
  return id;
}

/** Names repeat across events (the same properties again and again): derive each one once. */
const identifierCache = new Map<string, string>();

function computeIdentifier(name: string): string {
  let id = snakeCase(name);
  if (id === '' || /^\p{N}/u.test(id) || RESERVED_WORDS.has(id)) id = `_${id}`;
  if (id === '_') id = `_${shortHash(name)}`;
  if (Buffer.byteLength(id, 'utf8') > MAX_IDENTIFIER_BYTES) id = `${cutBytes(id, MAX_IDENTIFIER_BYTES - 9)}_${shortHash(name)}`;
  return id;
}

/** `_` in front of an identifier (a collision with our own names), still within 127 bytes. */
export function prefixed(id: string): string {
  const out = `_${id}`;
  return Buffer.byteLength(out, 'utf8') > MAX_IDENTIFIER_BYTES ? `${cutBytes(out, MAX_IDENTIFIER_BYTES - 9)}_${shortHash(out)}` : out;
}

/** Quotes an identifier produced by {@link identifier} (or one of our own constants) for SQL. */
export function quoteIdent(id: string): string {
  if (!/^[\p{L}\p{N}_]+$/u.test(id) || Buffer.byteLength(id, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new Error(`Refusing to use ${JSON.stringify(id)} as an identifier: it did not come from the sanitizer`);
  }
  return `"${id}"`;
}

/** Tables the stack itself owns in every source schema. */
export const OWN_TABLES = ['tracks', 'pages', 'screens', 'identifies', 'users', 'groups', 'group_calls', 'aliases', '_loads', '_load_tables', '_discards', '_ids'] as const;

/** The table of a track event: its snake_case name, `_`-prefixed if it would collide with ours. */
export function eventTableName(event: string): string {
  const id = identifier(event);
  return (OWN_TABLES as readonly string[]).includes(id) ? prefixed(id) : id;
}

/** A warehouse schema name for a source (already validated as `[a-z][a-z0-9_]*` by the config). */
export function schemaName(source: string): string {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(source)) throw new Error(`Invalid source name ${JSON.stringify(source)}`);
  return source;
}

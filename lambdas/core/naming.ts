import { createHash } from 'node:crypto';

/**
 * Warehouse names the way Segment makes them: snake_case, nested keys joined with `_`,
 * reserved words and collisions with our own columns prefixed with `_`, at most 127 bytes
 * (a stable hash suffix when cut). Every identifier of the stack goes through here.
 */

export const MAX_IDENTIFIER_BYTES = 127;

/** Redshift reserved words (https://docs.aws.amazon.com/redshift/latest/dg/r_pg_keywords.html). */
export const RESERVED_WORDS: ReadonlySet<string> = new Set(
  'aes128 aes256 all allowoverwrite analyse analyze and any array as asc authorization az64 backup between binary blanksasnull both bytedict bzip2 case cast check collate column constraint create credentials cross current_date current_time current_timestamp current_user current_user_id default deferrable deflate defrag delta delta32k desc disable distinct do else emptyasnull enable encode encrypt encryption end except explicit false for foreign freeze from full globaldict256 globaldict64k grant group gzip having identity ignore ilike in initially inner intersect interval into is isnull join language leading left like limit localtime localtimestamp lun luns lzo lzop minus mostly16 mostly32 mostly8 natural new not notnull null nulls off offline offset oid old on only open or order outer overlaps parallel partition percent permissions pivot placing primary raw readratio recover references rejectlog resort respect restore right select session_user similar snapshot some sysdate system table tag tdes text255 text32k then timestamp to top trailing true truncatecolumns union unique unnest unpivot user using verbose wallet when where with without'.split(
    ' ',
  ),
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

const isLower = (c: number) => c >= 0x61 && c <= 0x7a;
const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const UNDERSCORE = 0x5f;

/**
 * Segment's snake_case, byte for byte: the algorithm of github.com/segmentio/go-snakecase (what
 * Segment's warehouses name tables and columns with), ported over the name's UTF-8 bytes. Words
 * are runs of ASCII letters and digits: a capital starts a new word unless it continues a run of
 * capitals (`CStringRef` → `cstring_ref`), digits stick to the word they follow (`f_pX9` →
 * `f_p_x9`), and everything else — punctuation, spaces and every non-ASCII character — only
 * separates words (`•¶§ƒ˚foo˙∆˚¬` → `foo`). A name that is already snake_case is kept as it is.
 */
export function snakeCase(name: string): string {
  const s = Buffer.from(name, 'utf8');
  let idx = 0;
  let hasLower = false;
  let hasUnderscore = false;
  let lowercaseSinceUnderscore = false;
  // The leading run that needs no change: lower case, digits, and `_` followed by one of them.
  for (; idx < s.length; idx++) {
    const c = s[idx];
    if (isLower(c)) {
      hasLower = true;
      if (hasUnderscore) lowercaseSinceUnderscore = true;
    } else if (isDigit(c)) {
      // a digit needs no change
    } else if (c === UNDERSCORE && idx > 0 && idx < s.length - 1 && (isLower(s[idx + 1]) || isDigit(s[idx + 1]))) {
      hasUnderscore = true;
      lowercaseSinceUnderscore = false;
    } else break;
  }
  if (idx === s.length) return name;
  const out: number[] = Array.from(s.subarray(0, idx));
  const capitals = (): void => {
    while (idx < s.length && (isUpper(s[idx]) || isDigit(s[idx]))) {
      out.push(isUpper(s[idx]) ? s[idx] + 0x20 : s[idx]);
      idx++;
    }
  };
  const lowers = (): void => {
    while (idx < s.length && (isLower(s[idx]) || isDigit(s[idx]))) out.push(s[idx++]);
  };
  // A run of capitals right after a lower-case-free start continues the first word (`THE5r`).
  if (isUpper(s[idx]) && (!hasLower || (hasUnderscore && !lowercaseSinceUnderscore))) {
    capitals();
    lowers();
  }
  while (idx < s.length) {
    const c = s[idx];
    if (!isLower(c) && !isUpper(c) && !isDigit(c)) {
      idx++;
      continue;
    }
    if (out.length > 0) out.push(UNDERSCORE);
    capitals();
    lowers();
  }
  return Buffer.from(out).toString('ascii');
}

/**
 * A valid, stable identifier for `name`: Segment's snake_case; `_` in front of a reserved word;
 * `_<hash>` for a name without an ASCII letter or digit (Segment's name would be empty); cut to
 * 127 bytes with a hash of the whole name when too long.
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
  // Segment keeps a leading digit (`2fa_enabled`): a quoted identifier may start with one.
  if (id === '' || RESERVED_WORDS.has(id)) id = `_${id}`;
  if (id === '_') id = `_${shortHash(name)}`;
  if (Buffer.byteLength(id, 'utf8') > MAX_IDENTIFIER_BYTES) id = `${cutBytes(id, MAX_IDENTIFIER_BYTES - 9)}_${shortHash(name)}`;
  return id;
}

/** `_` in front of an identifier (a collision with our own names), still within 127 bytes. */
export function prefixed(id: string): string {
  const out = `_${id}`;
  return Buffer.byteLength(out, 'utf8') > MAX_IDENTIFIER_BYTES ? `${cutBytes(out, MAX_IDENTIFIER_BYTES - 9)}_${shortHash(out)}` : out;
}

/** Whether `id` has the shape {@link identifier} gives (letters, digits, `_`, ≤ 127 bytes): what {@link quoteIdent} accepts. */
export function isSanitizedIdentifier(id: string): boolean {
  return /^[\p{L}\p{N}_]+$/u.test(id) && Buffer.byteLength(id, 'utf8') <= MAX_IDENTIFIER_BYTES;
}

/** Quotes an identifier produced by {@link identifier} (or one of our own constants) for SQL. */
export function quoteIdent(id: string): string {
  if (!isSanitizedIdentifier(id)) {
    throw new Error(`Refusing to use ${JSON.stringify(id)} as an identifier: it did not come from the sanitizer`);
  }
  return `"${id}"`;
}

/** Tables the stack itself owns in every source schema. */
export const OWN_TABLES = [
  'tracks',
  'pages',
  'screens',
  'identifies',
  'users',
  'groups',
  'accounts',
  'aliases',
  '_loads',
  '_load_tables',
  '_discards',
  '_ids',
  '_pending_ids',
  '_pending_discards',
  '_erased_ids',
  '_erasures',
] as const;

/** Our bookkeeping tables: they hold no identity (`_discards` does, by message id, and is erased like the others). */
export const LEDGER_TABLES: ReadonlySet<string> = new Set(['_loads', '_load_tables', '_ids', '_pending_ids', '_erased_ids', '_erasures']);

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

import { createHash } from 'node:crypto';
import { eventTableName, identifier, prefixed, snakeCase } from './naming';
import { parseIsoDate } from './segment';
import { stagedTime, stagedValue, type Tag, warehouseTime } from './staged';

/**
 * Maps Segment events to warehouse rows, Segment's way: `tracks` plus one table per event name,
 * `pages`, `screens`, `identifies`, `groups`, `aliases`; nested objects flattened with `_`,
 * arrays as JSON text. Pure: no I/O.
 *
 * Every value is staged as text with a type tag (`./staged`, the format the load's SQL reads).
 */

export type { Tag } from './staged';
export { warehouseTime } from './staged';
export type ColumnType = 'BIGINT' | 'DOUBLE PRECISION' | 'BOOLEAN' | 'TIMESTAMP' | 'VARCHAR(65535)';

export const MAX_COLUMNS_PER_EVENT = 200;
/** Longest text a tagged value may carry: the stage column is VARCHAR(65535) and the tag takes 2 bytes. */
export const MAX_TEXT_BYTES = 65533;
const MAX_DEPTH = 10;

/** The columns every call table has, and their types. */
export const STANDARD_COLUMNS: Readonly<Record<string, ColumnType>> = {
  id: 'VARCHAR(65535)',
  anonymous_id: 'VARCHAR(65535)',
  user_id: 'VARCHAR(65535)',
  received_at: 'TIMESTAMP',
  sent_at: 'TIMESTAMP',
  timestamp: 'TIMESTAMP',
  original_timestamp: 'TIMESTAMP',
  uuid_ts: 'TIMESTAMP',
};

/** Extra columns of each call table with fixed types. */
export const CALL_COLUMNS: Readonly<Record<string, Readonly<Record<string, ColumnType>>>> = {
  tracks: { event: 'VARCHAR(65535)', event_text: 'VARCHAR(65535)' },
  pages: { name: 'VARCHAR(65535)' },
  screens: { name: 'VARCHAR(65535)' },
  identifies: {},
  groups: { group_id: 'VARCHAR(65535)' },
  aliases: { previous_id: 'VARCHAR(65535)' },
};

/** Columns of `_discards`: one row per value (or whole event) that could not be loaded. */
export const DISCARD_COLUMNS: Readonly<Record<string, ColumnType>> = {
  id: 'VARCHAR(65535)',
  table_name: 'VARCHAR(65535)',
  row_id: 'VARCHAR(65535)',
  column_name: 'VARCHAR(65535)',
  value: 'VARCHAR(65535)',
  value_type: 'VARCHAR(65535)',
  reason: 'VARCHAR(65535)',
  received_at: 'TIMESTAMP',
  raw_object: 'VARCHAR(65535)',
  load_id: 'VARCHAR(65535)',
  uuid_ts: 'TIMESTAMP',
};

/** The column type a tag asks for when a column is new. */
export function typeOfTag(tag: Tag): ColumnType {
  switch (tag) {
    case 'i':
      return 'BIGINT';
    case 'f':
      return 'DOUBLE PRECISION';
    case 'b':
      return 'BOOLEAN';
    case 't':
      return 'TIMESTAMP';
    default:
      return 'VARCHAR(65535)';
  }
}

/** The narrowest type that holds both (integers widen to float; anything else mixed is text). */
export function widen(a: ColumnType, b: ColumnType): ColumnType {
  if (a === b) return a;
  const numeric = new Set<ColumnType>(['BIGINT', 'DOUBLE PRECISION']);
  if (numeric.has(a) && numeric.has(b)) return 'DOUBLE PRECISION';
  return 'VARCHAR(65535)';
}

/** Tags a column of the given type accepts: anything else is a type conflict and goes to `_discards`. */
export function acceptedTags(type: ColumnType): ReadonlyArray<Tag> {
  switch (type) {
    case 'BIGINT':
      return ['i'];
    case 'DOUBLE PRECISION':
      return ['i', 'f'];
    case 'BOOLEAN':
      return ['b'];
    case 'TIMESTAMP':
      return ['t'];
    default:
      return ['i', 'f', 'b', 's', 'j', 't'];
  }
}

export interface DiscardRow {
  readonly id: string;
  readonly table_name: string;
  readonly row_id: string;
  readonly column_name: string | null;
  readonly value: string | null;
  readonly value_type: string | null;
  readonly reason: string;
  readonly received_at: string | null;
  readonly raw_object: string;
}

/** A value as staged, or the reason it cannot be. */
type Tagged =
  { readonly ok: true; readonly text: string; readonly tag: Tag } | { readonly ok: false; readonly reason: string; readonly text: string; readonly tag: Tag };

function tagString(s: string): Tagged {
  if (!s.isWellFormed()) return { ok: false, reason: 'text is not valid Unicode (lone surrogate)', text: s.toWellFormed(), tag: 's' };
  if (s.includes('\u0000'))
    return { ok: false, reason: 'text contains a NUL character, which the warehouse cannot store', text: s.split('\u0000').join('\\u0000'), tag: 's' };
  if (Buffer.byteLength(s, 'utf8') > MAX_TEXT_BYTES)
    return { ok: false, reason: `text is ${Buffer.byteLength(s, 'utf8')} bytes; a VARCHAR column holds at most 65535`, text: s, tag: 's' };
  const d = parseIsoDate(s);
  if (d) return { ok: true, tag: 't', text: stagedTime(d, s) };
  return { ok: true, tag: 's', text: stagedValue('s', s) };
}

/** Tags one scalar or structure. */
export function tagValue(v: unknown): Tagged | undefined {
  if (v === null || v === undefined) return undefined;
  switch (typeof v) {
    case 'string':
      return tagString(v);
    case 'number':
      if (!Number.isFinite(v)) return undefined;
      return Number.isSafeInteger(v) ? { ok: true, tag: 'i', text: stagedValue('i', String(v)) } : { ok: true, tag: 'f', text: stagedValue('f', String(v)) };
    case 'boolean':
      return { ok: true, tag: 'b', text: stagedValue('b', String(v)) };
    case 'object': {
      const json = JSON.stringify(v);
      const inner = tagString(json);
      return inner.ok ? { ok: true, tag: 'j', text: stagedValue('j', json) } : { ...inner, tag: 'j' };
    }
    default:
      return undefined;
  }
}

export interface Row {
  readonly table: string;
  readonly id: string;
  readonly receivedAt: string;
  /** column → tagged text */
  readonly values: Record<string, string>;
}

export interface MappedEvent {
  readonly rows: Row[];
  readonly discards: DiscardRow[];
  /** The event was unusable as a whole (counted as discarded, with one discard row). */
  readonly discarded: boolean;
}

/**
 * Whether a mapped event reaches a call table (tracks, pages, identifies, …): the rows whose ids the
 * load registers. Every event the transform reads is either that or discarded as a whole; one that
 * is neither was lost by the transform, and verification reports it (the ledger's `staged_events`).
 */
export const reachesCallTable = (mapped: MappedEvent): boolean => mapped.rows.some((r) => Object.prototype.hasOwnProperty.call(CALL_COLUMNS, r.table));

/** A discarded value is kept up to this many bytes (the `_discards.value` column is VARCHAR(65535), staged with a 2-byte tag). */
export const MAX_DISCARD_VALUE_BYTES = 60_000;

/** The longest prefix of `s` that takes at most `maxBytes` bytes in UTF-8, never splitting a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  const bytes = Buffer.from(s, 'utf8').subarray(0, maxBytes);
  let end = bytes.length;
  // Step back over a character cut in the middle: continuation bytes are 10xxxxxx.
  let i = end - 1;
  while (i >= 0 && (bytes[i] & 0xc0) === 0x80) i--;
  if (i >= 0) {
    const lead = bytes[i];
    const width = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (i + width > end) end = i;
  }
  return bytes.subarray(0, end).toString('utf8');
}

const stableId = (...parts: string[]) => createHash('sha256').update(parts.join('\u0001'), 'utf8').digest('hex').slice(0, 32);

function discard(
  table: string,
  rowId: string,
  column: string | null,
  value: Tagged | undefined,
  reason: string,
  receivedAt: string | null,
  rawObject: string,
): DiscardRow {
  return {
    id: stableId(table, rowId, column ?? ''),
    table_name: table,
    row_id: rowId,
    column_name: column,
    // Redshift counts VARCHAR lengths in bytes: cut by bytes, on a character boundary.
    value: value ? truncateUtf8(value.text.replace(/^[a-z]:/, ''), MAX_DISCARD_VALUE_BYTES) : null,
    value_type: value?.tag ?? null,
    reason,
    received_at: receivedAt,
    raw_object: rawObject,
  };
}

/** Where an event sits in the raw data: the object and line, for discards of whole events. */
export interface RawPosition {
  readonly object: string;
  readonly line: number;
}

/**
 * Maps one raw event to its rows. `standard` columns come first; then context, then properties
 * or traits, sorted by column name and capped at {@link MAX_COLUMNS_PER_EVENT} per row; names
 * that collide with a standard column are prefixed with `_`, and a second key mapping to a
 * column already taken goes to `_discards` (which key wins is decided by sorted key path, so it
 * is the same in every load).
 */
export function mapEvent(event: unknown, at: RawPosition): MappedEvent {
  const positionId = `${at.object}#${at.line}`;
  const whole = (reason: string, rowId = positionId, receivedAt: string | null = null): MappedEvent => ({
    rows: [],
    discards: [discard('', rowId, null, undefined, reason, receivedAt, at.object)],
    discarded: true,
  });
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return whole('event is not a JSON object');
  const e = event as Record<string, unknown>;
  const messageId = typeof e.messageId === 'string' || typeof e.messageId === 'number' ? String(e.messageId) : '';
  if (!messageId) return whole('event has no messageId');
  const idTag = tagString(messageId);
  if (!idTag.ok) return whole(`messageId cannot be stored: ${idTag.reason}`);
  const received = parseIsoDate(e.receivedAt);
  if (!received) return whole('event has no valid receivedAt', messageId);
  const receivedText = stagedTime(received, String(e.receivedAt));
  const receivedAt = warehouseTime(received);
  const type = e.type;
  // Own keys only: "valueOf" or "constructor" is in every object.
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(CALL_TABLE_OF, type))
    return whole(`unknown event type ${JSON.stringify(type)?.slice(0, 50)}`, messageId, receivedAt);
  if (type === 'track' && (typeof e.event !== 'string' || e.event.trim() === '')) return whole('track event without an event name', messageId, receivedAt);

  const discards: DiscardRow[] = [];
  const base: Record<string, string> = { id: stagedValue('s', messageId), received_at: receivedText };
  const setStandard = (column: string, v: unknown, table: string) => {
    const tagged = tagValue(typeof v === 'number' ? String(v) : v);
    if (!tagged) return;
    if (!tagged.ok) discards.push(discard(table, messageId, column, tagged, tagged.reason, receivedAt, at.object));
    else base[column] = tagged.text;
  };
  const callTable = CALL_TABLE_OF[type as keyof typeof CALL_TABLE_OF];
  setStandard('anonymous_id', e.anonymousId, callTable);
  setStandard('user_id', e.userId, callTable);
  for (const [column, field] of [
    ['sent_at', 'sentAt'],
    ['timestamp', 'timestamp'],
    ['original_timestamp', 'originalTimestamp'],
  ] as const) {
    setStandard(column, e[field], callTable);
  }
  const fixed: Record<string, unknown> = {};
  let payload: unknown;
  switch (type) {
    case 'track':
      fixed.event = eventTableName(e.event as string);
      fixed.event_text = e.event;
      payload = e.properties;
      break;
    case 'page':
    case 'screen':
      fixed.name = e.name ?? (e.properties as Record<string, unknown> | undefined)?.name;
      payload = e.properties;
      break;
    case 'identify':
      payload = e.traits ?? (e.context as Record<string, unknown> | undefined)?.traits;
      break;
    case 'group':
      fixed.group_id = e.groupId;
      payload = e.traits;
      break;
    case 'alias':
      fixed.previous_id = e.previousId;
      break;
    default:
      break;
  }
  const payloadName = type === 'identify' || type === 'group' ? 'traits' : 'properties';
  const reserved = RESERVED_BY_TABLE[callTable];
  const context = flattenColumns(e.context, 'context', ['context'], reserved);
  const props = flattenColumns(payload, '', [payloadName], reserved);

  const buildRow = (table: string, fixedColumns: Record<string, unknown>, entries: ColumnEntry[]): Row => {
    const values: Record<string, string> = { ...base };
    for (const [column, v] of Object.entries(fixedColumns)) {
      const tagged = tagValue(typeof v === 'number' ? String(v) : v);
      if (!tagged) continue;
      if (!tagged.ok) discards.push(discard(table, messageId, column, tagged, tagged.reason, receivedAt, at.object));
      else values[column] = tagged.text;
    }
    // One key per column: on a collision the smaller key path wins, whatever the order of the keys.
    const winners = new Map<string, { entry: ColumnEntry; tagged: Tagged }>();
    for (const entry of entries) {
      const tagged = tagValue(entry.value);
      if (!tagged) continue;
      const other = winners.get(entry.column);
      if (other) {
        const [win, lose] = keyOf(entry) < keyOf(other.entry) ? [{ entry, tagged }, other] : [other, { entry, tagged }];
        winners.set(entry.column, win);
        discards.push(
          discard(
            table,
            messageId,
            entry.column,
            lose.tagged,
            `key ${keyOf(lose.entry)} maps to column ${entry.column}, already taken by key ${keyOf(win.entry)}`,
            receivedAt,
            at.object,
          ),
        );
        continue;
      }
      winners.set(entry.column, { entry, tagged });
    }
    let accepted = [...winners.values()];
    for (const w of accepted) if (!w.tagged.ok) discards.push(discard(table, messageId, w.entry.column, w.tagged, w.tagged.reason, receivedAt, at.object));
    accepted = accepted.filter((w) => w.tagged.ok);
    if (accepted.length > MAX_COLUMNS_PER_EVENT) {
      // Deterministic cap: the first 200 columns by name stay.
      accepted.sort((a, b) => (a.entry.column < b.entry.column ? -1 : a.entry.column > b.entry.column ? 1 : 0));
      for (const w of accepted.slice(MAX_COLUMNS_PER_EVENT)) {
        discards.push(
          discard(
            table,
            messageId,
            w.entry.column,
            w.tagged,
            `event has more than ${MAX_COLUMNS_PER_EVENT} columns (properties and context together); columns after the first ${MAX_COLUMNS_PER_EVENT} by name are not loaded`,
            receivedAt,
            at.object,
          ),
        );
      }
      accepted = accepted.slice(0, MAX_COLUMNS_PER_EVENT);
    }
    for (const w of accepted) values[w.entry.column] = w.tagged.text;
    return { table, id: messageId, receivedAt, values };
  };

  const rows: Row[] = [];
  if (type === 'track') {
    rows.push(buildRow('tracks', fixed, context));
    rows.push(buildRow(fixed.event as string, fixed, context.concat(props)));
  } else {
    rows.push(buildRow(callTable, fixed, context.concat(props)));
  }
  return { rows, discards, discarded: false };
}

interface ColumnEntry {
  readonly column: string;
  readonly path: ReadonlyArray<string>;
  readonly value: unknown;
}

const keyOf = (entry: ColumnEntry) => entry.path.join('.');

/** `snakeCase(parent + '_' + key)`, remembered: the same names come in every event. */
const childSnake = new Map<string, Map<string, string>>();
function snakeChild(parent: string, key: string): string {
  let byKey = childSnake.get(parent);
  if (!byKey) {
    if (childSnake.size >= 10_000) childSnake.clear();
    childSnake.set(parent, (byKey = new Map()));
  }
  let s = byKey.get(key);
  if (s === undefined) {
    if (byKey.size >= 10_000) byKey.clear();
    s = snakeCase(parent ? `${parent}_${key}` : key);
    byKey.set(key, s);
  }
  return s;
}

/** Flattens an object into warehouse columns (`a_b_c`), arrays kept whole, names that collide with our own prefixed. */
function flattenColumns(
  obj: unknown,
  parentSnake: string,
  parentPath: string[],
  reserved: ReadonlySet<string>,
  out: ColumnEntry[] = [],
  depth = 0,
): ColumnEntry[] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return out;
  for (const key of Object.keys(obj as Record<string, unknown>)) {
    const value = (obj as Record<string, unknown>)[key];
    const snake = snakeChild(parentSnake, key);
    const path = [...parentPath, key];
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < MAX_DEPTH) {
      flattenColumns(value, snake, path, reserved, out, depth + 1);
      continue;
    }
    let column = identifier(snake || key);
    if (reserved.has(column)) column = prefixed(column);
    out.push({ column, path, value });
  }
  return out;
}

const CALL_TABLE_OF = {
  track: 'tracks',
  page: 'pages',
  screen: 'screens',
  identify: 'identifies',
  group: 'groups',
  alias: 'aliases',
} as const;

/** Columns a property may not take in each call table (ours); it gets a `_` prefix instead. */
const RESERVED_BY_TABLE: Record<string, ReadonlySet<string>> = Object.fromEntries(
  Object.values(CALL_TABLE_OF).map((t) => [t, new Set([...Object.keys(STANDARD_COLUMNS), ...Object.keys(CALL_COLUMNS[t] ?? {}), 'event', 'event_text'])]),
);

/** A discard row as staged for the `_discards` table (tagged like every other row). */
export function stageDiscard(d: DiscardRow, loadId: string): Record<string, string> {
  const text = (v: string) => stagedValue('s', v);
  const out: Record<string, string> = {
    id: text(d.id),
    table_name: text(d.table_name),
    row_id: text(d.row_id),
    reason: text(d.reason),
    raw_object: text(d.raw_object),
    load_id: text(loadId),
  };
  if (d.column_name !== null) out.column_name = text(d.column_name);
  if (d.value !== null) out.value = text(d.value);
  if (d.value_type !== null) out.value_type = text(d.value_type);
  if (d.received_at !== null) out.received_at = stagedTime(d.received_at, d.received_at);
  return out;
}

/**
 * The staged-value format: what the transform writes into the COPY files and the load's SQL reads
 * back. One module for both, so neither depends on the other's offsets. Pure.
 *
 * Every value is text behind a two-character type tag, so the warehouse can tell a number from a
 * string that looks like one and never casts silently: `i:` integer, `f:` float, `b:` boolean,
 * `s:` string, `j:` JSON array/object text, and `t:<YYYY-MM-DD HH:MM:SS.mmm UTC>|<original text>`
 * for a timestamp (the warehouse time first, at a fixed width, then the text as sent).
 */

export type Tag = 'i' | 'f' | 'b' | 's' | 'j' | 't';

/** `<tag>:` */
const TAG_LENGTH = 2;
/** `YYYY-MM-DD HH:MM:SS.mmm` */
const TIME_LENGTH = 23;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC: a text both Redshift and Postgres cast to TIMESTAMP exactly. */
export function warehouseTime(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/** A value staged with its tag. */
export const stagedValue = (tag: Exclude<Tag, 't'>, text: string): string => `${tag}:${text}`;

/** A timestamp staged: the warehouse time (a `Date`, or text already in that form), then the original text. */
export function stagedTime(time: Date | string, original: string): string {
  const text = typeof time === 'string' ? time : warehouseTime(time);
  if (text.length !== TIME_LENGTH) throw new Error(`A staged time is ${TIME_LENGTH} characters (YYYY-MM-DD HH:MM:SS.mmm), not "${text}"`);
  return `t:${text}|${original}`;
}

/**
 * A row's order key, `<receivedAt>|<raw object key>|<line, 9 digits>`: the latest of two copies of a
 * message wins a merge, and the raw object says which hour registered it. Raw object keys never hold `|`.
 */
export const stagedOrder = (receivedAt: string, objectKey: string, line: number): string => `${receivedAt}|${objectKey}|${String(line).padStart(9, '0')}`;

/** A `t:` value's warehouse time (`YYYY-MM-DD HH:MM:SS.mmm`). */
export const stagedTimeOf = (value: string): string => value.slice(TAG_LENGTH, TAG_LENGTH + TIME_LENGTH);

/** The tag of a staged value. */
export const tagOf = (value: string): Tag => value[0] as Tag;

/** SQL over a staged value `ref` (a column of the stage table): its parts, by position. */
export const stagedSql = {
  /** `'i:'` — a tag as the SQL literal its value starts with. */
  tag: (tag: Tag) => `'${tag}:'`,
  /** The tag part of `ref`, to compare with {@link stagedSql.tag}. */
  tagOf: (ref: string) => `LEFT(${ref}, ${TAG_LENGTH})`,
  /** Everything after the tag. */
  value: (ref: string) => `SUBSTRING(${ref}, ${TAG_LENGTH + 1})`,
  /** A `t:` value's warehouse time. */
  time: (ref: string) => `SUBSTRING(${ref}, ${TAG_LENGTH + 1}, ${TIME_LENGTH})`,
  /** A `t:` value's original text (after the time and `|`). */
  original: (ref: string) => `SUBSTRING(${ref}, ${TAG_LENGTH + TIME_LENGTH + 2})`,
  /** The tag letter alone (`_discards.value_type`). */
  tagLetter: (ref: string) => `LEFT(${ref}, 1)`,
  /** The raw object key of an order key ({@link stagedOrder}). */
  orderObject: (ref: string) => `SPLIT_PART(${ref}, '|', 2)`,
} as const;

import { createHash } from 'node:crypto';
import { hourPrefix } from './layout';

/**
 * Segment's S3 destination archives, read for an import of history: objects are
 * `[PREFIX/]segment-logs/<source-id>/<received day as epoch milliseconds>/<opaque name>.gz`, each a
 * gzip file of whole Segment messages, one JSON object per line. Pure: keys and lines in, the raw
 * objects of our layout out.
 */

const DAY_MS = 86_400_000;

/** The received day (UTC midnight) an archive object belongs to, from the key's folder under `prefix`. */
export function archiveDayOfKey(prefix: string, key: string): Date | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const m = /^(\d{10,16})\//.exec(key.slice(prefix.length));
  if (!m) return undefined;
  const ms = Number(m[1]);
  return ms % DAY_MS === 0 ? new Date(ms) : undefined;
}

/** Whether an archive object holds messages: Segment's files end in `.gz`; anything else is skipped. */
export const isArchiveFile = (key: string): boolean => key.endsWith('.gz');

/** `s3://bucket/prefix/` → its parts; the prefix always ends in `/` (or is empty). */
export function parseArchiveUri(uri: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/?(.*)$/.exec(uri);
  if (!m) return undefined;
  const prefix = m[2] === '' || m[2].endsWith('/') ? m[2] : `${m[2]}/`;
  return { bucket: m[1], prefix };
}

export interface Resharded {
  /** Raw objects to write: key in our raw layout → NDJSON lines (the messages as archived). */
  readonly objects: ReadonlyMap<string, string[]>;
  /** Lines that are not a Segment message we can place, with the reason. */
  readonly invalid: ReadonlyArray<{ readonly line: number; readonly reason: string; readonly text: string }>;
  readonly messages: number;
}

/**
 * One archive object's lines → raw objects of `source`, one per UTC hour of `receivedAt` (so
 * imported events land in the hours they were received), named after the archive object: an
 * import run twice writes the same keys with the same content. A line must be a JSON object with
 * a `messageId`, a `type` and a valid `receivedAt`; anything else is returned as invalid. The
 * messages themselves are kept as archived: the loads validate them as they validate live ones.
 */
export function reshard(source: string, archiveKey: string, text: string): Resharded {
  const objects = new Map<string, string[]>();
  const invalid: Array<{ line: number; reason: string; text: string }> = [];
  const name = `segment-archive-${createHash('sha256').update(archiveKey).digest('hex').slice(0, 24)}.gz`;
  let messages = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (e) {
      invalid.push({ line: i + 1, reason: `not JSON: ${(e as Error).message}`, text: line.slice(0, 1000) });
      return;
    }
    const m = message as { messageId?: unknown; type?: unknown; receivedAt?: unknown };
    const receivedAt = typeof m?.receivedAt === 'string' ? new Date(m.receivedAt) : undefined;
    const reason =
      message === null || typeof message !== 'object' || Array.isArray(message) ? 'not a JSON object'
      : typeof m.messageId !== 'string' || m.messageId === '' ? 'no messageId'
      : typeof m.type !== 'string' ? 'no type'
      : !receivedAt || Number.isNaN(receivedAt.getTime()) ? 'no valid receivedAt'
      : undefined;
    if (reason) {
      invalid.push({ line: i + 1, reason, text: line.slice(0, 1000) });
      return;
    }
    const key = `${hourPrefix(source, receivedAt as Date)}${name}`;
    const lines = objects.get(key) ?? [];
    lines.push(line);
    objects.set(key, lines);
    messages++;
  });
  return { objects, invalid, messages };
}

import { isIP } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { CollectorCall } from './routes';

/**
 * The Segment Spec as the collector receives it: validation of each message and the server-side
 * enrichment every Segment endpoint applies (received time, message id, clock-skew correction,
 * batch-level context, client IP). Pure: no I/O.
 */

export const CALL_TYPES = ['track', 'page', 'screen', 'identify', 'group', 'alias'] as const;
export type CallType = (typeof CALL_TYPES)[number];

export type SegmentMessage = Record<string, unknown> & { type?: unknown };

/** Limits of the Segment HTTP Tracking API. */
export const LIMITS = {
  messageBytes: 32 * 1024,
  batchBytes: 500 * 1024,
  batchMessages: 2500,
} as const;

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** The form every Segment library sends (`toISOString()`): checked first, it is the common case. */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Parses an ISO-8601 date-time with an explicit zone, as Segment clients send them. */
export function parseIsoDate(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  if (value.length === 24 && CANONICAL.test(value)) {
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  if (!ISO_8601.test(value)) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return undefined;
  const year = d.getUTCFullYear();
  return year >= 1 && year <= 9999 ? d : undefined;
}

const present = (v: unknown) => (typeof v === 'string' && v.trim() !== '') || (typeof v === 'number' && Number.isFinite(v));

/** Why a message cannot be stored, or undefined when it follows the spec. */
export function validateMessage(message: unknown): string | undefined {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return 'a message must be a JSON object';
  const m = message as SegmentMessage;
  if (typeof m.type !== 'string' || !(CALL_TYPES as readonly string[]).includes(m.type)) {
    return `type must be one of ${CALL_TYPES.join(', ')}${m.type === undefined ? '' : ` (got ${JSON.stringify(m.type).slice(0, 40)})`}`;
  }
  if (!present(m.userId) && !present(m.anonymousId)) return 'userId or anonymousId is required';
  switch (m.type) {
    case 'track':
      if (typeof m.event !== 'string' || m.event.trim() === '') return 'track needs a non-empty event name';
      break;
    case 'group':
      if (!present(m.groupId)) return 'group needs a groupId';
      break;
    case 'alias':
      if (!present(m.previousId) || !present(m.userId)) return 'alias needs previousId and userId';
      break;
    default:
      break;
  }
  for (const field of ['timestamp', 'sentAt', 'originalTimestamp'] as const) {
    if (m[field] !== undefined && m[field] !== null && parseIsoDate(m[field]) === undefined) {
      return `${field} must be an ISO-8601 date-time with a zone, such as 2026-11-21T10:00:00.000Z`;
    }
  }
  for (const field of ['properties', 'traits', 'context', 'integrations'] as const) {
    if (m[field] !== undefined && m[field] !== null && (typeof m[field] !== 'object' || Array.isArray(m[field]))) return `${field} must be an object`;
  }
  return undefined;
}

/** Deep merge where `own` wins: batch-level context under the message's own context. */
export function mergeUnder(base: unknown, own: unknown): unknown {
  if (own === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(own)) return own;
  const out: Record<string, unknown> = { ...base };
  // Defined, not assigned: a key named "__proto__" (JSON.parse makes it an own key) is data too.
  for (const [k, v] of Object.entries(own))
    Object.defineProperty(out, k, { value: mergeUnder(Object.hasOwn(base, k) ? base[k] : undefined, v), enumerable: true, writable: true, configurable: true });
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export interface EnrichmentContext {
  /** Server clock when the request arrived. */
  readonly receivedAt: Date;
  /** Client IP of the request. */
  readonly ip?: string;
  /** What is stored of `context.ip` (the client's or the request's): see {@link applyIpPolicy}. @default 'keep' */
  readonly ipPolicy?: IpPolicy;
  /** Batch-level fields (`/v1/batch` and `/v1/b` bodies). */
  readonly batch?: { readonly context?: unknown; readonly integrations?: unknown; readonly sentAt?: unknown };
  /** Call implied by the route (`/v1/track` → track); undefined for batch routes. */
  readonly routeCall?: Exclude<CollectorCall, 'batch'>;
}

/**
 * Enriches one message as Segment's servers do:
 * `receivedAt`; `messageId` when missing; `sentAt` from the batch when missing;
 * `originalTimestamp` = the client's `timestamp`; `timestamp = receivedAt − (sentAt − originalTimestamp)`
 * (the client clock's skew removed), or receivedAt when the client sent no time;
 * `context.ip` from the request when absent; batch `context` / `integrations` merged under the
 * message's own; `writeKey` dropped.
 */
export function enrichMessage(message: SegmentMessage, ctx: EnrichmentContext): SegmentMessage {
  const { writeKey: _writeKey, ...rest } = message;
  void _writeKey;
  const out: SegmentMessage = { ...rest };
  if (ctx.routeCall) out.type = ctx.routeCall;
  out.receivedAt = ctx.receivedAt.toISOString();
  if (!present(out.messageId)) out.messageId = randomUUID();
  else out.messageId = String(out.messageId);
  if (out.sentAt === undefined && ctx.batch?.sentAt !== undefined) out.sentAt = ctx.batch.sentAt;
  const original = parseIsoDate(out.originalTimestamp) ?? parseIsoDate(out.timestamp);
  const sentAt = parseIsoDate(out.sentAt);
  if (original) out.originalTimestamp = canonical(out.originalTimestamp ?? out.timestamp, original);
  if (sentAt) out.sentAt = canonical(out.sentAt, sentAt);
  out.timestamp = correctedTimestamp(ctx.receivedAt, sentAt, original).toISOString();
  if (ctx.batch?.context !== undefined) out.context = mergeUnder(ctx.batch.context, out.context);
  if (ctx.batch?.integrations !== undefined) out.integrations = mergeUnder(ctx.batch.integrations, out.integrations);
  const policy = ctx.ipPolicy ?? 'keep';
  const context = isPlainObject(out.context) ? out.context : undefined;
  const given = context?.ip;
  if (given === undefined || given === null || given === '') {
    const filled = policy === 'drop' || !ctx.ip ? undefined : applyIpPolicy(ctx.ip, policy);
    if (filled) out.context = { ...context, ip: filled };
    else if (policy === 'drop' && context && 'ip' in context) out.context = withoutIp(context);
  } else if (policy !== 'keep') {
    const kept = applyIpPolicy(given, policy);
    out.context = kept === undefined ? withoutIp(context as Record<string, unknown>) : { ...context, ip: kept };
  }
  return out;
}

export type IpPolicy = 'keep' | 'truncate' | 'drop';

function withoutIp(context: Record<string, unknown>): Record<string, unknown> {
  const { ip: _ip, ...rest } = context;
  void _ip;
  return rest;
}

/**
 * An IP address as a source's policy stores it: `keep` as sent; `truncate` to its network, the
 * host part zeroed (IPv4 /24 → `203.0.113.0`, IPv6 /48 → `2001:db8:85a3::`, an IPv4-mapped IPv6
 * address as IPv4); `drop` → nothing. A value that is not an IP address is dropped unless kept:
 * it cannot be truncated, and it may hold anything.
 */
export function applyIpPolicy(value: unknown, policy: IpPolicy): string | undefined {
  if (policy === 'keep') return typeof value === 'string' ? value : value === undefined || value === null ? undefined : String(value);
  if (policy === 'drop' || typeof value !== 'string') return undefined;
  const text = value.trim();
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(text);
  if (v4) {
    const octets = v4.slice(1, 5).map(Number);
    return octets.every((o) => o <= 255) ? `${octets[0]}.${octets[1]}.${octets[2]}.0` : undefined;
  }
  if (isIP(text) !== 6) return undefined;
  const groups = expandIpv6(text.replace(/%.*$/, ''));
  return groups ? formatIpv6([...groups.slice(0, 3), 0, 0, 0, 0, 0]) : undefined;
}

/** RFC 5952 text: lowercase hex, the longest run of zero groups (two or more, first if tied) as `::`. */
function formatIpv6(groups: number[]): string {
  let best = { at: -1, length: 0 };
  for (let i = 0; i < groups.length;) {
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > best.length && j - i >= 2) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (best.at < 0) return hex(groups);
  return `${hex(groups.slice(0, best.at))}::${hex(groups.slice(best.at + best.length))}`;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded; a trailing dotted IPv4 part allowed). */
function expandIpv6(text: string): number[] | undefined {
  let s = text;
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1, 5).map(Number);
    s = `${s.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.split('::');
  const part = (p: string | undefined) => (p ? p.split(':').map((g) => parseInt(g, 16)) : []);
  const left = part(head);
  const right = part(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 0) return undefined;
  return [...left, ...new Array<number>(tail === undefined ? 0 : missing).fill(0), ...right];
}

/** `receivedAt − (sentAt − originalTimestamp)`: the event time on the server's clock. */
export function correctedTimestamp(receivedAt: Date, sentAt: Date | undefined, original: Date | undefined): Date {
  if (!original) return receivedAt;
  if (!sentAt) return original;
  const corrected = new Date(receivedAt.getTime() - (sentAt.getTime() - original.getTime()));
  // A wildly wrong client clock can push the result out of range: the server's clock is all we have then.
  return parseIsoDate(Number.isNaN(corrected.getTime()) ? undefined : safeIso(corrected)) ?? receivedAt;
}

function safeIso(d: Date): string | undefined {
  try {
    return d.toISOString();
  } catch {
    return undefined;
  }
}

/** The canonical text of a date: the client's own text when it already is canonical. */
function canonical(text: unknown, d: Date): string {
  return typeof text === 'string' && text.length === 24 && text.endsWith('Z') && CANONICAL.test(text) ? text : d.toISOString();
}

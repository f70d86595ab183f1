import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidInputError } from './errors';

/**
 * Erasure and suppression of identities (GDPR/CCPA requests). Pure: the request's shape, the
 * suppression list's shape, and which messages, quarantined lines and staged rows belong to an
 * identity. Identities are compared by SHA-256 digest, so the suppression list that outlives the
 * erasure names no one in clear text.
 */

/** Most ids one request may name, as Segment's regulation API allows. */
export const MAX_IDS_PER_REQUEST = 5000;

export type IdentityKind = 'userId' | 'anonymousId';

/** Where each source's suppression list is kept in the control bucket. */
export const suppressionKey = (source: string) => `suppression/${source}.json`;

/** Where a forget request keeps its working files in the staged bucket. */
export const erasureLayout = {
  prefix: (requestId: string) => `erasures/${requestId}/`,
  items: (requestId: string) => `erasures/${requestId}/items.json`,
  identities: (requestId: string, source: string) => `erasures/${requestId}/${source}/identities.json.gz`,
  identitiesManifest: (requestId: string, source: string) => `erasures/${requestId}/${source}/identities.manifest.json`,
  idsPrefix: (requestId: string, source: string) => `erasures/${requestId}/${source}/ids/`,
  ids: (requestId: string, source: string, objectKey: string) => `erasures/${requestId}/${source}/ids/${digest(objectKey).slice(0, 32)}.json.gz`,
  objectsPrefix: (requestId: string, source: string) => `erasures/${requestId}/${source}/objects/`,
  object: (requestId: string, source: string, objectKey: string) => `erasures/${requestId}/${source}/objects/${digest(objectKey).slice(0, 32)}.json.gz`,
  manifest: (requestId: string, source: string, what: 'ids' | 'objects') => `erasures/${requestId}/${source}/${what}.manifest.json`,
  /** Each RewriteObjects batch's totals per source, named by its first item (a retried batch overwrites its own). */
  batches: (requestId: string) => `erasures/${requestId}/batches/`,
  batch: (requestId: string, firstItemKey: string) => `erasures/${requestId}/batches/${digest(firstItemKey).slice(0, 32)}.json`,
  receipt: (requestId: string, source: string) => `erasures/${requestId}/${source}/receipt.json.gz`,
  receiptManifest: (requestId: string, source: string) => `erasures/${requestId}/${source}/receipt.manifest.json`,
} as const;

export function digest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export interface SuppressionEntry {
  readonly kind: IdentityKind;
  /** SHA-256 (hex) of the id. */
  readonly hash: string;
  readonly requestId: string;
  readonly at: string;
}

export interface SuppressionList {
  readonly version: 1;
  readonly entries: SuppressionEntry[];
}

export const EMPTY_SUPPRESSION: SuppressionList = { version: 1, entries: [] };

const SuppressionSchema = z.object({
  version: z.literal(1),
  entries: z.array(z.object({ kind: z.enum(['userId', 'anonymousId']), hash: z.string().regex(/^[0-9a-f]{64}$/), requestId: z.string(), at: z.string() })),
});

export function parseSuppression(text: string): SuppressionList {
  const res = SuppressionSchema.safeParse(JSON.parse(text));
  if (!res.success) throw new Error(`The suppression list is malformed: ${res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return res.data;
}

/** The list with these ids added (an id already listed keeps its first entry). */
export function suppress(list: SuppressionList, ids: ReadonlyArray<{ kind: IdentityKind; id: string }>, requestId: string, at: Date): SuppressionList {
  const seen = new Set(list.entries.map((e) => `${e.kind}:${e.hash}`));
  const entries = [...list.entries];
  for (const { kind, id } of ids) {
    const hash = digest(id);
    if (seen.has(`${kind}:${hash}`)) continue;
    seen.add(`${kind}:${hash}`);
    entries.push({ kind, hash, requestId, at: at.toISOString() });
  }
  return { version: 1, entries };
}

/** The list without these ids; returns how many entries were removed. */
export function unsuppress(list: SuppressionList, ids: ReadonlyArray<{ kind: IdentityKind; id: string }>): { list: SuppressionList; removed: number } {
  const drop = new Set(ids.map(({ kind, id }) => `${kind}:${digest(id)}`));
  const entries = list.entries.filter((e) => !drop.has(`${e.kind}:${e.hash}`));
  return { list: { version: 1, entries }, removed: list.entries.length - entries.length };
}

const idText = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;

/**
 * Who a request or a suppression list names, by digest. A message belongs to them when its
 * `userId` is a named user id or its `anonymousId` a named anonymous id; an alias also when its
 * `previousId` is either.
 */
export class IdentityMatcher {
  private constructor(
    private readonly users: ReadonlySet<string>,
    private readonly anonymous: ReadonlySet<string>,
  ) {}

  static of(list: SuppressionList, ...more: ReadonlyArray<{ userIds: ReadonlyArray<string>; anonymousIds: ReadonlyArray<string> }>): IdentityMatcher {
    const users = new Set(list.entries.filter((e) => e.kind === 'userId').map((e) => e.hash));
    const anonymous = new Set(list.entries.filter((e) => e.kind === 'anonymousId').map((e) => e.hash));
    for (const m of more) {
      for (const id of m.userIds) users.add(digest(id));
      for (const id of m.anonymousIds) anonymous.add(digest(id));
    }
    return new IdentityMatcher(users, anonymous);
  }

  get empty(): boolean {
    return this.users.size === 0 && this.anonymous.size === 0;
  }

  private user(v: unknown): boolean {
    const id = idText(v);
    return id !== undefined && this.users.has(digest(id));
  }

  private anon(v: unknown): boolean {
    const id = idText(v);
    return id !== undefined && this.anonymous.has(digest(id));
  }

  /** A Segment message (as the collector receives or stores it). */
  message(m: unknown): boolean {
    if (this.empty || m === null || typeof m !== 'object') return false;
    const msg = m as Record<string, unknown>;
    if (this.user(msg.userId ?? msg.user_id) || this.anon(msg.anonymousId ?? msg.anonymous_id)) return true;
    return msg.type === 'alias' && (this.user(msg.previousId) || this.anon(msg.previousId));
  }

  /** A staged row: values tagged `s:<text>` (see the transform). */
  stagedRow(row: Record<string, unknown>): boolean {
    if (this.empty) return false;
    const text = (v: unknown) => (typeof v === 'string' && v.length > 2 ? v.slice(2) : undefined);
    if (this.user(text(row.user_id)) || this.anon(text(row.anonymous_id))) return true;
    const previous = text(row.previous_id);
    return previous !== undefined && (this.user(previous) || this.anon(previous));
  }
}

/** A parsed line of a raw object, or undefined when it is not JSON. */
export function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** The id a removed raw line is accounted under: its messageId, or a digest of the line when it has none. */
export function lineId(parsed: unknown, line: string): string {
  const id = parsed && typeof parsed === 'object' ? idText((parsed as Record<string, unknown>).messageId) : undefined;
  return id ?? `line:${digest(line).slice(0, 32)}`;
}

export interface ForgetRequest {
  readonly sources: string[];
  readonly userIds: string[];
  readonly anonymousIds: string[];
  readonly dryRun: boolean;
}

const Ids = z.array(z.string().min(1, { error: 'an id may not be empty' }).max(65535, { error: 'an id is at most 65,535 characters' })).default([]);
const RequestSchema = z
  .object({
    source: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], { error: 'name a source, a list of sources, or "*"' }),
    userIds: Ids,
    anonymousIds: Ids,
    dryRun: z.boolean({ error: '"dryRun" must be true or false' }).default(false),
  })
  .strict();

/** Checks a forget request (what an operator types in the console); every problem names what to change. */
export function checkForgetRequest(input: unknown, configured: ReadonlyArray<string>): ForgetRequest {
  const res = RequestSchema.safeParse(input);
  if (!res.success) {
    throw new InvalidInputError(
      `Invalid forget request: ${res.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}. Example: {"source":"web","userIds":["user-123"],"anonymousIds":[],"dryRun":true}`,
    );
  }
  const r = res.data;
  const names = r.source === '*' ? [...configured] : Array.isArray(r.source) ? r.source : [r.source];
  const unknown = names.filter((s) => !configured.includes(s));
  if (unknown.length > 0)
    throw new InvalidInputError(`Unknown source ${unknown.map((s) => JSON.stringify(s)).join(', ')}: configured sources are ${configured.join(', ')}`);
  const userIds = [...new Set(r.userIds)];
  const anonymousIds = [...new Set(r.anonymousIds)];
  if (userIds.length + anonymousIds.length === 0) throw new InvalidInputError('Name at least one identity: "userIds" and/or "anonymousIds"');
  if (userIds.length + anonymousIds.length > MAX_IDS_PER_REQUEST)
    throw new InvalidInputError(`A request names at most ${MAX_IDS_PER_REQUEST} ids; this one names ${userIds.length + anonymousIds.length}: split it`);
  return { sources: [...new Set(names)], userIds, anonymousIds, dryRun: r.dryRun };
}

import { hourOfKey, sqlTime } from '../core/layout';
import { schemaName } from '../core/naming';
import { CALL_TABLES, erasedIdsQuery, ledgerKeysQuery, registeredIdsQuery, TABLES_QUERY } from '../core/sql';
import { daysBetween, type HourCounts, hourOfSqlTime, verifyReport, type VerifyReport } from '../core/verify';
import type { ListedObject, ObjectStore } from './objects';
import type { Warehouse } from './warehouse';

export interface VerificationDeps {
  readonly objects: ObjectStore;
  readonly warehouse: Warehouse;
  readonly rawBucket: string;
  readonly quarantinePrefix: string;
}

export interface LedgerObject {
  readonly key: string;
  readonly hour: string;
  readonly events: number;
  readonly discarded: number;
  /** Events the transform put in a call table; undefined for objects loaded before it was counted. */
  readonly staged?: number;
}

export interface RegisteredIds {
  readonly hour: string;
  readonly table: string;
  readonly registered: number;
  readonly missing: number;
}

/** The warehouse's side of a source's hours in [from, to): its tables, ledger objects and registered messages. */
export async function warehouseSide(
  warehouse: Warehouse,
  source: string,
  from: Date,
  to: Date,
): Promise<{ tables: string[]; ledger: LedgerObject[]; registered: RegisteredIds[]; erased: Array<{ hour: string; erased: number }> }> {
  const schema = schemaName(source);
  // One catalog query: the ledger's existence is one of the tables.
  const tables = (await warehouse.query(TABLES_QUERY, { schema }, 'tables')).map((r) => String(r.table_name));
  if (!tables.includes('_loads')) return { tables: [], ledger: [], registered: [], erased: [] };
  const range = { from: sqlTime(from), to: sqlTime(to) };
  const ledger = (await warehouse.query(ledgerKeysQuery(schema), range, 'ledger')).map((r) => ({
    key: String(r.object_key),
    hour: hourOfSqlTime(r.hour),
    events: Number(r.events ?? 0),
    discarded: Number(r.discarded_events ?? 0),
    staged: r.staged_events === null || r.staged_events === undefined ? undefined : Number(r.staged_events),
  }));
  const callTables = CALL_TABLES.filter((t) => tables.includes(t));
  const registered =
    tables.includes('_ids') && callTables.length > 0
      ? (await warehouse.query(registeredIdsQuery(schema, callTables), range, 'registered messages')).map((r) => ({
          hour: hourOfSqlTime(r.object_hour),
          table: String(r.table_name),
          registered: Number(r.registered),
          missing: Number(r.missing ?? 0),
        }))
      : [];
  const erased = tables.includes('_erased_ids')
    ? (await warehouse.query(erasedIdsQuery(schema), range, 'erased messages')).map((r) => ({ hour: hourOfSqlTime(r.object_hour), erased: Number(r.erased) }))
    : [];
  return { tables, ledger, registered, erased };
}

/** Raw objects (or quarantine objects, with `prefix`) of a source whose hour is in [from, to): one listing per day. */
export async function listHours(
  objects: ObjectStore,
  bucket: string,
  source: string,
  from: Date,
  to: Date,
  prefix = '',
): Promise<Array<ListedObject & { hour: string }>> {
  const out: Array<ListedObject & { hour: string }> = [];
  for (const day of daysBetween(from, to)) {
    for (const o of await objects.list(bucket, `${prefix}${source}/${day}/`)) {
      const hour = hourOfKey(o.key.slice(prefix.length));
      if (hour && Date.parse(hour) >= from.getTime() && Date.parse(hour) < to.getTime()) out.push({ ...o, hour });
    }
  }
  return out;
}

/** Distinct messages (by messageId; a line without one counts once) and lines of a gzip NDJSON object. */
async function countMessages(objects: ObjectStore, bucket: string, key: string, seen: Set<string>): Promise<{ lines: number; messages: number }> {
  const text = (await objects.getGunzipped(bucket, key)).toString('utf8');
  let lines = 0;
  let messages = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    lines++;
    let id: unknown;
    try {
      id = (JSON.parse(line) as { messageId?: unknown }).messageId;
    } catch {
      id = undefined;
    }
    if (typeof id !== 'string' || id === '') messages++;
    else if (!seen.has(id)) {
      seen.add(id);
      messages++;
    }
  }
  return { lines, messages };
}

/**
 * Verifies a source over [from, to), hour by hour. Counts come from SQL (ledger, registry, call
 * tables) and the transform's statistics; raw objects are read only where the ledger has no
 * counts for them (objects not loaded) and for the quarantine (small: rejected messages only).
 * `deep` re-reads every raw object as well, to find messages the loads never registered (a
 * message counts in the hour it first appears in).
 */
export async function verifySource(deps: VerificationDeps, source: string, from: Date, to: Date, options: { deep?: boolean } = {}): Promise<VerifyReport> {
  const start = new Date(Math.floor(from.getTime() / 3_600_000) * 3_600_000);
  const end = new Date(Math.ceil(to.getTime() / 3_600_000) * 3_600_000);
  const [raw, quarantine, side] = await Promise.all([
    listHours(deps.objects, deps.rawBucket, source, start, end),
    listHours(deps.objects, deps.rawBucket, source, start, end, deps.quarantinePrefix),
    warehouseSide(deps.warehouse, source, start, end),
  ]);

  type Mutable = { -readonly [K in keyof HourCounts]: HourCounts[K] } & {
    registered: Record<string, number>;
    missing: Record<string, number>;
    keys: Set<string>;
  };
  const hours = new Map<string, Mutable>();
  const hour = (h: string) => {
    let c = hours.get(h);
    if (!c)
      hours.set(
        h,
        (c = {
          hour: h,
          objects: 0,
          objectsLoaded: 0,
          events: 0,
          discarded: 0,
          registered: {},
          missing: {},
          unloadedObjects: 0,
          unloadedEvents: 0,
          quarantined: 0,
          keys: new Set(),
        }),
      );
    return c;
  };
  for (const l of side.ledger) {
    const c = hour(l.hour);
    c.keys.add(l.key);
    c.objects++;
    c.objectsLoaded++;
    c.events += l.events;
    c.discarded += l.discarded;
    // Known for the hour only if known for every loaded object of it.
    c.staged = l.staged === undefined || (c.objectsLoaded > 1 && c.staged === undefined) ? undefined : (c.staged ?? 0) + l.staged;
  }
  for (const r of side.registered) {
    const c = hour(r.hour);
    c.registered[r.table] = (c.registered[r.table] ?? 0) + r.registered;
    c.missing[r.table] = (c.missing[r.table] ?? 0) + r.missing;
  }
  for (const e of side.erased) hour(e.hour).erased = (hour(e.hour).erased ?? 0) + e.erased;
  const seen = new Set<string>();
  for (const o of [...raw].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const c = hour(o.hour);
    const loaded = c.keys.has(o.key);
    if (!loaded) {
      c.objects++;
      c.unloadedObjects++;
      c.unloadedEvents += (await countMessages(deps.objects, deps.rawBucket, o.key, seen)).messages;
    } else if (options.deep) {
      c.loadedObjectsDistinct = (c.loadedObjectsDistinct ?? 0) + (await countMessages(deps.objects, deps.rawBucket, o.key, seen)).messages;
    }
  }
  for (const o of quarantine) hour(o.hour).quarantined += (await countMessages(deps.objects, deps.rawBucket, o.key, new Set())).lines;
  return verifyReport(source, start, end, [...hours.values()]);
}

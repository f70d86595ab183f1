import { fromSqlTime, hourOfKey, hourPrefix, sqlTime } from '../core/layout';
import type { PlannedObject } from '../core/loadTypes';
import { schemaName } from '../core/naming';
import { LEDGER_EXISTS_QUERY, latestLedgerHourQuery, ledgerKeysQuery } from '../core/sql';
import type { ObjectStore } from './objects';
import type { Warehouse } from './warehouse';

/** Pending loads re-list this much before the newest loaded hour (late objects of that hour). */
const PENDING_SLACK_MS = 2 * 3_600_000;

/**
 * The raw objects a load of `source` would take, oldest first: every object of the window
 * (`reload`), or those not yet in the `_loads` ledger (`pending`; without a window, listed from
 * a little before the newest loaded hour). What PlanLoad plans and `status` measures lag by.
 */
export async function candidateObjects(
  deps: { readonly objects: ObjectStore; readonly warehouse: Warehouse; readonly rawBucket: string },
  source: string,
  options: { readonly from?: Date; readonly to?: Date; readonly mode: 'pending' | 'reload' },
): Promise<PlannedObject[]> {
  const { objects, warehouse } = deps;
  const schema = schemaName(source);
  let from = options.from;
  const to = options.to;
  const ledgerRows = await warehouse.query(LEDGER_EXISTS_QUERY, { schema }, 'ledger lookup');
  const ledgerExists = Number(ledgerRows[0]?.n ?? 0) > 0;
  if (!from && ledgerExists && options.mode === 'pending') {
    const latest = (await warehouse.query(latestLedgerHourQuery(schema), {}, 'latest loaded hour'))[0]?.hour;
    if (latest) from = new Date(fromSqlTime(latest).getTime() - PENDING_SLACK_MS);
  }

  const startAfter = from ? hourPrefix(source, from).slice(0, -1) : undefined;
  const listed = await objects.list(deps.rawBucket, `${source}/`, startAfter);
  let candidates: PlannedObject[] = listed
    .map((o) => ({ key: o.key, size: o.size, hour: hourOfKey(o.key) ?? '', lastModified: o.lastModified.toISOString() }))
    .filter((o) => o.hour && (!from || Date.parse(o.hour) >= from.getTime()) && (!to || Date.parse(o.hour) < to.getTime()));

  if (options.mode === 'pending' && ledgerExists && candidates.length > 0) {
    const first = candidates[0].hour;
    const last = candidates[candidates.length - 1].hour;
    const loaded = await warehouse.query(ledgerKeysQuery(schema), { from: sqlTime(first), to: sqlTime(new Date(Date.parse(last) + 3_600_000)) }, 'ledger keys');
    const done = new Set(loaded.map((r) => String(r.object_key)));
    candidates = candidates.filter((o) => !done.has(o.key));
  }
  // Oldest first: by hour, then by when the object was written, then by key.
  return candidates.sort(
    (a, b) => a.hour.localeCompare(b.hour) || Date.parse(a.lastModified) - Date.parse(b.lastModified) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
}

/** Lag: the age of the oldest pending object (0 when nothing waits). */
export function lagSeconds(pending: ReadonlyArray<Pick<PlannedObject, 'lastModified'>>, now: Date): number {
  const oldest = pending.reduce<number | undefined>(
    (m, o) => (m === undefined ? Date.parse(o.lastModified) : Math.min(m, Date.parse(o.lastModified))),
    undefined,
  );
  return oldest === undefined ? 0 : Math.max(0, (now.getTime() - oldest) / 1000);
}

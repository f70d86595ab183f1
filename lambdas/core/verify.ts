import { floorHour, fromSqlTime } from './layout';

/**
 * Verification: accepted = loaded + discarded + erased, per source and raw-object hour. Pure: the counts
 * come from the object listing, the `_loads` ledger (the transform's counts per raw object), the
 * `_ids` registry (messages the loads put in the call tables) and the call tables themselves.
 */

/** What is known about one hour of one source, before any judgement. */
export interface HourCounts {
  readonly hour: string;
  /** Raw objects of the hour: listed in S3 or recorded in the ledger. */
  readonly objects: number;
  /** Of those, objects in the `_loads` ledger. */
  readonly objectsLoaded: number;
  /** Events (lines) in the loaded objects, as the transform counted them. */
  readonly events: number;
  /** Whole events the loads discarded (in `_discards` with their reason). */
  readonly discarded: number;
  /**
   * Events the transform put in a call table, per its own count of each loaded object (undefined when
   * an object of the hour was loaded before this was counted). Every event is staged or discarded:
   * events − staged − discarded are events the transform lost.
   */
  readonly staged?: number;
  /** Messages the loads registered, per call table. */
  readonly registered: Readonly<Record<string, number>>;
  /** Registered messages the call table no longer has, per call table. */
  readonly missing: Readonly<Record<string, number>>;
  /** Raw objects not in the ledger, and the distinct messages in them. */
  readonly unloadedObjects: number;
  readonly unloadedEvents: number;
  /** Messages the collector rejected (quarantine prefix), with their reason. */
  readonly quarantined: number;
  /** Messages erased by forget requests (`_erased_ids`, by raw-object hour). */
  readonly erased?: number;
  /** Deep verification only: distinct messages first seen in the hour's loaded raw objects, re-read. */
  readonly loadedObjectsDistinct?: number;
}

export interface HourCheck {
  readonly hour: string;
  /** Distinct messages accepted into the raw objects of the hour. */
  readonly accepted: number;
  readonly quarantined: number;
  /** Distinct messages present in the call tables. */
  readonly loaded: number;
  readonly discarded: number;
  /** Erased by forget requests: accepted, then deleted everywhere on request. */
  readonly erased: number;
  /** Events sent more than once (client retries), loaded once. */
  readonly duplicates: number;
  readonly objects: number;
  readonly objectsLoaded: number;
  readonly ok: boolean;
  readonly problems: string[];
}

export interface VerifyReport {
  readonly source: string;
  readonly from: string;
  readonly to: string;
  readonly ok: boolean;
  readonly hours: HourCheck[];
  readonly totals: Omit<HourCheck, 'hour' | 'problems'> & { readonly hours: number; readonly mismatched: number };
}

const fmt = (n: number) => n.toLocaleString('en-US');
const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);

/** Judges one hour: accepted must equal loaded + discarded, and the ledger must agree with the raw objects. */
export function checkHour(c: HourCounts): HourCheck {
  const registered = sum(c.registered);
  const missing = sum(c.missing);
  const erased = c.erased ?? 0;
  const accepted = registered + c.discarded + c.unloadedEvents + erased;
  const loaded = registered - missing;
  const problems: string[] = [];
  if (c.unloadedObjects > 0)
    problems.push(
      `${fmt(c.unloadedObjects)} raw object${c.unloadedObjects === 1 ? '' : 's'} (${fmt(c.unloadedEvents)} event${c.unloadedEvents === 1 ? '' : 's'}) not loaded`,
    );
  for (const [table, n] of Object.entries(c.missing).sort()) if (n > 0) problems.push(`${fmt(n)} loaded message${n === 1 ? '' : 's'} missing from ${table}`);
  const lost = c.staged === undefined ? 0 : c.events - c.staged - c.discarded;
  if (lost > 0)
    problems.push(
      `the transform neither loaded nor discarded ${fmt(lost)} of the ${fmt(c.events)} events of the loaded objects (reload the hour; if it repeats, it is a bug: report it)`,
    );
  if (registered + c.discarded > c.events)
    problems.push(`the ledger counts ${fmt(registered + c.discarded)} messages but its raw objects hold ${fmt(c.events)} events`);
  if (c.loadedObjectsDistinct !== undefined && c.loadedObjectsDistinct > registered + c.discarded) {
    problems.push(`its loaded raw objects hold ${fmt(c.loadedObjectsDistinct)} distinct messages; the loads account for ${fmt(registered + c.discarded)}`);
  }
  return {
    hour: c.hour,
    accepted,
    quarantined: c.quarantined,
    loaded,
    discarded: c.discarded,
    erased,
    duplicates: Math.max(0, c.events - registered - c.discarded),
    objects: c.objects,
    objectsLoaded: c.objectsLoaded,
    ok: problems.length === 0,
    problems,
  };
}

export function verifyReport(source: string, from: Date, to: Date, counts: ReadonlyArray<HourCounts>): VerifyReport {
  const hours = [...counts].sort((a, b) => a.hour.localeCompare(b.hour)).map(checkHour);
  const total = (k: 'accepted' | 'quarantined' | 'loaded' | 'discarded' | 'erased' | 'duplicates' | 'objects' | 'objectsLoaded') =>
    hours.reduce((n, h) => n + h[k], 0);
  const mismatched = hours.filter((h) => !h.ok).length;
  return {
    source,
    from: from.toISOString(),
    to: to.toISOString(),
    ok: mismatched === 0,
    hours,
    totals: {
      hours: hours.length,
      mismatched,
      accepted: total('accepted'),
      quarantined: total('quarantined'),
      loaded: total('loaded'),
      discarded: total('discarded'),
      erased: total('erased'),
      duplicates: total('duplicates'),
      objects: total('objects'),
      objectsLoaded: total('objectsLoaded'),
      ok: mismatched === 0,
    },
  };
}

/** The UTC days (`YYYY/MM/DD`) that [from, to) touches: one listing each. */
export function daysBetween(from: Date, to: Date): string[] {
  const out: string[] = [];
  for (let t = Math.floor(from.getTime() / 86_400_000) * 86_400_000; t < to.getTime(); t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10).replace(/-/g, '/'));
  return out;
}

/** A warehouse TIMESTAMP value (`YYYY-MM-DD HH:MM:SS[.fff]`) of an hour as ISO (`…T05:00:00.000Z`). */
export function hourOfSqlTime(value: unknown): string {
  return floorHour(fromSqlTime(value)).toISOString();
}

import type { PlannedObject } from './loadTypes';

/**
 * Poison objects: a raw object that makes every load fail must not stop its source. After a load
 * fails (for a reason that is not an outage), the next loads take a window half the size of the
 * failed one, starting at the oldest pending object; a load that succeeds doubles it again (back to
 * the full load). So the window closes in on the object that fails, and an object that fails
 * `SET_ASIDE_AFTER` loads on its own is set aside — listed with its error, left out of pending loads,
 * alarmed on — while later objects load. `backfill --windows` (a reload) still takes it. Pure.
 */

/** Loads of the object alone that must fail before it is set aside. */
export const SET_ASIDE_AFTER = 3;

/** Where a source's pending loads stand after failures (`loads/<source>/isolation.json`). */
export interface IsolationState {
  /** The window of the next pending load; absent: the full load. */
  readonly size?: number;
  /** The object that failed loads on its own, and how many. */
  readonly alone?: { readonly key: string; readonly failures: number };
  readonly lastError?: string;
}

/** An object set aside (`loads/<source>/set-aside.json`). */
export interface SetAsideObject {
  readonly key: string;
  readonly hour: string;
  readonly error: string;
  readonly failures: number;
  readonly at: string;
}

/** Errors of an outage (retried inside the workflow, and still failing): no object's fault. */
const OUTAGE =
  /^(TransientError|States\.Timeout|States\.HeartbeatTimeout|Lambda\.ServiceException|Lambda\.TooManyRequestsException|Lambda\.SdkClientException|Lambda\.AWSLambdaException)$/;

/** Whether a failed load counts against its objects. */
export function countsAgainstObjects(error: string): boolean {
  return !OUTAGE.test(error);
}

/** The state after a failed pending load of `keys` (oldest first). */
export function afterFailure(state: IsolationState, keys: ReadonlyArray<string>, error: string, cause: string): IsolationState {
  if (keys.length === 0 || !countsAgainstObjects(error)) return state;
  const lastError = `${error}: ${cause}`.slice(0, 2000);
  if (keys.length === 1) {
    const failures = state.alone?.key === keys[0] ? state.alone.failures + 1 : 1;
    return { size: 1, alone: { key: keys[0], failures }, lastError };
  }
  return { size: Math.max(1, Math.floor(keys.length / 2)), lastError };
}

/** The state after a pending load of `planned` objects committed: the window doubles, up to the full load. */
export function afterSuccess(state: IsolationState, planned: number, maxObjects: number): IsolationState {
  if (state.size === undefined) return state;
  const size = Math.max(state.size, planned) * 2;
  return size >= maxObjects ? {} : { size };
}

/**
 * What a pending load takes from its candidates (oldest first): none that is set aside, at most the
 * window; and the object to set aside now, when the oldest has failed alone often enough.
 */
export function planWithIsolation(
  candidates: ReadonlyArray<PlannedObject>,
  state: IsolationState,
  setAside: ReadonlySet<string>,
  maxObjects: number,
): { readonly take: PlannedObject[]; readonly pending: PlannedObject[]; readonly setAsideNow?: PlannedObject } {
  let pending = candidates.filter((c) => !setAside.has(c.key));
  let setAsideNow: PlannedObject | undefined;
  if (state.alone && state.alone.failures >= SET_ASIDE_AFTER && pending[0]?.key === state.alone.key) {
    setAsideNow = pending[0];
    pending = pending.slice(1);
  }
  const size = setAsideNow ? maxObjects : Math.min(state.size ?? maxObjects, maxObjects);
  return { take: pending.slice(0, size), pending, setAsideNow };
}

import { afterFailure, afterSuccess, countsAgainstObjects, planWithIsolation, SET_ASIDE_AFTER } from '../../../lambdas/core/isolation';
import type { PlannedObject } from '../../../lambdas/core/loadTypes';

const objects = (n: number): PlannedObject[] =>
  Array.from({ length: n }, (_, i) => ({
    key: `web/2026/01/01/00/o${String(i).padStart(3, '0')}.gz`,
    size: 1,
    hour: '2026-01-01T00:00:00.000Z',
    lastModified: '2026-01-01T00:01:00.000Z',
  }));

describe('core/isolation: closing in on an object that fails every load', () => {
  it('halves the window after a failed load and doubles it after a committed one, back to the full load', () => {
    const keys = objects(8).map((o) => o.key);
    let state = afterFailure({}, keys, 'Error', 'boom');
    expect(state).toMatchObject({ size: 4, lastError: 'Error: boom' });
    state = afterFailure(state, keys.slice(0, 4), 'Error', 'boom');
    expect(state.size).toBe(2);
    expect(afterSuccess(state, 2, 8)).toEqual({ size: 4 });
    expect(afterSuccess({ size: 4 }, 4, 8)).toEqual({});
    expect(afterSuccess({}, 8, 8)).toEqual({});
  });

  it('counts the failures of an object alone, and starts again for another object', () => {
    let state = afterFailure({ size: 1 }, ['a'], 'Error', 'x');
    state = afterFailure(state, ['a'], 'Error', 'x');
    expect(state.alone).toEqual({ key: 'a', failures: 2 });
    expect(afterFailure(state, ['b'], 'Error', 'x').alone).toEqual({ key: 'b', failures: 1 });
  });

  it('does not count an outage against the objects', () => {
    for (const error of ['TransientError', 'States.Timeout', 'Lambda.ServiceException']) {
      expect(countsAgainstObjects(error)).toBe(false);
      const state = { size: 4 };
      expect(afterFailure(state, ['a', 'b'], error, 'down')).toBe(state);
    }
    expect(countsAgainstObjects('Lambda.Unknown')).toBe(true);
    expect(countsAgainstObjects('Error')).toBe(true);
  });

  it('plans the window from the oldest object, leaves set-aside objects out, and sets aside the oldest once it failed alone often enough', () => {
    const all = objects(10);
    expect(planWithIsolation(all, {}, new Set(), 500).take).toHaveLength(10);
    expect(planWithIsolation(all, { size: 3 }, new Set(), 500).take.map((o) => o.key)).toEqual(all.slice(0, 3).map((o) => o.key));
    const without = planWithIsolation(all, {}, new Set([all[0].key]), 500);
    expect(without.take[0].key).toBe(all[1].key);
    expect(without.pending).toHaveLength(9);
    const almost = planWithIsolation(all, { size: 1, alone: { key: all[0].key, failures: SET_ASIDE_AFTER - 1 } }, new Set(), 500);
    expect({ setAside: almost.setAsideNow, take: almost.take.map((o) => o.key) }).toEqual({ setAside: undefined, take: [all[0].key] });
    const now = planWithIsolation(all, { size: 1, alone: { key: all[0].key, failures: SET_ASIDE_AFTER } }, new Set(), 500);
    expect(now.setAsideNow?.key).toBe(all[0].key);
    expect(now.take.map((o) => o.key)).toEqual(all.slice(1).map((o) => o.key));
  });
});

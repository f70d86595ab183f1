import { checkHour, daysBetween, type HourCounts, verifyReport } from '../../../lambdas/core/verify';

const base: HourCounts = {
  hour: '2026-11-01T05:00:00.000Z',
  objects: 2,
  objectsLoaded: 2,
  events: 105,
  discarded: 2,
  registered: { tracks: 60, pages: 40 },
  missing: { tracks: 0, pages: 0 },
  unloadedObjects: 0,
  unloadedEvents: 0,
  quarantined: 1,
};

describe('checkHour', () => {
  it('adds up: accepted = loaded + discarded; repeats are duplicates, quarantine is shown beside', () => {
    expect(checkHour(base)).toEqual({
      hour: base.hour,
      accepted: 102,
      quarantined: 1,
      loaded: 100,
      discarded: 2,
      erased: 0,
      duplicates: 3,
      objects: 2,
      objectsLoaded: 2,
      ok: true,
      problems: [],
    });
  });

  it('names rows missing per table, unloaded objects, and a ledger that counts more than its objects hold', () => {
    const h = checkHour({ ...base, missing: { tracks: 3, pages: 1 }, unloadedObjects: 2, unloadedEvents: 1200, objects: 4, events: 90 });
    expect(h.ok).toBe(false);
    expect(h.accepted).toBe(1302);
    expect(h.loaded).toBe(96);
    expect(h.problems).toEqual([
      '2 raw objects (1,200 events) not loaded',
      '1 loaded message missing from pages',
      '3 loaded messages missing from tracks',
      'the ledger counts 102 messages but its raw objects hold 90 events',
    ]);
  });

  it('flags events the transform neither staged nor discarded (its own counts in the ledger), and trusts ledgers from before that count', () => {
    expect(checkHour({ ...base, staged: 103 }).problems).toEqual([]);
    expect(checkHour({ ...base, staged: 102 })).toMatchObject({
      ok: false,
      problems: [
        'the transform neither loaded nor discarded 1 of the 105 events of the loaded objects (reload the hour; if it repeats, it is a bug: report it)',
      ],
    });
    expect(checkHour({ ...base, staged: undefined }).ok).toBe(true);
  });

  it('deep: flags an hour whose re-read raw objects hold more messages than the loads account for', () => {
    expect(checkHour({ ...base, loadedObjectsDistinct: 102 }).ok).toBe(true);
    // Erased messages (forget) count as accepted: accepted = loaded + discarded + erased.
    expect(checkHour({ ...base, erased: 5 })).toMatchObject({ accepted: 107, loaded: 100, discarded: 2, erased: 5, ok: true });
    expect(checkHour({ ...base, loadedObjectsDistinct: 105 }).problems).toEqual([
      'its loaded raw objects hold 105 distinct messages; the loads account for 102',
    ]);
  });

  it('totals the hours and counts the mismatched ones', () => {
    const r = verifyReport('web', new Date('2026-11-01T00:00Z'), new Date('2026-11-02T00:00Z'), [
      { ...base, hour: '2026-11-01T06:00:00.000Z', missing: { tracks: 1 } },
      base,
    ]);
    expect(r.hours.map((h) => h.hour)).toEqual(['2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z']);
    expect(r.totals).toMatchObject({ hours: 2, mismatched: 1, accepted: 204, loaded: 199, ok: false });
  });
});

it('daysBetween lists each UTC day a range touches', () => {
  expect(daysBetween(new Date('2026-10-31T23:00Z'), new Date('2026-11-02T00:00Z'))).toEqual(['2026/10/31', '2026/11/01']);
});

import type { LoadSummary } from '../../../lambdas/core/loadTypes';
import { compactSummary } from '../../../lambdas/core/summary';

function summaryOf(tables: number, ddl: number, hours: number): LoadSummary {
  const name = (i: number) => `${'t'.repeat(120)}_${i}`;
  return {
    source: 'web',
    loadId: 'l1',
    status: 'SUCCEEDED',
    dryRun: false,
    mode: 'pending',
    objects: 1,
    events: 10,
    eventsDiscarded: 0,
    rowsLoaded: 10,
    rowsChanged: 10,
    valuesDiscarded: 0,
    rowsDiscarded: 0,
    more: false,
    durationMs: 1,
    tables: Array.from({ length: tables }, (_, i) => ({ table: name(i), rows: 1, changed: 1, valuesDiscarded: 0, newColumns: 1500 })),
    ddl: Array.from({ length: ddl }, (_, i) => `CREATE TABLE IF NOT EXISTS "web"."${name(i)}" (${'"c" VARCHAR(65535), '.repeat(1500)})`),
    hours: Object.fromEntries(
      Array.from({ length: hours }, (_, i) => [new Date(Date.UTC(2026, 0, 1, i)).toISOString(), { events: 1, discardedEvents: 0, objects: 1 }]),
    ),
  };
}

describe('compactSummary', () => {
  it.each([
    [1, 1, 1],
    [60, 60, 24],
    [2000, 2000, 1000],
    [20000, 0, 9000],
  ])('stays under 64 KiB with %i tables, %i schema changes and %i hours', (tables, ddl, hours) => {
    const out = compactSummary(summaryOf(tables, ddl, hours), 'web/l1/summary.json');
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThan(64 * 1024);
    expect(out.tables.length + out.omitted.tables).toBe(tables);
    expect(out.ddl.length + out.omitted.ddl).toBe(ddl);
    expect(Object.keys(out.hours).length + out.omitted.hours).toBe(hours);
    expect(out).toMatchObject({ rowsLoaded: 10, summaryKey: 'web/l1/summary.json' });
  });

  it('keeps a small summary whole', () => {
    const s = { ...summaryOf(3, 0, 2), ddl: ['ALTER TABLE "web"."x" ADD COLUMN "y" BIGINT'] };
    expect(compactSummary(s, 'k')).toEqual({ ...s, summaryKey: 'k', omitted: { tables: 0, ddl: 0, hours: 0 } });
  });
});

import { backfillLayout, floorHour, fromSqlTime, hourOfKey, hourPrefix, layout, manifestOf, sqlTime, tableSegment } from '../../../lambdas/core/layout';

/** Where things live in the buckets: the one place keys are built. */
describe('bucket layout', () => {
  it('puts raw objects under <source>/YYYY/MM/DD/HH/ and reads the hour back from a key', () => {
    const hour = new Date('2026-11-20T08:59:59.999Z');
    expect(hourPrefix('web', hour)).toBe('web/2026/11/20/08/');
    expect(hourOfKey(`${hourPrefix('web', hour)}stream-1-2026-11-20.gz`)).toBe('2026-11-20T08:00:00.000Z');
    expect(hourOfKey('_quarantine/web/2026/11/20/08/x.json.gz')).toBeUndefined();
    expect(hourOfKey('web/2026/11/20/x.gz')).toBeUndefined();
    expect(floorHour(hour).toISOString()).toBe('2026-11-20T08:00:00.000Z');
  });

  it('keeps every file of a load under its own folder, and every file of a backfill under its own', () => {
    const keys = [
      layout.plan('web', 'L1'),
      layout.stats('web', 'L1', 3),
      layout.tableFile('web', 'L1', 'tracks', 3, 0),
      layout.manifest('web', 'L1', 'tracks'),
      layout.tables('web', 'L1'),
      layout.ledgerFile('web', 'L1'),
      layout.ledgerManifest('web', 'L1'),
      layout.summary('web', 'L1'),
    ];
    for (const k of keys) expect(k.startsWith(layout.loadPrefix('web', 'L1'))).toBe(true);
    expect(layout.loadPrefix('web', 'L1').startsWith(layout.loadsPrefix('web'))).toBe(true);
    expect(layout.stats('web', 'L1', 3)).toBe('loads/web/L1/stats/chunk-00003.json');
    expect(layout.stats('web', 'L1', 3).startsWith(layout.statsPrefix('web', 'L1'))).toBe(true);
    const backfill = [
      backfillLayout.windows('B'),
      backfillLayout.result('B', 'x'),
      backfillLayout.summary('B'),
      backfillLayout.archiveObjects('B'),
      backfillLayout.importBatch('B', 'y'),
      backfillLayout.importReport('B'),
    ];
    for (const k of backfill) expect(k.startsWith(backfillLayout.prefix('B'))).toBe(true);
    expect(backfillLayout.result('B', 'x').startsWith(backfillLayout.results('B'))).toBe(true);
    expect(backfillLayout.importBatch('B', 'y').startsWith(backfillLayout.imports('B'))).toBe(true);
    expect(layout.verification('web', '2026-11-20T00:00:00.000Z', '2026-11-21T00:00:00.000Z', 'exec:1/2')).toBe(
      'verifications/web/2026-11-20T00_2026-11-21T00_exec-1-2.json',
    );
  });

  it('names table folders safely: plain names as they are, any other name by a stable hash', () => {
    expect(tableSegment('order_completed')).toBe('order_completed');
    const odd = tableSegment('größe');
    expect(odd).toMatch(/^u_[0-9a-f]{24}$/);
    expect(tableSegment('größe')).toBe(odd);
    expect(tableSegment("x'; DROP TABLE y; --")).toMatch(/^u_/);
  });

  it('writes warehouse times and COPY manifests as Redshift reads them', () => {
    expect(sqlTime('2026-11-20T08:00:00.5Z')).toBe('2026-11-20 08:00:00.500');
    expect(fromSqlTime('2026-11-20 08:00:00.5').toISOString()).toBe('2026-11-20T08:00:00.500Z');
    expect(manifestOf('staged', [{ key: 'loads/web/L1/tables/tracks/chunk-00000-0.json.gz', bytes: 10 }])).toEqual({
      entries: [{ url: 's3://staged/loads/web/L1/tables/tracks/chunk-00000-0.json.gz', mandatory: true, meta: { content_length: 10 } }],
    });
  });
});

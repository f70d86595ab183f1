import {
  archiveDayOfKey,
  archiveObjectsPerBatch,
  type HourPreview,
  isArchiveFile,
  mergePreviews,
  parseArchiveUri,
  previewObject,
  reshard,
  schemaChanges,
  windowPreviews,
} from '../../../lambdas/core/archive';
import { fixedColumnsOf } from '../../../lambdas/core/schema';

describe('Segment archive layout', () => {
  it('reads the received day from the epoch-milliseconds folder, and nothing else', () => {
    const prefix = 'segment-logs/src/';
    expect(archiveDayOfKey(prefix, `${prefix}1759276800000/x.gz`)).toEqual(new Date('2025-10-01T00:00:00Z'));
    expect(archiveDayOfKey(prefix, `${prefix}1759276800001/x.gz`)).toBeUndefined(); // not a midnight
    expect(archiveDayOfKey(prefix, `${prefix}2025-10-01/x.gz`)).toBeUndefined();
    expect(archiveDayOfKey(prefix, `other/1759276800000/x.gz`)).toBeUndefined();
    expect([isArchiveFile('a/b.gz'), isArchiveFile('a/manifest.json')]).toEqual([true, false]);
  });

  it('parses s3:// archive addresses, the prefix always ending in /', () => {
    expect(parseArchiveUri('s3://my-bucket/segment-logs/src')).toEqual({ bucket: 'my-bucket', prefix: 'segment-logs/src/' });
    expect(parseArchiveUri('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(parseArchiveUri('my-bucket/x')).toBeUndefined();
    expect(parseArchiveUri('s3://My_Bucket/x')).toBeUndefined();
  });

  it('puts each message in the raw object of the hour it was received, keeps it as archived, and names what it cannot place', () => {
    const a = JSON.stringify({ messageId: 'm1', type: 'track', event: 'E', receivedAt: '2025-10-01T09:59:59.999Z' });
    const b = JSON.stringify({ messageId: 'm2', type: 'page', receivedAt: '2025-10-01T10:00:00.000Z' });
    const text = [
      a,
      b,
      '',
      'not json',
      '[1]',
      '{"type":"track","receivedAt":"2025-10-01T10:00:00Z"}',
      '{"messageId":"m3","type":"track","receivedAt":"yesterday"}',
    ].join('\n');
    const r = reshard('web', 'segment-logs/src/1759276800000/f.gz', text);
    expect(r.messages).toBe(2);
    const keys = [...r.objects.keys()];
    expect(keys).toEqual([
      expect.stringMatching(/^web\/2025\/10\/01\/09\/segment-archive-[0-9a-f]{24}\.gz$/),
      expect.stringMatching(/^web\/2025\/10\/01\/10\/segment-archive-[0-9a-f]{24}\.gz$/),
    ]);
    expect([...r.objects.values()]).toEqual([[a], [b]]);
    expect(r.invalid.map((x) => [x.line, x.reason.replace(/:.*/, '')])).toEqual([
      [4, 'not JSON'],
      [5, 'not a JSON object'],
      [6, 'no messageId'],
      [7, 'no valid receivedAt'],
    ]);
    // The same archive object gives the same keys: an import run twice overwrites, never adds.
    expect([...reshard('web', 'segment-logs/src/1759276800000/f.gz', text).objects.keys()]).toEqual(keys);
    expect([...reshard('web', 'segment-logs/src/1759276800000/g.gz', text).objects.keys()]).not.toEqual(keys);
  });
});

describe('import dry run: what the loads would stage', () => {
  const hourKey = 'web/2026/10/01/09/segment-archive-abc.gz';
  const line = (m: Record<string, unknown>) => JSON.stringify({ receivedAt: '2026-10-01T09:10:00Z', timestamp: '2026-10-01T09:10:00Z', ...m });

  it('counts rows and value tags per table and discards by reason, per hour', () => {
    const hours: Record<string, HourPreview> = {};
    previewObject(
      hourKey,
      [
        line({ messageId: 'm1', type: 'track', event: 'Order Completed', userId: 'u1', properties: { total: 5 } }),
        line({ messageId: 'm2', type: 'track', event: 'Order Completed', userId: 'u2', properties: { total: 'five' } }),
        line({ messageId: 'm3', type: 'track', userId: 'u3' }),
      ],
      hours,
    );
    const p = hours['2026-10-01T09:00:00.000Z'];
    expect({ events: p.events, discardedEvents: p.discardedEvents, discards: p.discards }).toEqual({
      events: 3,
      discardedEvents: 1,
      discards: { 'event: track event without an event name': 1 },
    });
    expect(Object.fromEntries(Object.entries(p.tables).map(([t, s]) => [t, s.rows]))).toEqual({ tracks: 2, order_completed: 2, _discards: 1 });
    expect(p.tables.order_completed.columns.total).toEqual({ i: 1, s: 1 });
    expect(() => previewObject('not-a-raw-key', [], hours)).toThrow(/is not a raw object key/);
  });

  it('plans each window against the catalog: new tables, new columns, values that do not fit', () => {
    const hours: Record<string, HourPreview> = {};
    previewObject(
      hourKey,
      [line({ messageId: 'm1', type: 'track', event: 'Order Completed', userId: 'u1', properties: { total: 'five', coupon: 'X' } })],
      hours,
    );
    const catalog = { tracks: { ...fixedColumnsOf('tracks') }, order_completed: { ...fixedColumnsOf('order_completed'), total: 'BIGINT' as const } };
    const [w] = windowPreviews('web', hours, catalog);
    expect(w).toMatchObject({
      source: 'web',
      from: '2026-10-01T09:00:00.000Z',
      to: '2026-10-01T10:00:00.000Z',
      events: 1,
      rows: { order_completed: 1, tracks: 1 },
      valuesDiscarded: 1,
    });
    expect(w.schemaChanges).toEqual(['add column order_completed.coupon VARCHAR(65535)']);
    expect(schemaChanges(hours['2026-10-01T09:00:00.000Z'].tables, {})).toEqual([
      expect.stringMatching(/^create table order_completed \(\d+ columns\)$/),
      expect.stringMatching(/^create table tracks /),
    ]);
  });

  it('merges batches hour by hour, and keeps at most 50 distinct discard reasons per hour', () => {
    const a: Record<string, HourPreview> = {};
    const b: Record<string, HourPreview> = {};
    previewObject(
      hourKey,
      Array.from({ length: 40 }, (_, i) => line({ messageId: `a${i}`, type: `bogus-${i}` })),
      a,
    );
    previewObject(
      hourKey,
      Array.from({ length: 40 }, (_, i) => line({ messageId: `b${i}`, type: `other-${i}` })),
      b,
    );
    const merged = mergePreviews(mergePreviews({}, a), b);
    const p = merged['2026-10-01T09:00:00.000Z'];
    expect(p.events).toBe(80);
    expect(Object.keys(p.discards)).toHaveLength(51);
    expect(p.discards['other reasons']).toBe(30);
    expect(Object.values(p.discards).reduce((x, y) => x + y, 0)).toBe(80);
  });

  it('batches about 256 MiB of archive per invocation, 1 to 50 objects', () => {
    expect(archiveObjectsPerBatch([])).toBe(1);
    expect(archiveObjectsPerBatch([1024])).toBe(50);
    expect(archiveObjectsPerBatch([64 * 1024 * 1024, 64 * 1024 * 1024])).toBe(4);
    expect(archiveObjectsPerBatch([1024 * 1024 * 1024])).toBe(1);
  });
});

import { gzipSync } from 'node:zlib';
import { startTestCloud, type TestCloud } from '../support/localCloud';
import { runLoad, sendBatch, sql, tableChecksum } from '../support/pipeline';
import { cli } from '../support/cli';

const ARCHIVE_BUCKET = 'segment-archive';
const PREFIX = 'segment-logs/src-1234/';
const DAYS = ['2026-10-01', '2026-10-02'];

/** Whole Segment messages as Segment's S3 destination archives them. */
function archived(day: string, hour: number, i: number, extra: Record<string, unknown>): Record<string, unknown> {
  const receivedAt = `${day}T${String(hour).padStart(2, '0')}:${String(10 + i).padStart(2, '0')}:00.250Z`;
  return { messageId: `arch-${day}-${hour}-${i}`, receivedAt, sentAt: receivedAt, timestamp: receivedAt, originalTimestamp: receivedAt, context: { library: { name: 'analytics.js', version: '4.1.0' } }, ...extra };
}

/**
 * Importing history from a Segment archive, as a team leaving Segment does it: dry run first,
 * then the import, then again (nothing changes), then verify.
 */
describe('npx clickstream import', () => {
  let t: TestCloud;
  const run = (...extra: string[]) => cli(['import', '--data-dir', t.dataDir, '--source', 'web', '--archive', `s3://${ARCHIVE_BUCKET}/${PREFIX}`, '--from', '2026-10-01T00:00Z', '--to', '2026-10-03T00:00Z', '--json', ...extra]);
  const counts = async () => Object.fromEntries(await Promise.all(['tracks', 'pages', 'screens', 'identifies', 'groups', 'aliases', 'users', 'accounts', 'checkout_started'].map(async (table) => [table, Number((await sql(t, `SELECT COUNT(*) FROM web.${table}`))[0][0])])));
  let messages: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    // Two live messages first: they also arrived live during a dual run (same messageId).
    const live = [
      { type: 'track', event: 'Checkout Started', userId: 'u1', messageId: 'arch-2026-10-01-9-0', properties: { total: 5 } },
      { type: 'identify', userId: 'u1', messageId: 'arch-2026-10-01-9-1', traits: { plan: 'pro' } },
      // Live traffic of the other call types (so every table exists before the import).
      { type: 'page', anonymousId: 'a9', name: 'Live', messageId: 'live-p' },
      { type: 'screen', userId: 'u9', name: 'Live', messageId: 'live-s' },
      { type: 'group', userId: 'u9', groupId: 'g9', traits: { name: 'Live' }, messageId: 'live-g' },
      { type: 'alias', userId: 'u9', previousId: 'a9', messageId: 'live-a' },
    ];
    await sendBatch(t, live);
    await runLoad(t);
    // The archive: two days, every call type, several objects, one invalid line, one object that is not .gz.
    t.cloud.store.createBucket(ARCHIVE_BUCKET);
    for (const day of DAYS) {
      const dayMs = Date.parse(`${day}T00:00:00Z`);
      const first = [
        archived(day, 9, 0, { type: 'track', event: 'Checkout Started', userId: 'u1', properties: { total: 5, coupon: 'WINTER' } }),
        archived(day, 9, 1, { type: 'identify', userId: 'u1', traits: { plan: 'pro', seats: 3 } }),
        archived(day, 10, 2, { type: 'page', anonymousId: 'a1', name: 'Pricing', properties: { path: '/pricing' } }),
        archived(day, 10, 3, { type: 'screen', userId: 'u2', name: 'Home' }),
      ];
      const second = [
        archived(day, 23, 4, { type: 'group', userId: 'u1', groupId: 'g1', traits: { name: 'Acme', employees: 20 } }),
        archived(day, 23, 5, { type: 'alias', userId: 'u1', previousId: 'a1' }),
      ];
      messages = [...messages, ...first, ...second];
      t.cloud.store.put(ARCHIVE_BUCKET, `${PREFIX}${dayMs}/0001-${day}.gz`, gzipSync(`${first.map((m) => JSON.stringify(m)).join('\n')}\n`));
      const invalid = day === DAYS[0] ? '{"messageId": "broken", this is not json\n' : '';
      t.cloud.store.put(ARCHIVE_BUCKET, `${PREFIX}${dayMs}/0002-${day}.gz`, gzipSync(`${second.map((m) => JSON.stringify(m)).join('\n')}\n${invalid}`));
      t.cloud.store.put(ARCHIVE_BUCKET, `${PREFIX}${dayMs}/manifest.json`, Buffer.from('{}'));
    }
  }, 120_000);
  afterAll(() => t.stop());

  it('dry run: reports days, messages, invalid lines and hours, and changes nothing', async () => {
    const before = await counts();
    const rawBefore = [...t.cloud.store.keys(t.cloud.endpoints.buckets.raw, 'web/')].length;
    const res = await run('--dry-run');
    expect(res.code).toBe(0);
    const summary = JSON.parse(res.stdout);
    expect(summary).toMatchObject({
      dryRun: true, messages: 12, invalid: 1, rawObjectsWritten: 0,
      days: [{ day: '2026-10-01', objects: 2, skipped: 1, messages: 6, invalid: 1 }, { day: '2026-10-02', objects: 2, skipped: 1, messages: 6, invalid: 0 }],
      hours: ['2026-10-01T09:00:00.000Z', '2026-10-01T10:00:00.000Z', '2026-10-01T23:00:00.000Z', '2026-10-02T09:00:00.000Z', '2026-10-02T10:00:00.000Z', '2026-10-02T23:00:00.000Z'],
    });
    expect(Object.keys(summary.invalidReasons)).toEqual([expect.stringMatching(/^not JSON/)]);
    expect(await counts()).toEqual(before);
    expect([...t.cloud.store.keys(t.cloud.endpoints.buckets.raw, 'web/')].length).toBe(rawBefore);
  }, 60_000);

  let afterFirst: Record<string, string>;
  it('imports: exact counts, received_at kept, per-event tables and properties as live, the live duplicate once', async () => {
    const before = await counts();
    const res = await run();
    expect({ code: res.code, stderr: res.code === 0 ? '' : `${res.stderr} ${res.stdout}` }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(res.stdout)).toMatchObject({ messages: 12, invalid: 1, rawObjectsWritten: 6, backfillCode: 0 });
    const after = await counts();
    // Per day: 1 track (one of day 1 arrived live already), 1 page, 1 screen, 1 identify, 1 group, 1 alias.
    expect(after).toEqual({
      tracks: before.tracks + 1, checkout_started: before.checkout_started + 1, pages: before.pages + 2, screens: before.screens + 2,
      identifies: before.identifies + 1, groups: before.groups + 2, aliases: before.aliases + 2, users: before.users, accounts: before.accounts + 1,
    });
    expect(await sql(t, "SELECT received_at, coupon, total FROM web.checkout_started WHERE id = 'arch-2026-10-02-9-0'")).toEqual([['2026-10-02 09:10:00.25', 'WINTER', 5]]);
    expect(await sql(t, "SELECT COUNT(*) FROM web.tracks WHERE id = 'arch-2026-10-01-9-0'")).toEqual([[1]]);
    expect(await sql(t, "SELECT name, employees FROM web.accounts WHERE id = 'g1'")).toEqual([['Acme', 20]]);
    // The invalid line is quarantined with its reason.
    const quarantined = [...t.cloud.store.keys(t.cloud.endpoints.buckets.raw, '_quarantine/web/')].filter((o) => o.key.includes('segment-logs'));
    expect(quarantined).toHaveLength(1);
    afterFirst = Object.fromEntries(await Promise.all(['tracks', 'checkout_started', 'pages', 'screens', 'identifies', 'groups', 'aliases', 'users', 'accounts'].map(async (x) => [x, await tableChecksum(t, x)])));
  }, 120_000);

  it('imports again: every table identical', async () => {
    const res = await run();
    expect(res.code).toBe(0);
    const again = Object.fromEntries(await Promise.all(Object.keys(afterFirst).map(async (x) => [x, await tableChecksum(t, x)])));
    expect(again).toEqual(afterFirst);
  }, 120_000);

  it('verify: accepted = loaded + discarded over the imported days', async () => {
    const res = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', '--from', '2026-10-01T00:00Z', '--to', '2026-10-03T00:00Z', '--json']);
    const report = JSON.parse(res.stdout);
    // 12 archived messages: 10 new, 2 that arrived live first (counted as duplicates in their archived
    // hour, loaded once); the invalid line is quarantined (in the archived day's first hour).
    expect({ code: res.code, ok: report.ok, accepted: report.totals.accepted, loaded: report.totals.loaded, duplicates: report.totals.duplicates, quarantined: report.totals.quarantined }).toEqual({
      code: 0, ok: true, accepted: 10, loaded: 10, duplicates: 2, quarantined: 1,
    });
  }, 60_000);

  it('says what is wrong with bad input (exit code 2)', async () => {
    expect(await cli(['import', '--data-dir', t.dataDir, '--source', 'web', '--from', '2026-10-01T00:00Z', '--to', '2026-10-03T00:00Z'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--archive is required') });
    expect(await cli(['import', '--data-dir', t.dataDir, '--source', 'web', '--archive', 'segment-archive/x', '--from', '2026-10-01T00:00Z', '--to', '2026-10-03T00:00Z'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--archive must be s3://') });
  }, 60_000);
});

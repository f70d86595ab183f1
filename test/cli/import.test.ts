import { gzipSync } from 'node:zlib';
import { startTestCloud, type TestCloud } from '../support/localCloud';
import { runExecution, runLoad, sendBatch, sql, tableChecksum } from '../support/pipeline';
import { cli } from '../support/cli';

/** The archive bucket the local environment may read (cdk.json: archiveBuckets). */
const ARCHIVE_BUCKET = 'clickstream-local-segment-archive';
const PREFIX = 'segment-logs/src-1234/';
const DAYS = ['2026-10-01', '2026-10-02'];

/** Whole Segment messages as Segment's S3 destination archives them. */
function archived(day: string, hour: number, i: number, extra: Record<string, unknown>): Record<string, unknown> {
  const receivedAt = `${day}T${String(hour).padStart(2, '0')}:${String(10 + i).padStart(2, '0')}:00.250Z`;
  return {
    messageId: `arch-${day}-${hour}-${i}`,
    receivedAt,
    sentAt: receivedAt,
    timestamp: receivedAt,
    originalTimestamp: receivedAt,
    context: { library: { name: 'analytics.js', version: '4.1.0' } },
    ...extra,
  };
}

const TABLES = ['tracks', 'pages', 'screens', 'identifies', 'groups', 'aliases', 'users', 'accounts', 'checkout_started'];
/** Two messages that also arrived live during a dual run (same messageId as archived). */
const LIVE_DUPLICATES = [
  { type: 'track', event: 'Checkout Started', userId: 'u1', messageId: 'arch-2026-10-01-9-0', properties: { total: 5 } },
  { type: 'identify', userId: 'u1', messageId: 'arch-2026-10-01-9-1', traits: { plan: 'pro' } },
];

let t: TestCloud;

beforeAll(async () => {
  t = await startTestCloud({ bufferIntervalSeconds: 3600 });
  // The CLI imports into "web" (every table exists before), the workflow into "app" (some tables are new).
  await sendBatch(t, [
    ...LIVE_DUPLICATES,
    { type: 'page', anonymousId: 'a9', name: 'Live', messageId: 'live-p' },
    { type: 'screen', userId: 'u9', name: 'Live', messageId: 'live-s' },
    { type: 'group', userId: 'u9', groupId: 'g9', traits: { name: 'Live' }, messageId: 'live-g' },
    { type: 'alias', userId: 'u9', previousId: 'a9', messageId: 'live-a' },
  ]);
  await runLoad(t);
  await sendBatch(t, LIVE_DUPLICATES, 'app');
  await runLoad(t, { source: 'app' });
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
      // A Segment message our loads cannot place: loaded as a `_discards` row with its reason.
      ...(day === DAYS[0] ? [archived(day, 23, 6, { type: 'track', userId: 'u1' })] : []),
    ];
    t.cloud.store.put(ARCHIVE_BUCKET, `${PREFIX}${dayMs}/0001-${day}.gz`, gzipSync(`${first.map((m) => JSON.stringify(m)).join('\n')}\n`));
    const invalid = day === DAYS[0] ? '{"messageId": "broken", this is not json\n' : '';
    t.cloud.store.put(ARCHIVE_BUCKET, `${PREFIX}${dayMs}/0002-${day}.gz`, gzipSync(`${second.map((m) => JSON.stringify(m)).join('\n')}\n${invalid}`));
    t.cloud.store.put(ARCHIVE_BUCKET, `${PREFIX}${dayMs}/manifest.json`, Buffer.from('{}'));
  }
}, 180_000);
afterAll(() => t?.stop());

/**
 * `verify` over the imported days: 13 archived messages — 10 new, 2 that arrived live first (counted
 * as duplicates in their archived hour, loaded once), 1 discarded (a track without an event name);
 * the invalid line is quarantined.
 */
async function expectImportVerified(source: string): Promise<void> {
  const res = await cli(['verify', '--data-dir', t.dataDir, '--source', source, '--from', '2026-10-01T00:00Z', '--to', '2026-10-03T00:00Z', '--json']);
  const { ok, totals } = JSON.parse(res.stdout);
  expect({
    code: res.code,
    ok,
    accepted: totals.accepted,
    loaded: totals.loaded,
    discarded: totals.discarded,
    duplicates: totals.duplicates,
    quarantined: totals.quarantined,
  }).toEqual({
    code: 0,
    ok: true,
    accepted: 11,
    loaded: 10,
    discarded: 1,
    duplicates: 2,
    quarantined: 1,
  });
}

/** Rows per table of a source's schema (0 for a table not created yet). */
async function counts(schema = 'web'): Promise<Record<string, number>> {
  const existing = new Set((await sql(t, `SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema}'`)).map((r) => String(r[0])));
  return Object.fromEntries(
    await Promise.all(TABLES.map(async (table) => [table, existing.has(table) ? Number((await sql(t, `SELECT COUNT(*) FROM ${schema}.${table}`))[0][0]) : 0])),
  );
}

/**
 * Importing history from a Segment archive, as a team leaving Segment does it: dry run first,
 * then the import, then again (nothing changes), then verify.
 */
describe('npx clickstream import', () => {
  const run = (...extra: string[]) =>
    cli([
      'import',
      '--data-dir',
      t.dataDir,
      '--source',
      'web',
      '--archive',
      `s3://${ARCHIVE_BUCKET}/${PREFIX}`,
      '--from',
      '2026-10-01T00:00Z',
      '--to',
      '2026-10-03T00:00Z',
      '--json',
      ...extra,
    ]);

  it('dry run: reports days, messages, invalid lines and hours, and changes nothing', async () => {
    const before = await counts();
    const rawBefore = [...t.cloud.store.keys(t.cloud.endpoints.buckets.raw, 'web/')].length;
    const res = await run('--dry-run');
    expect(res.code).toBe(0);
    const summary = JSON.parse(res.stdout);
    expect(summary).toMatchObject({
      dryRun: true,
      messages: 13,
      invalid: 1,
      rawObjectsWritten: 0,
      days: [
        { day: '2026-10-01', objects: 2, skipped: 1, messages: 7, invalid: 1 },
        { day: '2026-10-02', objects: 2, skipped: 1, messages: 6, invalid: 0 },
      ],
      hours: [
        '2026-10-01T09:00:00.000Z',
        '2026-10-01T10:00:00.000Z',
        '2026-10-01T23:00:00.000Z',
        '2026-10-02T09:00:00.000Z',
        '2026-10-02T10:00:00.000Z',
        '2026-10-02T23:00:00.000Z',
      ],
    });
    expect(Object.keys(summary.invalidReasons)).toEqual([expect.stringMatching(/^not JSON/)]);
    // What the loads would stage, per hour, from the real transform: here the last hour of day 1.
    expect(summary.windows).toHaveLength(6);
    expect(summary.windows[2]).toMatchObject({
      from: '2026-10-01T23:00:00.000Z',
      events: 3,
      discardedEvents: 1,
      rows: { _discards: 1, aliases: 1, groups: 1 },
      discards: { 'event: track event without an event name': 1 },
    });
    expect(summary.schemaChanges).toEqual(expect.arrayContaining(['add column checkout_started.coupon VARCHAR(65535)', 'add column identifies.seats BIGINT']));
    expect(await counts()).toEqual(before);
    expect([...t.cloud.store.keys(t.cloud.endpoints.buckets.raw, 'web/')].length).toBe(rawBefore);
  }, 60_000);

  let afterFirst: Record<string, string>;
  it('imports: exact counts, received_at kept, per-event tables and properties as live, the live duplicate once', async () => {
    const before = await counts();
    const res = await run();
    expect({ code: res.code, stderr: res.code === 0 ? '' : `${res.stderr} ${res.stdout}` }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(res.stdout)).toMatchObject({ messages: 13, invalid: 1, rawObjectsWritten: 6, backfillCode: 0 });
    const after = await counts();
    // Per day: 1 track (one of day 1 arrived live already), 1 page, 1 screen, 1 identify, 1 group, 1 alias.
    expect(after).toEqual({
      tracks: before.tracks + 1,
      checkout_started: before.checkout_started + 1,
      pages: before.pages + 2,
      screens: before.screens + 2,
      identifies: before.identifies + 1,
      groups: before.groups + 2,
      aliases: before.aliases + 2,
      users: before.users,
      accounts: before.accounts + 1,
    });
    expect(await sql(t, "SELECT received_at, coupon, total FROM web.checkout_started WHERE id = 'arch-2026-10-02-9-0'")).toEqual([
      ['2026-10-02 09:10:00.25', 'WINTER', 5],
    ]);
    expect(await sql(t, "SELECT COUNT(*) FROM web.tracks WHERE id = 'arch-2026-10-01-9-0'")).toEqual([[1]]);
    expect(await sql(t, "SELECT name, employees FROM web.accounts WHERE id = 'g1'")).toEqual([['Acme', 20]]);
    // The invalid line is quarantined with its reason.
    const quarantined = [...t.cloud.store.keys(t.cloud.endpoints.buckets.raw, '_quarantine/web/')].filter((o) => o.key.includes('segment-logs'));
    expect(quarantined).toHaveLength(1);
    afterFirst = Object.fromEntries(
      await Promise.all(
        ['tracks', 'checkout_started', 'pages', 'screens', 'identifies', 'groups', 'aliases', 'users', 'accounts'].map(async (x) => [
          x,
          await tableChecksum(t, x),
        ]),
      ),
    );
  }, 120_000);

  it('imports again: every table identical', async () => {
    const res = await run();
    expect(res.code).toBe(0);
    const again = Object.fromEntries(await Promise.all(Object.keys(afterFirst).map(async (x) => [x, await tableChecksum(t, x)])));
    expect(again).toEqual(afterFirst);
  }, 120_000);

  it('verify: accepted = loaded + discarded over the imported days', () => expectImportVerified('web'), 60_000);

  it('says what is wrong with bad input (exit code 2)', async () => {
    expect(await cli(['import', '--data-dir', t.dataDir, '--source', 'web', '--from', '2026-10-01T00:00Z', '--to', '2026-10-03T00:00Z'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--archive is required'),
    });
    expect(
      await cli([
        'import',
        '--data-dir',
        t.dataDir,
        '--source',
        'web',
        '--archive',
        'clickstream-local-segment-archive/x',
        '--from',
        '2026-10-01T00:00Z',
        '--to',
        '2026-10-03T00:00Z',
      ]),
    ).toMatchObject({ code: 2, stderr: expect.stringContaining('--archive must be s3://') });
  }, 60_000);
});

/**
 * The same import from the console: the backfill workflow with `mode: "import"` (the synthesized
 * state machine, its Distributed Maps and functions under their own roles), into source "app".
 */
describe('backfill workflow, mode "import"', () => {
  const request = (extra: Record<string, unknown> = {}) => ({
    source: 'app',
    mode: 'import',
    archive: { bucket: ARCHIVE_BUCKET, prefix: PREFIX },
    from: '2026-10-01T00:00Z',
    to: '2026-10-03T00:00Z',
    maxConcurrency: 2,
    ...extra,
  });
  const importRun = async (extra: Record<string, unknown> = {}) => {
    const d = await runExecution(t, t.cloud.endpoints.stateMachines.backfill, request(extra), 240_000);
    if (d.status !== 'SUCCEEDED') throw new Error(`import ${d.status}: ${d.error}: ${d.cause}`);
    return JSON.parse(d.output ?? '{}');
  };
  const rawKeys = () => [...t.cloud.store.keys(t.cloud.endpoints.buckets.raw, 'app/')].map((o) => o.key).sort();
  const hour = (h: string) => ({ source: 'app', from: `${h}:00:00.000Z`, to: expect.any(String) });

  it('dry run: per window the events, rows per table, discards and schema changes; nothing written', async () => {
    const before = await counts('app');
    const keysBefore = rawKeys();
    const out = await importRun({ dryRun: true });
    expect(out).toMatchObject({ status: 'SUCCEEDED', dryRun: true, mode: 'import', totals: { windows: 0 } });
    expect(out.message).toMatch(/^Dry run: would import 13 messages \(1 invalid lines to quarantine\) into 6 hourly windows/);
    expect(out.import).toMatchObject({
      archive: `s3://${ARCHIVE_BUCKET}/${PREFIX}`,
      dryRun: true,
      objects: 4,
      skipped: 2,
      messages: 13,
      invalid: 1,
      suppressed: 0,
      rawObjectsWritten: 0,
      hours: 6,
      days: [
        { day: '2026-10-01', objects: 2, messages: 7, invalid: 1 },
        { day: '2026-10-02', objects: 2, messages: 6, invalid: 0 },
      ],
    });
    expect(Object.keys(out.import.invalidReasons)).toEqual([expect.stringMatching(/^not JSON/)]);
    expect(out.import.windows.map((w: { from: string }) => w.from)).toEqual(
      ['2026-10-01T09', '2026-10-01T10', '2026-10-01T23', '2026-10-02T09', '2026-10-02T10', '2026-10-02T23'].map((h) => `${h}:00:00.000Z`),
    );
    // The first hour: a track of a known event and an identify (tables exist; the archive's messages carry
    // a coupon, seats and context.library, which the live ones did not: new columns).
    expect(out.import.windows[0]).toEqual({
      ...hour('2026-10-01T09'),
      events: 2,
      discardedEvents: 0,
      rows: { checkout_started: 1, identifies: 1, tracks: 1 },
      valuesDiscarded: 0,
      discards: {},
      schemaChanges: [
        'add column checkout_started.context_library_name VARCHAR(65535)',
        'add column checkout_started.context_library_version VARCHAR(65535)',
        'add column checkout_started.coupon VARCHAR(65535)',
        'add column identifies.context_library_name VARCHAR(65535)',
        'add column identifies.context_library_version VARCHAR(65535)',
        'add column identifies.seats BIGINT',
        'add column tracks.context_library_name VARCHAR(65535)',
        'add column tracks.context_library_version VARCHAR(65535)',
        'add column users.seats BIGINT',
      ],
    });
    // The last hour of day 1: a group, an alias, and a track without an event name (discarded with its reason).
    expect(out.import.windows[2]).toMatchObject({
      ...hour('2026-10-01T23'),
      events: 3,
      discardedEvents: 1,
      rows: { _discards: 1, aliases: 1, groups: 1 },
      discards: { 'event: track event without an event name': 1 },
    });
    // "app" has never seen a page, screen, group or alias: the import would create those tables.
    expect(out.import.schemaChanges).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^create table pages \(\d+ columns\)$/),
        expect.stringMatching(/^create table screens /),
        expect.stringMatching(/^create table groups /),
        expect.stringMatching(/^create table aliases /),
        expect.stringMatching(/^create table accounts /),
        'add column checkout_started.coupon VARCHAR(65535)',
      ]),
    );
    expect(await counts('app')).toEqual(before);
    expect(rawKeys()).toEqual(keysBefore);
    expect([...t.cloud.store.keys(t.cloud.endpoints.buckets.raw, '_quarantine/app/')]).toHaveLength(0);
  }, 240_000);

  let afterFirst: Record<string, string>;
  it('imports: exact counts, received_at kept, the live duplicates once, invalid line quarantined', async () => {
    const before = await counts('app');
    const out = await importRun();
    expect(out).toMatchObject({
      status: 'SUCCEEDED',
      dryRun: false,
      totals: { windows: 6, succeeded: 6, failed: 0 },
      import: { messages: 13, invalid: 1, rawObjectsWritten: 6, hours: 6 },
    });
    expect(out.import.windows).toBeUndefined();
    expect(await counts('app')).toEqual({
      ...before,
      tracks: before.tracks + 1,
      checkout_started: before.checkout_started + 1,
      pages: 2,
      screens: 2,
      identifies: before.identifies + 1,
      groups: 2,
      aliases: 2,
      accounts: 1,
    });
    expect(await sql(t, "SELECT received_at, coupon, total FROM app.checkout_started WHERE id = 'arch-2026-10-02-9-0'")).toEqual([
      ['2026-10-02 09:10:00.25', 'WINTER', 5],
    ]);
    expect(await sql(t, "SELECT COUNT(*) FROM app.tracks WHERE id = 'arch-2026-10-01-9-0'")).toEqual([[1]]);
    expect(await sql(t, "SELECT name, employees FROM app.accounts WHERE id = 'g1'")).toEqual([['Acme', 20]]);
    // The columns the dry run said the import would add, with the types it said.
    expect(
      await sql(
        t,
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'app' AND column_name IN ('coupon', 'seats') ORDER BY 1, 2",
      ),
    ).toEqual([
      ['checkout_started', 'coupon', 'character varying'],
      ['identifies', 'seats', 'bigint'],
      ['users', 'seats', 'bigint'],
    ]);
    expect([...t.cloud.store.keys(t.cloud.endpoints.buckets.raw, '_quarantine/app/')].filter((o) => o.key.includes('segment-logs'))).toHaveLength(1);
    afterFirst = Object.fromEntries(await Promise.all(TABLES.map(async (x) => [x, await tableChecksum(t, x, ['uuid_ts'], 'app')])));
  }, 240_000);

  it('imports again: every table identical', async () => {
    const out = await importRun();
    expect(out).toMatchObject({ status: 'SUCCEEDED', import: { messages: 13 } });
    expect(Object.fromEntries(await Promise.all(TABLES.map(async (x) => [x, await tableChecksum(t, x, ['uuid_ts'], 'app')])))).toEqual(afterFirst);
  }, 240_000);

  it('verify: accepted = loaded + discarded over the imported days', () => expectImportVerified('app'), 60_000);

  it('refuses an archive bucket the environment may not read, saying how to allow it', async () => {
    const d = await runExecution(t, t.cloud.endpoints.stateMachines.backfill, request({ archive: { bucket: 'someone-elses-archive', prefix: PREFIX } }));
    expect({ status: d.status, error: d.error }).toEqual({ status: 'FAILED', error: 'InvalidInputError' });
    expect(d.cause).toContain('add \\"arn:aws:s3:::someone-elses-archive\\" to its \\"archiveBuckets\\" in cdk.json');
    const noArchive = await runExecution(t, t.cloud.endpoints.stateMachines.backfill, {
      source: 'app',
      mode: 'import',
      from: '2026-10-01T00:00Z',
      to: '2026-10-03T00:00Z',
    });
    expect(noArchive.cause).toContain('mode \\"import\\" reads a Segment archive');
  }, 60_000);
});

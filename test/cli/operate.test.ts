import { gunzipSync } from 'node:zlib';
import { eventually, startTestCloud, type TestCloud } from '../support/localCloud';
import { putRawEvents, runExecution, sql } from '../support/pipeline';
import { cli } from '../support/cli';

/**
 * Day two, as an operator does it with `npx clickstream` against the local stack: send traffic,
 * watch status, load, verify, break an hour, find it, repair it.
 */
describe('npx clickstream status, load, send, verify', () => {
  let t: TestCloud;
  const PAST = ['2026-09-01T00:00:00.000Z', '2026-09-01T01:00:00.000Z', '2026-09-01T02:00:00.000Z'];
  const json = (stdout: string) => JSON.parse(stdout);
  const status = async () => json((await cli(['status', '--data-dir', t.dataDir, '--source', 'web', '--json'])).stdout).sources[0];

  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 1 });
    // Three past hours, as Firehose delivered them: 10 events each (4 tracks, 3 pages, 2 identifies, 1 that cannot load).
    for (const [h, hour] of PAST.entries()) {
      const events = [
        ...Array.from({ length: 4 }, (_, i) => ({ type: 'track', event: 'Day Two', userId: `u${i}`, messageId: `h${h}-t${i}` })),
        ...Array.from({ length: 3 }, (_, i) => ({ type: 'page', name: 'Home', anonymousId: `a${i}`, messageId: `h${h}-p${i}` })),
        ...Array.from({ length: 2 }, (_, i) => ({ type: 'identify', userId: `u${i}`, traits: { plan: 'pro' }, messageId: `h${h}-i${i}` })),
        { type: 'no-such-call', messageId: `h${h}-x` },
      ];
      await putRawEvents(t, 'web', hour, 'part-0', events);
    }
  });
  afterAll(() => t.stop());

  it('send: synthetic traffic through the collector with analytics-node, duplicates included', async () => {
    const res = await cli(['send', '--data-dir', t.dataDir, '--source', 'web', '--events', '400', '--duplicates', '0.1', '--seed', '7', '--json']);
    expect(res.code).toBe(0);
    const sent = json(res.stdout);
    expect(sent).toMatchObject({ source: 'web', events: 400, failed: 0, seed: 7 });
    expect(sent.duplicates).toBeGreaterThan(10);
    expect(sent.distinctMessages + sent.duplicates).toBe(400);
    // Every acknowledged event reaches a raw object (30 more were there: the three past hours).
    const raw = t.cloud.endpoints.buckets.raw;
    const lines = await eventually(
      () => {
        const n =
          [...t.cloud.store.keys(raw, 'web/')].reduce(
            (sum, o) => sum + gunzipSync(t.cloud.store.get(raw, o.key).body).toString().trim().split('\n').length,
            0,
          ) - 30;
        return n === 400 ? n : undefined;
      },
      20_000,
      'the 400 events in raw objects',
    );
    expect(lines).toBe(400);
  }, 60_000);

  it('status: the lag grows while nothing loads and is gone after a load', async () => {
    const before = await status();
    expect(before).toMatchObject({ source: 'web', flags: { collect: true, load: true, dryRun: false }, lastLoadedAt: null, failedLoads: { lastDay: 0 } });
    expect(before.pendingObjects).toBeGreaterThanOrEqual(4);
    await new Promise((r) => setTimeout(r, 2_100));
    const later = await status();
    expect(later.lagSeconds).toBeGreaterThanOrEqual(before.lagSeconds + 2);

    const load = await cli(['load', '--data-dir', t.dataDir, '--source', 'web', '--json']);
    expect(load.code).toBe(0);
    const summary = json(load.stdout);
    expect(summary).toMatchObject({ status: 'SUCCEEDED', events: 430, eventsDiscarded: 3 });

    const after = await status();
    expect(after).toMatchObject({ lagSeconds: 0, pendingObjects: 0, eventsRead: { lastHour: 430, lastDay: 430 } });
    expect(Date.parse(after.lastLoadedAt)).toBeGreaterThan(Date.now() - 60_000);
    const text = await cli(['status', '--data-dir', t.dataDir]);
    expect(text.stdout).toMatch(
      /source\s+collect\s+load\s+dry run\s+last load \(UTC\)\s+lag\s+waiting objects\s+events read 1 h\s+events read 24 h\s+failed loads 24 h\s+discards 24 h\s+discards total\s+set aside\nweb\s+on\s+on\s+off\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+0 s\s+0\s+430\s+430\s+0\s+3\s+3\s+0\napp\s+on/,
    );
  }, 120_000);

  it('load: nothing pending says so; a failed load names its cause and exits 2 for bad input', async () => {
    const empty = await cli(['load', '--data-dir', t.dataDir, '--source', 'web']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain('Nothing to load for web: no pending raw objects.');
    const bad = await cli(['load', '--data-dir', t.dataDir, '--source', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Unknown source "nope"');
  }, 60_000);

  it('verify: every hour adds up; after deleting rows of one hour it names exactly that hour; --repair restores it', async () => {
    const range = ['--from', '2026-09-01T00:00Z', '--to', new Date(Date.now() + 3_600_000).toISOString()];
    const ok = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', ...range, '--json']);
    expect(ok.code).toBe(0);
    const report = json(ok.stdout);
    expect(report.hours.slice(0, 3)).toEqual(
      PAST.map((hour) => ({
        hour,
        accepted: 10,
        quarantined: 0,
        loaded: 9,
        discarded: 1,
        erased: 0,
        duplicates: 0,
        objects: 1,
        objectsLoaded: 1,
        ok: true,
        problems: [],
      })),
    );
    const sent = report.hours.slice(3);
    expect(sent.every((h: { ok: boolean }) => h.ok)).toBe(true);
    const totals = sent.reduce(
      (a: Record<string, number>, h: Record<string, number>) => ({
        accepted: a.accepted + h.accepted,
        loaded: a.loaded + h.loaded,
        duplicates: a.duplicates + h.duplicates,
      }),
      { accepted: 0, loaded: 0, duplicates: 0 },
    );
    expect(totals.accepted).toBe(totals.loaded);
    expect(totals.accepted + totals.duplicates).toBe(400);

    // Lose rows of the second hour (a bad manual DELETE).
    const del = await cli(['sql', '--data-dir', t.dataDir, "DELETE FROM web.tracks WHERE id IN ('h1-t0', 'h1-t3')"]);
    expect(del.code).toBe(0);
    const broken = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', ...range]);
    expect(broken.code).toBe(3);
    expect(broken.stdout).toMatch(
      /Hours that do not add up \(accepted ≠ loaded \+ discarded \+ erased\):\nhour\s+accepted\s+quarantined\s+loaded\s+discarded\s+erased\s+duplicates\s+problem\n2026-09-01T01:00Z\s+10\s+0\s+7\s+1\s+0\s+0\s+2 loaded messages missing from tracks\n\nRepair them: npx clickstream verify --source web --from 2026-09-01T00:00Z --to \S+ --repair\n$/,
    );

    const repaired = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', ...range, '--repair']);
    expect(repaired.stdout).toContain('Repairing 1 hour with a "missing" backfill');
    expect(repaired.code).toBe(0);
    expect(await sql(t, "SELECT id FROM web.tracks WHERE id LIKE 'h1-%' ORDER BY id")).toEqual([['h1-t0'], ['h1-t1'], ['h1-t2'], ['h1-t3']]);
    const again = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', ...range]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Source web, 2026-09-01T00:00Z to \S+: \d+ hours with data, \d+ add up, 0 do not\./);
  }, 180_000);

  it('verify --deep: finds a message lost together with its registration, which only re-reading shows; --repair reloads that hour', async () => {
    const range = ['--from', '2026-09-01T00:00Z', '--to', '2026-09-01T03:00Z'];
    // A loss the registry cannot show: the row and its `_ids` entry both gone.
    await sql(t, "DELETE FROM web.tracks WHERE id = 'h2-t1'");
    await sql(t, "DELETE FROM web._ids WHERE id = 'h2-t1'");
    expect((await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', ...range])).code).toBe(0);
    const deep = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', ...range, '--deep', '--json']);
    expect(deep.code).toBe(3);
    expect(
      json(deep.stdout)
        .hours.filter((h: { ok: boolean }) => !h.ok)
        .map((h: { hour: string; problems: string[] }) => [h.hour, h.problems]),
    ).toEqual([['2026-09-01T02:00:00.000Z', ['its loaded raw objects hold 10 distinct messages; the loads account for 9']]]);
    const repaired = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', ...range, '--deep', '--repair']);
    expect(repaired.stdout).toContain('Repairing 1 hour with a "reload" backfill');
    expect(repaired.code).toBe(0);
    expect(await sql(t, "SELECT COUNT(*) FROM web.tracks WHERE id = 'h2-t1'")).toEqual([[1]]);
  }, 120_000);

  it('verify: an hour whose raw object was never loaded is named, with its events', async () => {
    await putRawEvents(t, 'web', '2026-09-01T05:00:00.000Z', 'late', [
      { type: 'track', event: 'Late', userId: 'u', messageId: 'late-1' },
      { type: 'track', event: 'Late', userId: 'u', messageId: 'late-1' },
    ]);
    const res = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', '--from', '2026-09-01T00:00Z', '--to', '2026-09-01T06:00Z', '--json']);
    expect(res.code).toBe(3);
    expect(json(res.stdout).hours.filter((h: { ok: boolean }) => !h.ok)).toEqual([
      {
        hour: '2026-09-01T05:00:00.000Z',
        accepted: 1,
        quarantined: 0,
        loaded: 0,
        discarded: 0,
        erased: 0,
        duplicates: 0,
        objects: 1,
        objectsLoaded: 0,
        ok: false,
        problems: ['1 raw object (1 event) not loaded'],
      },
    ]);
  }, 60_000);

  it('the scheduled verification workflow fails on that hour (which raises the alarm) and succeeds on hours that add up', async () => {
    const bad = await runExecution(t, t.cloud.endpoints.stateMachines.verify, { source: 'web', from: '2026-09-01T00:00Z', to: '2026-09-01T06:00Z' });
    expect(bad.status).toBe('FAILED');
    expect(bad.error).toBe('VerificationFailed');
    expect(bad.cause).toBe(
      '1 hour(s) of web do not add up, first 2026-09-01T05:00:00.000Z: 1 raw object (1 event) not loaded. Repair: npx clickstream verify --source web --from 2026-09-01T00:00:00.000Z --to 2026-09-01T06:00:00.000Z --repair',
    );
    const good = await runExecution(t, t.cloud.endpoints.stateMachines.verify, { source: 'web', from: '2026-09-01T00:00Z', to: '2026-09-01T05:00Z' });
    expect(good.status).toBe('SUCCEEDED');
    const out = JSON.parse(good.output ?? '{}');
    expect(out).toMatchObject({ ok: true, totals: { hours: 3, accepted: 30, loaded: 27, discarded: 3, mismatched: 0 }, mismatched: [] });
    const stored = JSON.parse(t.cloud.store.get(t.cloud.endpoints.buckets.staged, out.reportKey).body.toString());
    expect(stored.hours).toHaveLength(3);
  }, 60_000);

  it('explains bad input and exits 2', async () => {
    const noSource = await cli(['verify', '--data-dir', t.dataDir]);
    expect(noSource.code).toBe(2);
    expect(noSource.stderr).toContain('--source is required');
    const badDate = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', '--from', 'yesterday']);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--from must be an ISO date-time such as 2026-11-01T00:00Z, not "yesterday"');
    const badEvents = await cli(['send', '--data-dir', t.dataDir, '--source', 'web', '--events', '0']);
    expect(badEvents.code).toBe(2);
    expect(badEvents.stderr).toContain('--events must be a whole number of at least 1, not "0"');
    // Arguments are never SQL: a source is a configured name or nothing.
    const injected = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web; DROP TABLE web.tracks; --']);
    expect(injected.code).toBe(2);
    expect(injected.stderr).toContain('Unknown source "web; DROP TABLE web.tracks; --": configured sources are web, app');
    const help = await cli(['status', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: npx clickstream status');
  }, 60_000);
});

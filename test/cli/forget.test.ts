import { gunzipSync, gzipSync } from 'node:zlib';
import { cli } from '../support/cli';
import { startTestCloud, type TestCloud } from '../support/localCloud';
import { putRawEvents, runLoad, sendBatch, sql } from '../support/pipeline';

/** The erased identities, and their messages' ids (in `_ids`, `_discards`, staged discards). */
const ERASED_PATTERN = /u-erase|anon-erase|anon-old|"e-\d+"/;
const IDENTITY_PATTERN = /u-erase|anon-erase|anon-old/;

/**
 * A GDPR erasure through the synthesized forget workflow, as an operator runs it: a dry run, the
 * erasure, a second run, the user coming back after it, and every way data could be reloaded.
 */
describe('npx clickstream forget', () => {
  let t: TestCloud;
  let from: string;
  let to: string;
  const forget = (...extra: string[]) => cli(['forget', '--data-dir', t.dataDir, '--source', 'web', '--user-id', 'u-erase', '--json', ...extra]);
  const TABLES = ['tracks', 'order_completed', 'pages', 'identifies', 'users', 'groups', 'accounts', 'aliases', '_discards', '_ids'];

  /** Every line of every object under a prefix of a bucket, by key. */
  const objectLines = (bucket: string, prefix: string) =>
    new Map(
      [...t.cloud.store.keys(bucket, prefix)].map((o) => {
        const body = t.cloud.store.get(bucket, o.key).body;
        return [o.key, (body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body).toString('utf8').split('\n').filter(Boolean)];
      }),
    );
  const rawLines = () => objectLines(t.cloud.endpoints.buckets.raw, '');
  /** Everything the warehouse holds, table by table, as sorted text rows (uuid_ts aside). */
  const snapshot = async (filter = false) => {
    const out: Record<string, string[]> = {};
    for (const table of TABLES) {
      const rows = (await sql(t, `SELECT * FROM web.${table}`)).map((r) => JSON.stringify(r));
      out[table] = rows.filter((r) => !filter || !ERASED_PATTERN.test(r)).sort();
    }
    return out;
  };
  /** Rows in any table that mention an erased identity, and lines in any raw or staged object. */
  const traces = async () => {
    const rows = Object.entries(await snapshot()).flatMap(([table, rs]) => rs.filter((r) => ERASED_PATTERN.test(r)).map((r) => `${table}: ${r}`));
    // The request's own working files keep message ids (for the ledger), never an identity.
    const lines = [
      ...rawLines(),
      ...objectLines(t.cloud.endpoints.buckets.staged, 'loads/'),
      ...objectLines(t.cloud.endpoints.buckets.staged, 'erasures/'),
    ].flatMap(([key, ls]) =>
      ls.filter((l) => (key.startsWith('erasures/') ? IDENTITY_PATTERN : ERASED_PATTERN).test(l)).map((l) => `${key}: ${l.slice(0, 80)}`),
    );
    return { rows, lines };
  };

  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    const at = (min: number) => new Date(Date.now() - 3_600_000 + min * 60_000).toISOString();
    await sendBatch(t, [
      // The user to erase: anonymous history, an alias of an older anonymous id, identifies, tracks, pages, a group call, a discarded value.
      { type: 'page', anonymousId: 'anon-erase', name: 'Pricing', messageId: 'e-1', timestamp: at(1) },
      {
        type: 'identify',
        userId: 'u-erase',
        anonymousId: 'anon-erase',
        traits: { email: 'erase@example.com', plan: 'pro' },
        messageId: 'e-2',
        timestamp: at(2),
      },
      { type: 'alias', userId: 'u-erase', previousId: 'anon-old', messageId: 'e-3', timestamp: at(3) },
      { type: 'track', userId: 'u-erase', event: 'Order Completed', properties: { total: 25 }, messageId: 'e-4', timestamp: at(4) },
      { type: 'group', userId: 'u-erase', groupId: 'g1', traits: { name: 'Acme (by erased)' }, messageId: 'e-6', timestamp: at(30) },
      { type: 'page', anonymousId: 'anon-old', name: 'Home', messageId: 'e-7', timestamp: at(0) },
      { type: 'track', userId: 'u-erase', messageId: 'e-8' }, // no event name: quarantined by the collector
      // Another user, in the same objects: must stay byte for byte.
      { type: 'identify', userId: 'u-keep', anonymousId: 'anon-keep', traits: { email: 'keep@example.com' }, messageId: 'k-1', timestamp: at(2) },
      { type: 'track', userId: 'u-keep', event: 'Order Completed', properties: { total: 7 }, messageId: 'k-2', timestamp: at(4) },
      { type: 'page', anonymousId: 'anon-keep', name: 'Pricing', messageId: 'k-3', timestamp: at(6) },
      { type: 'group', userId: 'u-keep', groupId: 'g1', traits: { name: 'Acme', employees: 10 }, messageId: 'k-4', timestamp: at(10) },
    ]);
    await runLoad(t);
    // Values that do not fit the column the first load made: discarded, with the row loaded.
    await sendBatch(t, [
      { type: 'track', userId: 'u-erase', event: 'Order Completed', properties: { total: 'twenty' }, messageId: 'e-5', timestamp: at(5) },
      { type: 'track', userId: 'u-keep', event: 'Order Completed', properties: { total: 'seven' }, messageId: 'k-5', timestamp: at(11) },
    ]);
    await runLoad(t);
    const now = Date.now();
    from = new Date(Math.floor(now / 3_600_000) * 3_600_000 - 3_600_000).toISOString();
    to = new Date(Math.floor(now / 3_600_000) * 3_600_000 + 3_600_000).toISOString();
  }, 120_000);
  afterAll(() => t.stop());

  let before: Record<string, string[]>;
  let othersBefore: Record<string, string[]>;
  let othersRaw: string[];
  let dryRun: { receipts: Array<{ rowsDeleted: Record<string, number>; identities: number; objects: { rewritten: number; linesRemoved: number } }> };

  it('the user is everywhere before: every table, raw objects, the quarantine, staged files', async () => {
    const { rows, lines } = await traces();
    for (const table of ['tracks', 'order_completed', 'pages', 'identifies', 'users', 'groups', 'aliases', '_ids'])
      expect([table, rows.some((r) => r.startsWith(`${table}: `) || r.includes('"e-'))]).toEqual([table, true]);
    // accounts holds the erased user's group call's traits (the latest by timestamp).
    expect(await sql(t, 'SELECT id, name, employees FROM web.accounts')).toEqual([['g1', 'Acme (by erased)', 10]]);
    expect((await sql(t, "SELECT COUNT(*) FROM web._discards WHERE row_id = 'e-5'"))[0][0]).toBe(1);
    expect(lines.some((l) => l.startsWith('_quarantine/'))).toBe(true);
    expect(lines.some((l) => l.startsWith('loads/'))).toBe(true);
    before = await snapshot();
    othersBefore = await snapshot(true);
    othersRaw = [...rawLines().values()]
      .flat()
      .filter((l) => !ERASED_PATTERN.test(l))
      .sort();
  });

  it('dry run: reports rows per table and objects, and changes nothing', async () => {
    const rawBefore = rawLines();
    const res = await forget('--dry-run');
    expect(res.code).toBe(0);
    dryRun = JSON.parse(res.stdout);
    // u-erase, the anonymous id it identified with, and the aliased previous id (matched as either kind).
    expect(dryRun).toMatchObject({ dryRun: true, receipts: [{ source: 'web', identities: 4 }] });
    expect(dryRun.receipts[0].rowsDeleted).toMatchObject({
      tracks: 2,
      order_completed: 2,
      pages: 2,
      identifies: 1,
      users: 1,
      groups: 1,
      aliases: 1,
      _discards: 1,
    });
    expect(dryRun.receipts[0].objects.rewritten).toBeGreaterThanOrEqual(3); // raw, quarantine, staged
    expect(await snapshot()).toEqual(before);
    expect(rawLines()).toEqual(rawBefore);
    const list = await cli(['forget', '--data-dir', t.dataDir, '--source', 'web', '--list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([{ source: 'web', entries: [] }]);
  }, 120_000);

  let receipt: {
    requestId: string;
    receipts: Array<{ rowsDeleted: Record<string, number>; identities: number; remainingRows: number; objects: { rewritten: number; linesRemoved: number } }>;
  };
  it('erases the user (and the anonymous ids linked to them) from every table and every object; others stay byte for byte', async () => {
    // The collector has just read the (empty) suppression list: it keeps it for its cache time.
    await sendBatch(t, [{ type: 'track', userId: 'u-other', event: 'Warm', messageId: 'o-1' }]);
    const res = await forget();
    expect(res.stderr).not.toMatch(/FAILED/);
    expect(res.code).toBe(0);
    receipt = JSON.parse(res.stdout);
    // The workflow waited the cache out: the moment it ends, the collector already drops them.
    const raw = rawLines();
    await sendBatch(t, [
      { type: 'track', userId: 'u-erase', event: 'Right After', messageId: 'e-11' },
      { type: 'track', userId: 'u-other', event: 'Right After', messageId: 'o-2' },
    ]);
    expect(
      [...rawLines()]
        .filter(([key]) => !raw.has(key))
        .flatMap(([, ls]) => ls)
        .map((l) => JSON.parse(l).messageId),
    ).toEqual(['o-2']);
    const r = receipt.receipts[0];
    // The receipt counts what the dry run announced.
    expect(r.rowsDeleted).toMatchObject(dryRun.receipts[0].rowsDeleted);
    // (one object more is read: the warm-up event's)
    expect({ ...r.objects, objects: 0 }).toEqual({ ...dryRun.receipts[0].objects, objects: 0 });
    expect(r.remainingRows).toBe(0);
    expect(await traces()).toEqual({ rows: [], lines: [] });
    // accounts of g1 rebuilt from the group calls that remain: the erased user's later name is gone.
    expect(await sql(t, 'SELECT id, name, employees FROM web.accounts')).toEqual([['g1', 'Acme', 10]]);
    const others = await snapshot(true);
    expect({ ...others, accounts: [] }).toEqual({ ...othersBefore, accounts: [] });
    expect(
      [...rawLines().values()]
        .flat()
        .filter((l) => !l.includes('"u-other"'))
        .sort(),
    ).toEqual(othersRaw);
    // The receipt in the warehouse matches.
    const stored = await sql(
      t,
      `SELECT identities, rows_deleted, objects_rewritten, lines_removed, remaining_rows FROM web._erasures WHERE request_id = '${receipt.requestId}'`,
    );
    expect(stored).toEqual([[4, JSON.stringify(r.rowsDeleted), r.objects.rewritten, r.objects.linesRemoved, 0]]);
    // The suppression list names them only by digest.
    const list = JSON.parse((await cli(['forget', '--data-dir', t.dataDir, '--source', 'web', '--list', '--json'])).stdout);
    expect(list[0].entries.map((e: { kind: string }) => e.kind).sort()).toEqual(['anonymousId', 'anonymousId', 'userId', 'userId']);
    expect(JSON.stringify(list)).not.toMatch(ERASED_PATTERN);
  }, 120_000);

  it('verify balances afterwards: accepted = loaded + discarded + erased', async () => {
    await runLoad(t); // the two other events sent around the erasure
    const res = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', '--from', from, '--to', to, '--json']);
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report.totals).toMatchObject({ ok: true, erased: 7, accepted: 7 + 7, loaded: 7, discarded: 0 });
  }, 60_000);

  it('a second run changes nothing', async () => {
    const snap = await snapshot();
    const raw = rawLines();
    const res = await forget();
    expect(res.code).toBe(0);
    const again = JSON.parse(res.stdout).receipts[0];
    expect(Object.values(again.rowsDeleted).every((n) => n === 0)).toBe(true);
    expect(again.objects.rewritten).toBe(0);
    expect(await snapshot()).toEqual(snap);
    expect(rawLines()).toEqual(raw);
  }, 120_000);

  it('new events of the erased identities are accepted (200) and never stored', async () => {
    const raw = rawLines();
    await sendBatch(t, [
      { type: 'track', userId: 'u-erase', event: 'Came Back', messageId: 'e-9' },
      { type: 'page', anonymousId: 'anon-erase', name: 'Back', messageId: 'e-10' },
      { type: 'track', userId: 'u-keep', event: 'Came Back', messageId: 'k-9' },
    ]);
    const added = [...rawLines()].filter(([key]) => !raw.has(key)).flatMap(([, ls]) => ls);
    expect(added.map((l) => JSON.parse(l).messageId)).toEqual(['k-9']);
  });

  it('no reload, missing backfill, late object, import or verify --repair brings them back', async () => {
    // An object holding their messages arrives after the erasure (an import, a late delivery): the transform honours the suppression.
    await putRawEvents(t, 'web', from, 'late-object', [
      { type: 'track', userId: 'u-erase', event: 'Order Completed', properties: { total: 1 }, messageId: 'e-late' },
      { type: 'track', userId: 'u-keep', event: 'Late', messageId: 'k-late' },
    ]);
    for (const mode of ['reload', 'missing']) {
      const res = await cli(['backfill', '--data-dir', t.dataDir, '--source', 'web', '--from', from, '--to', to, '--mode', mode, '--json']);
      expect(res.code).toBe(0);
    }
    // History imported from a Segment archive after the erasure: their messages are left out.
    t.cloud.store.createBucket('segment-archive');
    const day = Date.parse('2026-10-05T00:00:00Z');
    const archived = (id: string, userId: string) => ({
      type: 'track',
      event: 'Archived',
      userId,
      messageId: id,
      receivedAt: '2026-10-05T09:00:00.000Z',
      timestamp: '2026-10-05T09:00:00.000Z',
    });
    t.cloud.store.put(
      'segment-archive',
      `segment-logs/src/${day}/part-0.gz`,
      gzipSync(`${JSON.stringify(archived('e-arch', 'u-erase'))}\n${JSON.stringify(archived('k-arch', 'u-keep'))}\n`),
    );
    const imported = await cli([
      'import',
      '--data-dir',
      t.dataDir,
      '--source',
      'web',
      '--archive',
      's3://segment-archive/segment-logs/src/',
      '--from',
      '2026-10-05T00:00Z',
      '--to',
      '2026-10-06T00:00Z',
      '--json',
    ]);
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ messages: 2, suppressed: 1, rawObjectsWritten: 1 });
    expect((await sql(t, "SELECT COUNT(*) FROM web.tracks WHERE id = 'k-arch'"))[0][0]).toBe(1);
    const repaired = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', '--from', from, '--to', to, '--repair', '--json']);
    expect(repaired.code).toBe(0);
    expect((await traces()).rows).toEqual([]);
    expect((await sql(t, "SELECT COUNT(*) FROM web.tracks WHERE id = 'k-late'"))[0][0]).toBe(1);
  }, 240_000);

  it('takes an id off the suppression list on request', async () => {
    const res = await cli(['forget', '--data-dir', t.dataDir, '--source', 'web', '--unsuppress', '--anonymous-id', 'anon-old', '--json']);
    expect(JSON.parse(res.stdout)).toEqual([{ source: 'web', removed: 1 }]);
    const list = JSON.parse((await cli(['forget', '--data-dir', t.dataDir, '--source', 'web', '--list', '--json'])).stdout);
    expect(list[0].entries).toHaveLength(3);
  });

  it('bad input gets a clear error and starts nothing', async () => {
    const none = await cli(['forget', '--data-dir', t.dataDir, '--source', 'web']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/at least one identity/);
    const unknown = await cli(['forget', '--data-dir', t.dataDir, '--source', 'nope', '--user-id', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown source "nope"/);
  });
});

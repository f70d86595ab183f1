import { startTestCloud, type TestCloud } from '../../support/localCloud';
import { putRawEvents, runLoad, sendBatch, sql, tableChecksum } from '../../support/pipeline';

describe('Loader: exactly once, idempotent, out-of-order safe', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
  });
  afterAll(() => t.stop());

  const track = (messageId: string, extra: Record<string, unknown> = {}) => ({
    type: 'track',
    event: 'Dup Test',
    userId: 'u',
    messageId,
    properties: { n: 1 },
    ...extra,
  });

  it('keeps one row for a messageId sent 5 times: in one batch, across loads and across a reload', async () => {
    await sendBatch(t, [track('dup-1'), track('dup-1'), track('dup-2')]); // twice in one batch
    await runLoad(t);
    await sendBatch(t, [track('dup-1'), track('dup-2')]); // again in a later load
    await runLoad(t);
    await sendBatch(t, [track('dup-1')]); // a fourth copy
    await runLoad(t);
    const window = { from: new Date(Date.now() - 3 * 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() };
    await runLoad(t, { source: 'web', window, mode: 'reload' }); // the fifth: a reload of everything
    expect(await sql(t, 'SELECT id, COUNT(*) FROM web.dup_test GROUP BY id ORDER BY id')).toEqual([
      ['dup-1', 1],
      ['dup-2', 1],
    ]);
    expect(await sql(t, "SELECT id, COUNT(*) FROM web.tracks WHERE id LIKE 'dup-%' GROUP BY id ORDER BY id")).toEqual([
      ['dup-1', 1],
      ['dup-2', 1],
    ]);
  });

  it('keeps the latest received version of a duplicated messageId, whatever the load order', async () => {
    // In one load: both versions in one batch.
    await sendBatch(t, [track('ver-1', { properties: { n: 1, v: 'old' } })]);
    await new Promise((r) => setTimeout(r, 5));
    await sendBatch(t, [track('ver-1', { properties: { n: 1, v: 'new' } })]);
    await runLoad(t);
    expect(await sql(t, "SELECT v FROM web.dup_test WHERE id = 'ver-1'")).toEqual([['new']]);
    // Across loads, oldest first and newest first: raw objects whose receivedAt says which is newer.
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000).toISOString();
    const version = (id: string, v: string, receivedAt: string) => ({ ...track(id, { properties: { n: 1, v } }), receivedAt, timestamp: receivedAt });
    const older = new Date(Date.parse(hour) + 60_000).toISOString();
    const newer = new Date(Date.parse(hour) + 120_000).toISOString();
    await putRawEvents(t, 'web', hour, 'order-a-old', [version('ver-2', 'old', older)]);
    await runLoad(t);
    await putRawEvents(t, 'web', hour, 'order-a-new', [version('ver-2', 'new', newer)]);
    await runLoad(t);
    await putRawEvents(t, 'web', hour, 'order-b-new', [version('ver-3', 'new', newer)]);
    await runLoad(t);
    await putRawEvents(t, 'web', hour, 'order-b-old', [version('ver-3', 'old', older)]);
    await runLoad(t);
    expect(await sql(t, "SELECT id, v FROM web.dup_test WHERE id IN ('ver-2', 'ver-3') ORDER BY id")).toEqual([
      ['ver-2', 'new'],
      ['ver-3', 'new'],
    ]);
  });

  it('gives identical tables when the same window is loaded 3 times', async () => {
    const batch = Array.from({ length: 60 }, (_, i) => ({
      type: ['track', 'page', 'identify'][i % 3],
      event: 'Idem',
      userId: `u${i % 7}`,
      anonymousId: `a${i}`,
      messageId: `idem-${i}`,
      properties: { i, even: i % 2 === 0 },
      traits: { score: i, tier: i % 2 ? 'gold' : null },
    }));
    await sendBatch(t, batch);
    await runLoad(t);
    const tables = ['tracks', 'idem', 'pages', 'identifies', 'users', '_discards'];
    const checksums = async () => Promise.all(tables.map((tb) => tableChecksum(t, tb)));
    const first = await checksums();
    const withLoadTime = await tableChecksum(t, 'idem', []);
    const window = { from: new Date(Date.now() - 3 * 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() };
    await runLoad(t, { source: 'web', window, mode: 'reload' });
    const second = await checksums();
    await runLoad(t, { source: 'web', window, mode: 'reload' });
    const third = await checksums();
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    // Including uuid_ts: a reload replaces nothing, so even the load time stays.
    expect(await tableChecksum(t, 'idem', [])).toEqual(withLoadTime);
  });

  it('leaves users and accounts with the latest non-null traits by event timestamp, whatever the arrival and load order', async () => {
    const at = (m: number) => new Date(Date.parse('2026-11-01T00:00:00Z') + m * 60_000).toISOString();
    // Arrival (and load) order is the reverse of event time.
    await sendBatch(t, [{ type: 'identify', userId: 'ooo', messageId: 'ooo-3', timestamp: at(30), traits: { plan: 'enterprise', city: null } }]);
    await runLoad(t);
    await sendBatch(t, [{ type: 'identify', userId: 'ooo', messageId: 'ooo-2', timestamp: at(20), traits: { plan: 'pro', city: 'Berlin' } }]);
    await runLoad(t);
    await sendBatch(t, [
      { type: 'identify', userId: 'ooo', messageId: 'ooo-1', timestamp: at(10), traits: { plan: 'free', city: 'Paris', email: 'o@example.com' } },
    ]);
    await runLoad(t);
    expect(await sql(t, "SELECT plan, city, email FROM web.users WHERE id = 'ooo'")).toEqual([['enterprise', 'Berlin', 'o@example.com']]);

    await sendBatch(t, [
      { type: 'group', userId: 'x', groupId: 'gg', messageId: 'gg-2', timestamp: at(20), traits: { name: 'New Name' } },
      { type: 'group', userId: 'x', groupId: 'gg', messageId: 'gg-1', timestamp: at(10), traits: { name: 'Old Name', seats: 3 } },
    ]);
    await runLoad(t);
    expect(await sql(t, "SELECT name, seats FROM web.accounts WHERE id = 'gg'")).toEqual([['New Name', 3]]);
  });

  it('drains a backlog in bounded loads of at most maxObjectsPerLoad objects, oldest first', async () => {
    // The function's own configuration, changed as UpdateFunctionConfiguration would.
    const planLoad = t.cloud.lambdas.functionList.find((f) => f.module.includes('/lambdas/plan-load/')) as {
      name: string;
      environment: Record<string, string>;
    };
    const configured = planLoad.environment.MAX_OBJECTS_PER_LOAD;
    t.cloud.lambdas.setEnvironment(planLoad.name, 'MAX_OBJECTS_PER_LOAD', '2');
    try {
      for (let i = 0; i < 3; i++) await sendBatch(t, [track(`drain-${i}`)]);
      const first = await runLoad(t);
      expect(first).toMatchObject({ objects: 2, more: true });
      expect(await sql(t, "SELECT id FROM web.tracks WHERE id LIKE 'drain-%' ORDER BY id")).toEqual([['drain-0'], ['drain-1']]);
      const second = await runLoad(t);
      expect(second).toMatchObject({ objects: 1, more: false });
      expect(await runLoad(t)).toMatchObject({ status: 'EMPTY', objects: 0 });
    } finally {
      t.cloud.lambdas.setEnvironment(planLoad.name, 'MAX_OBJECTS_PER_LOAD', configured);
    }
  });

  it("merges with copies received up to the merge window (7 days) before a load's oldest event, and keeps an older copy as a second row", async () => {
    const day = 86_400_000;
    const hourOf = (ms: number) => new Date(Math.floor(ms / 3_600_000) * 3_600_000).toISOString();
    const at = (ms: number) => new Date(ms).toISOString();
    const copy = (id: string, receivedMs: number) => ({ ...track(id), receivedAt: at(receivedMs), timestamp: at(receivedMs) });
    const start = Date.now() - 20 * day;
    // Objects of past hours, loaded as a backfill loads them: a pending load of their hour's window.
    const loadHour = (ms: number) =>
      runLoad(t, { source: 'web', window: { from: hourOf(ms), to: new Date(Date.parse(hourOf(ms)) + 3_600_000).toISOString() }, mode: 'pending' });
    await putRawEvents(t, 'web', hourOf(start), 'window-first', [copy('win-in', start), copy('win-out', start), copy('win-all', start)]);
    await loadHour(start);
    // 6 days later: inside the window of its load; 10 days later: outside (the load compares with 7 days back only).
    await putRawEvents(t, 'web', hourOf(start + 6 * day), 'window-in', [copy('win-in', start + 6 * day)]);
    await loadHour(start + 6 * day);
    await putRawEvents(t, 'web', hourOf(start + 10 * day), 'window-out', [copy('win-out', start + 10 * day)]);
    await loadHour(start + 10 * day);
    expect(await sql(t, "SELECT id, COUNT(*) FROM web.tracks WHERE id LIKE 'win-%' GROUP BY id ORDER BY id")).toEqual([
      ['win-all', 1],
      ['win-in', 1],
      ['win-out', 2],
    ]);
    // A window of 0 compares with the whole table.
    const prepare = t.cloud.lambdas.functionList.find((f) => f.module.includes('/lambdas/prepare-schema/')) as {
      name: string;
      environment: Record<string, string>;
    };
    const configured = prepare.environment.MERGE_WINDOW_DAYS;
    expect(configured).toBe('7');
    t.cloud.lambdas.setEnvironment(prepare.name, 'MERGE_WINDOW_DAYS', '0');
    try {
      await putRawEvents(t, 'web', hourOf(start + 12 * day), 'window-all', [copy('win-all', start + 12 * day)]);
      await loadHour(start + 12 * day);
    } finally {
      t.cloud.lambdas.setEnvironment(prepare.name, 'MERGE_WINDOW_DAYS', configured);
    }
    expect(await sql(t, "SELECT id, COUNT(*), MAX(received_at) FROM web.tracks WHERE id = 'win-all' GROUP BY id")).toEqual([
      ['win-all', 1, expect.stringMatching(new RegExp(`^${at(start + 12 * day).slice(0, 10)}`))],
    ]);
  });
});

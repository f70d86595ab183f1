import { startTestCloud, type TestCloud } from '../support/localCloud';
import { runLoad, sendBatch, sql } from '../support/pipeline';
import { cli } from '../support/cli';

/**
 * Seed 001, "verify new against old": a Segment-like schema built from the same events, with
 * differences planted on purpose — `compare` reports each of them and nothing else, the same way
 * every time.
 */
describe('npx clickstream compare', () => {
  let t: TestCloud;
  const compare = (...extra: string[]) => cli(['compare', '--data-dir', t.dataDir, '--source', 'web', '--with', 'segment_web', ...extra]);

  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    const at = (h: number) => `2026-11-0${1 + (h % 2)}T1${h}:00:00.123Z`;
    await sendBatch(t, [
      ...Array.from({ length: 6 }, (_, i) => ({
        type: 'track',
        event: 'Order Completed',
        userId: `u${i}`,
        messageId: `cmp-t${i}`,
        timestamp: at(i),
        properties: { total: 10 + i, coupon: `c${i}` },
      })),
      ...Array.from({ length: 3 }, (_, i) => ({ type: 'page', name: 'Home', anonymousId: `a${i}`, messageId: `cmp-p${i}`, timestamp: at(i) })),
      ...Array.from({ length: 2 }, (_, i) => ({ type: 'identify', userId: `u${i}`, traits: { plan: 'pro' }, messageId: `cmp-i${i}`, timestamp: at(i) })),
      { type: 'group', userId: 'u1', groupId: 'g1', traits: { name: 'Acme' }, messageId: 'cmp-g0' },
    ]);
    await runLoad(t);
    // Segment's schema, as it would hold the same events.
    const tables = (
      await sql(t, "SELECT DISTINCT table_name FROM information_schema.tables WHERE table_schema = 'web' AND table_name NOT LIKE '\\_%' ORDER BY 1")
    ).map((r) => String(r[0]));
    expect(tables).toEqual(expect.arrayContaining(['tracks', 'order_completed', 'pages', 'identifies', 'users', 'groups', 'accounts']));
    await sql(t, 'CREATE SCHEMA segment_web');
    for (const table of tables) await sql(t, `CREATE TABLE segment_web.${table} AS SELECT * FROM web.${table}`);
  }, 120_000);
  afterAll(() => t.stop());

  it('finds two equal schemas equal, with exit code 0', async () => {
    const res = await compare('--json');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report).toMatchObject({ equal: true, tablesOnlyOld: [], tablesOnlyNew: [] });
    expect(report.tables.map((x: { table: string }) => x.table)).toEqual(['accounts', 'groups', 'identifies', 'order_completed', 'pages', 'tracks', 'users']);
    const tracks = report.tables.find((x: { table: string }) => x.table === 'tracks');
    expect(tracks.days.reduce((n: number, d: { idsOld: number }) => n + d.idsOld, 0)).toBe(6);
  }, 60_000);

  describe('with differences planted in the old schema', () => {
    beforeAll(async () => {
      await sql(t, "DELETE FROM segment_web.tracks WHERE id = 'cmp-t2'"); // a row Segment does not have
      // a row only Segment has
      await sql(t, "CREATE TABLE segment_web.extra AS SELECT * FROM web.pages WHERE id = 'cmp-p0'");
      await sql(t, "UPDATE segment_web.extra SET id = 'cmp-extra'");
      await sql(t, 'INSERT INTO segment_web.pages SELECT * FROM segment_web.extra');
      await sql(t, 'DROP TABLE segment_web.extra');
      await sql(t, "UPDATE segment_web.order_completed SET total = 99 WHERE id = 'cmp-t4'"); // a changed value
      await sql(t, 'ALTER TABLE segment_web.identifies ADD COLUMN segment_only VARCHAR(10)'); // a column only Segment has
      // Not differences: a timestamp off by less than a millisecond; the load time.
      await sql(t, "UPDATE segment_web.pages SET sent_at = sent_at + INTERVAL '400 microseconds', uuid_ts = GETDATE() WHERE id = 'cmp-p1'");
    });

    it('reports every planted difference and nothing else, with exit code 3', async () => {
      const res = await compare('--json');
      expect(res.code).toBe(3);
      const report = JSON.parse(res.stdout);
      expect(report.equal).toBe(false);
      const byTable = Object.fromEntries(report.tables.map((x: { table: string }) => [x.table, x]));
      const differences = report.tables.flatMap(
        (x: {
          table: string;
          days: Array<{
            day: string;
            onlyOld: number;
            onlyNew: number;
            onlyOldExamples: string[];
            onlyNewExamples: string[];
            differing: Array<{ column: string; rows: number; example: string }>;
          }>;
        }) =>
          x.days.flatMap((d) => [
            ...(d.onlyOld ? [{ table: x.table, onlyOld: d.onlyOld, examples: d.onlyOldExamples }] : []),
            ...(d.onlyNew ? [{ table: x.table, onlyNew: d.onlyNew, examples: d.onlyNewExamples }] : []),
            ...d.differing.map((c) => ({ table: x.table, column: c.column, rows: c.rows, example: c.example })),
          ]),
      );
      expect(differences).toEqual([
        { table: 'order_completed', column: 'total', rows: 1, example: 'cmp-t4' },
        { table: 'pages', onlyOld: 1, examples: ['cmp-extra'] },
        { table: 'tracks', onlyNew: 1, examples: ['cmp-t2'] },
      ]);
      expect(byTable.identifies).toMatchObject({ equal: true, columnsOnlyOld: ['segment_only'], columnsOnlyNew: [] });
    }, 60_000);

    it('prints the same report on every run, and a readable one without --json', async () => {
      const [a, b] = [await compare('--json'), await compare('--json')];
      expect(a.stdout).toBe(b.stdout);
      const text = await compare();
      expect(text.code).toBe(3);
      expect(text.stdout).toMatch(/web \(ours\) against segment_web \(Segment\): DIFFERENT/);
      expect(text.stdout).toMatch(/total: 1 rows differ\s+cmp-t4/);
      expect(text.stdout).toMatch(/identifies: columns only in segment_web \(not compared\): segment_only/);
    }, 60_000);

    it('says what is wrong with bad input (exit code 2)', async () => {
      expect(await cli(['compare', '--data-dir', t.dataDir, '--source', 'web'])).toMatchObject({
        code: 2,
        stderr: expect.stringContaining('--with is required'),
      });
      expect(await cli(['compare', '--data-dir', t.dataDir, '--source', 'web', '--with', 'x; DROP'])).toMatchObject({
        code: 2,
        stderr: expect.stringContaining('--with must be a schema name'),
      });
      expect(await cli(['compare', '--data-dir', t.dataDir, '--source', 'web', '--with', 'no_such_schema'])).toMatchObject({
        code: 2,
        stderr: expect.stringContaining('has no tables'),
      });
    }, 60_000);
  });
});

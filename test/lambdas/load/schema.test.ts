import { startTestCloud, type TestCloud } from '../../support/localCloud';
import { identifier } from '../../../lambdas/core/naming';
import { GO_SNAKECASE_VECTORS } from '../../support/goSnakecaseVectors';
import { runLoad, sendBatch, sql } from '../../support/pipeline';

/** Loads through the synthesized load workflow in local mode and looks at the warehouse. */
describe('Loader: Segment schema and schema evolution', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
  });
  afterAll(() => t.stop());

  const columnsOf = async (table: string) =>
    Object.fromEntries(
      (await sql(t, `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'web' AND table_name = '${table}'`)).map((r) => [
        r[0],
        r[1],
      ]),
    );

  it("names event tables and property columns exactly as Segment does (go-snakecase's own test vectors)", async () => {
    await sendBatch(
      t,
      GO_SNAKECASE_VECTORS.map(([name], i) => ({ type: 'track', event: name, userId: 'u', messageId: `snake-${i}`, properties: { [name]: i } })),
    );
    expect(await runLoad(t)).toMatchObject({ status: 'SUCCEEDED', eventsDiscarded: 0 });
    for (const [i, [name, expected]] of GO_SNAKECASE_VECTORS.entries()) {
      const row = await sql(t, `SELECT t.event, e."${expected}" FROM web.tracks t JOIN web."${expected}" e ON e.id = t.id WHERE t.id = 'snake-${i}'`);
      expect({ name, row }).toEqual({ name, row: [[expected, i]] });
    }
  }, 60_000);

  it('loads all six call types into tracks, per-event tables, pages, screens, identifies, groups (one row per call), aliases, users and accounts (latest state)', async () => {
    const ts = '2026-11-20T10:00:00.000Z';
    await sendBatch(t, [
      {
        type: 'track',
        event: 'Order Completed',
        userId: 'u1',
        messageId: 'c-track',
        timestamp: ts,
        properties: { orderId: 'o1', total: 99.5, items: 3, shipping: { method: 'express' }, tags: ['a', 'b'], gift: false },
      },
      {
        type: 'page',
        anonymousId: 'anon1',
        messageId: 'c-page',
        name: 'Pricing',
        properties: { path: '/pricing', url: 'https://example.com/pricing', title: 'Pricing' },
      },
      { type: 'screen', userId: 'u1', messageId: 'c-screen', name: 'Dashboard', properties: { variant: 'b' } },
      { type: 'identify', userId: 'u1', messageId: 'c-identify', traits: { email: 'u1@example.com', plan: 'pro', logins: 7 } },
      { type: 'group', userId: 'u1', messageId: 'c-group', groupId: 'acme', traits: { name: 'Acme Inc', employees: 250 } },
      { type: 'alias', userId: 'u1', previousId: 'anon1', messageId: 'c-alias' },
    ]);
    const summary = await runLoad(t);
    expect(summary).toMatchObject({ status: 'SUCCEEDED', events: 6, eventsDiscarded: 0 });

    expect(await sql(t, "SELECT id, event, event_text, user_id FROM web.tracks WHERE id = 'c-track'")).toEqual([
      ['c-track', 'order_completed', 'Order Completed', 'u1'],
    ]);
    expect(
      await sql(t, "SELECT order_id, total, items, shipping_method, tags, gift, original_timestamp FROM web.order_completed WHERE id = 'c-track'"),
    ).toEqual([['o1', 99.5, 3, 'express', '["a","b"]', false, '2026-11-20 10:00:00']]);
    const types = await columnsOf('order_completed');
    expect(types).toMatchObject({
      order_id: 'character varying',
      total: 'double precision',
      items: 'bigint',
      gift: 'boolean',
      received_at: 'timestamp without time zone',
      context_ip: 'character varying',
    });
    expect(await sql(t, "SELECT name, path, title, anonymous_id FROM web.pages WHERE id = 'c-page'")).toEqual([['Pricing', '/pricing', 'Pricing', 'anon1']]);
    expect(await sql(t, "SELECT name, variant FROM web.screens WHERE id = 'c-screen'")).toEqual([['Dashboard', 'b']]);
    expect(await sql(t, "SELECT email, plan, logins FROM web.identifies WHERE id = 'c-identify'")).toEqual([['u1@example.com', 'pro', 7]]);
    expect(await sql(t, "SELECT group_id, name, employees FROM web.groups WHERE id = 'c-group'")).toEqual([['acme', 'Acme Inc', 250]]);
    expect(await sql(t, "SELECT previous_id, user_id FROM web.aliases WHERE id = 'c-alias'")).toEqual([['anon1', 'u1']]);
    expect(await sql(t, "SELECT id, email, plan, logins FROM web.users WHERE id = 'u1'")).toEqual([['u1', 'u1@example.com', 'pro', 7]]);
    expect(await sql(t, "SELECT id, name, employees FROM web.accounts WHERE id = 'acme'")).toEqual([['acme', 'Acme Inc', 250]]);
    // Segment's common columns on every call table.
    for (const table of ['tracks', 'pages', 'screens', 'identifies', 'groups', 'aliases']) {
      expect(Object.keys(await columnsOf(table))).toEqual(
        expect.arrayContaining(['id', 'anonymous_id', 'user_id', 'received_at', 'sent_at', 'timestamp', 'original_timestamp', 'uuid_ts', 'context_ip']),
      );
    }
  });

  it("creates 60 new event tables and loads a 600-trait identify in a fresh source's first load (DDL in batches within the Data API's 40 statements)", async () => {
    const events = Array.from({ length: 60 }, (_, i) => ({
      type: 'track',
      event: `Wide Event ${i}`,
      userId: 'u',
      messageId: `wide-${i}`,
      properties: { n: i },
    }));
    const traits = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`trait_${String(i).padStart(3, '0')}`, `v${i}`]));
    await sendBatch(t, [...events, { type: 'identify', userId: 'wide-user', messageId: 'wide-identify', traits }], 'app');
    const summary = await runLoad(t, { source: 'app' });
    expect(summary).toMatchObject({ status: 'SUCCEEDED', events: 61 });
    // The first 200 columns of the event by name are kept (traits and context together), the rest discarded with the reason.
    const [[kept]] = await sql(
      t,
      "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'identifies' AND column_name LIKE 'trait_%'",
    );
    const [[discarded]] = await sql(t, "SELECT COUNT(*) FROM app._discards WHERE row_id = 'wide-identify'");
    expect(Number(kept) + Number(discarded)).toBe(600);
    expect(Number(kept)).toBeGreaterThan(100);
    expect(await sql(t, "SELECT id, trait_000 FROM app.users WHERE id = 'wide-user'")).toEqual([['wide-user', 'v0']]);
    const tables = await sql(t, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'app' AND table_name LIKE 'wide_event_%'");
    expect(tables).toEqual([[60]]);
    expect(await sql(t, 'SELECT id, n FROM app.wide_event_59')).toEqual([['wide-59', 59]]);
    // Verify's state output is bounded (Step Functions fails at 256 KiB, and no Catch can handle that).
    expect(Buffer.byteLength(JSON.stringify(summary))).toBeLessThan(64 * 1024);
  });

  it('adds what it lacks to a table a concurrent load created first with other columns (CREATE TABLE IF NOT EXISTS was a no-op)', async () => {
    // Between this load's catalog read and its CREATE, "another load" creates the same table without
    // the coupon column: this load's CREATE … IF NOT EXISTS then does nothing. Played here by running,
    // in its place, the other load's CREATE (same transaction, same database user).
    const warehouse = t.cloud.warehouse;
    const original = warehouse.runBatch.bind(warehouse);
    let raced = 0;
    warehouse.runBatch = (statements) => {
      const i = statements.findIndex((x) => /CREATE TABLE IF NOT EXISTS "web"\."promo_viewed"/.test(x.sql));
      if (i < 0 || raced > 0) return original(statements);
      raced++;
      const other = statements[i].sql.replace(/,\s*"coupon" [A-Z]+(\(\d+\))?( CONSTRAINT "\w+" CHECK \(octet_length\("coupon"\) <= \d+\))?/, '');
      if (other.includes('"coupon"')) throw new Error(`the test could not remove the coupon column from: ${other}`);
      return original(statements.map((x, j) => (j === i ? { ...x, sql: other } : x)));
    };
    try {
      await sendBatch(t, [{ type: 'track', event: 'Promo Viewed', userId: 'u1', messageId: 'race-1', properties: { coupon: 'WINTER' } }]);
      expect(await runLoad(t)).toMatchObject({ status: 'SUCCEEDED', eventsDiscarded: 0, valuesDiscarded: 0 });
    } finally {
      warehouse.runBatch = original;
    }
    expect(raced).toBe(1);
    expect(await sql(t, "SELECT coupon FROM web.promo_viewed WHERE id = 'race-1'")).toEqual([['WINTER']]);
  }, 60_000);

  it('adds a column for a new property, earlier rows keep NULL', async () => {
    await sendBatch(t, [{ type: 'track', event: 'Evolving', userId: 'u', messageId: 'ev-1', properties: { a: 1 } }]);
    await runLoad(t);
    await sendBatch(t, [{ type: 'track', event: 'Evolving', userId: 'u', messageId: 'ev-2', properties: { a: 2, brand_new: 'yes' } }]);
    const summary = await runLoad(t);
    expect(summary.ddl).toEqual(['ALTER TABLE "web"."evolving" ADD COLUMN "brand_new" VARCHAR(65535)']);
    expect(await sql(t, 'SELECT id, a, brand_new FROM web.evolving ORDER BY id')).toEqual([
      ['ev-1', 1, null],
      ['ev-2', 2, 'yes'],
    ]);
  });

  it('keeps an existing column type and sends a value that does not fit to _discards with its reason, losing nothing else', async () => {
    await sendBatch(t, [{ type: 'track', event: 'Typed', userId: 'u', messageId: 'ty-1', properties: { amount: 10, note: 'first' } }]);
    await runLoad(t);
    await sendBatch(t, [{ type: 'track', event: 'Typed', userId: 'u', messageId: 'ty-2', properties: { amount: 'ten', note: 'second' } }]);
    const summary = await runLoad(t);
    expect(summary).toMatchObject({ valuesDiscarded: 1 });
    expect(await sql(t, 'SELECT id, amount, note FROM web.typed ORDER BY id')).toEqual([
      ['ty-1', 10, 'first'],
      ['ty-2', null, 'second'],
    ]);
    expect(await sql(t, "SELECT table_name, row_id, column_name, value, value_type, reason FROM web._discards WHERE row_id = 'ty-2'")).toEqual([
      ['typed', 'ty-2', 'amount', 'ten', 's', 'value does not fit column type BIGINT'],
    ]);
    expect((await columnsOf('typed')).amount).toBe('bigint');
  });

  it('caps an event of 1,000 properties at 200 columns and discards the rest', async () => {
    const properties = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`p${String(i).padStart(4, '0')}`, i]));
    await sendBatch(t, [{ type: 'track', event: 'Wide', userId: 'u', messageId: 'wide-1', properties }]);
    const summary = await runLoad(t);
    expect(summary).toMatchObject({ eventsDiscarded: 0 });
    const columns = Object.keys(await columnsOf('wide'))
      .filter((c) => /^p\d{4}$/.test(c))
      .sort();
    // 200 per event, context columns included, chosen by name: context_* sort before p*.
    const contextColumns = Object.keys(await columnsOf('wide')).filter((c) => c.startsWith('context_')).length;
    expect(columns).toHaveLength(200 - contextColumns);
    expect(columns[0]).toBe('p0000');
    const [[discarded]] = await sql(t, "SELECT COUNT(*) FROM web._discards WHERE row_id = 'wide-1' AND table_name = 'wide'");
    expect(discarded).toBe(1000 - columns.length);
    const [[reason]] = await sql(t, "SELECT DISTINCT reason FROM web._discards WHERE row_id = 'wide-1' AND table_name = 'wide'");
    expect(reason).toBe('event has more than 200 columns (properties and context together); columns after the first 200 by name are not loaded');
  });

  it('loads a table of 1,500 columns (its casts split into column groups) without losing a value', async () => {
    const events = Array.from({ length: 8 }, (_, e) => ({
      type: 'track',
      event: 'Very Wide',
      userId: 'u',
      messageId: `vw-${e}`,
      properties: Object.fromEntries(Array.from({ length: 190 }, (_, j) => [`e${e}_property_${String(j).padStart(3, '0')}`, e * 1000 + j])),
    }));
    await sendBatch(t, events);
    const summary = await runLoad(t);
    expect(summary).toMatchObject({ valuesDiscarded: 0 });
    expect((await sql(t, "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'web' AND table_name = 'very_wide'"))[0][0]).toBeGreaterThan(
      1520,
    );
    expect(await sql(t, 'SELECT id, e0_property_000, e3_property_120, e7_property_189 FROM web.very_wide ORDER BY id')).toEqual([
      ['vw-0', 0, null, null],
      ['vw-1', null, null, null],
      ['vw-2', null, null, null],
      ['vw-3', null, 3120, null],
      ['vw-4', null, null, null],
      ['vw-5', null, null, null],
      ['vw-6', null, null, null],
      ['vw-7', null, null, 7189],
    ]);
  });

  it('makes valid, stable identifiers of reserved words, unicode and very long names', async () => {
    const long = `${'very long property name '.repeat(10)}end`;
    const event = (id: string) => ({
      type: 'track',
      event: 'Select',
      userId: 'u',
      messageId: id,
      properties: { select: 1, 'Größe in cm': 2, ключ: 3, 数量: 4, [long]: 5, 'user id': 'x', id: 'prop-id', '123abc': 6, 'a.b-c d': 7 },
    });
    await sendBatch(t, [event('id-1')]);
    await runLoad(t);
    await sendBatch(t, [event('id-2')]);
    const second = await runLoad(t);
    expect(second.ddl).toEqual([]); // the same names again: no new column
    const columns = Object.keys(await columnsOf('_select'));
    const longColumn = columns.find((c) => c.startsWith('very_long_property_name')) as string;
    expect(Buffer.byteLength(longColumn)).toBeLessThanOrEqual(127);
    expect(longColumn).toMatch(/_[0-9a-f]{8}$/);
    // As Segment: non-ASCII letters only separate words, a leading digit stays; a name with no
    // ASCII letter or digit (empty for Segment) is named by a hash of it, so its values are kept.
    const [key, amount] = [identifier('ключ'), identifier('数量')];
    expect([key, amount]).toEqual([expect.stringMatching(/^_[0-9a-f]{8}$/), expect.stringMatching(/^_[0-9a-f]{8}$/)]);
    expect(columns.filter((c) => !c.startsWith('very_'))).toEqual(
      expect.arrayContaining(['_select', 'gr_e_in_cm', key, amount, '_user_id', '_id', '123abc', 'a_b_c_d']),
    );
    expect(await sql(t, `SELECT _select, gr_e_in_cm, "${key}", "${amount}", "${longColumn}", _user_id, _id, id FROM web._select ORDER BY id`)).toEqual([
      [1, 2, 3, 4, 5, 'x', 'prop-id', 'id-1'],
      [1, 2, 3, 4, 5, 'x', 'prop-id', 'id-2'],
    ]);
  });

  it('reports a test run (dryRun) and changes nothing in the warehouse', async () => {
    await sendBatch(t, [
      { type: 'track', event: 'Dry Event', userId: 'u', messageId: 'dry-1', properties: { v: 1 } },
      { type: 'track', event: 'Typed', userId: 'u', messageId: 'dry-2', properties: { amount: 'not a number' } },
    ]);
    const tablesBefore = await sql(
      t,
      "SELECT table_name, COUNT(*) FROM information_schema.columns WHERE table_schema = 'web' GROUP BY table_name ORDER BY table_name",
    );
    const [[loadsBefore]] = await sql(t, 'SELECT COUNT(*) FROM web._loads');
    const [[discardsBefore]] = await sql(t, 'SELECT COUNT(*) FROM web._discards');
    const report = await runLoad(t, { source: 'web', dryRun: true });
    expect(report).toMatchObject({ status: 'DRY_RUN', dryRun: true, events: 2, rowsLoaded: 4, valuesDiscarded: 1 });
    expect(report.ddl).toEqual([expect.stringMatching(/^CREATE TABLE IF NOT EXISTS "web"."dry_event" \(/)]);
    expect(
      await sql(t, "SELECT table_name, COUNT(*) FROM information_schema.columns WHERE table_schema = 'web' GROUP BY table_name ORDER BY table_name"),
    ).toEqual(tablesBefore);
    expect(await sql(t, 'SELECT COUNT(*) FROM web._loads')).toEqual([[loadsBefore]]);
    expect(await sql(t, 'SELECT COUNT(*) FROM web._discards')).toEqual([[discardsBefore]]);
    expect(await sql(t, "SELECT COUNT(*) FROM web.tracks WHERE id LIKE 'dry-%'")).toEqual([[0]]);
    // The real run then does what the test run said.
    const real = await runLoad(t);
    expect(real).toMatchObject({
      status: 'SUCCEEDED',
      events: report.events,
      rowsLoaded: report.rowsLoaded,
      valuesDiscarded: report.valuesDiscarded,
      ddl: report.ddl,
    });
  });

  it('discards events it cannot load as a whole, with the reason, and counts them', async () => {
    // Straight into the raw bucket: what a broken producer or a hand-made backfill might leave there.
    const hour = new Date().toISOString().slice(0, 13).replace(/-/g, '/').replace('T', '/');
    const { gzipSync } = await import('node:zlib');
    const lines = [
      '{"type":"track","event":"Raw","messageId":"raw-1","userId":"u","receivedAt":"2026-11-21T10:00:00.000Z"}',
      'not json at all',
      '{"type":"track","event":"Raw","userId":"u","receivedAt":"2026-11-21T10:00:00.000Z"}',
      '{"type":"launch","messageId":"raw-3","receivedAt":"2026-11-21T10:00:00.000Z"}',
    ];
    t.cloud.store.put(t.cloud.endpoints.buckets.raw, `web/${hour}/handmade-object.gz`, gzipSync(`${lines.join('\n')}\n`));
    const summary = await runLoad(t);
    expect(summary).toMatchObject({ events: 4, eventsDiscarded: 3 });
    const reasons = (await sql(t, "SELECT reason FROM web._discards WHERE raw_object LIKE '%handmade-object.gz' ORDER BY reason")).map((r) =>
      String(r[0]).replace(/:.*$/, ''),
    );
    expect(reasons).toEqual(['event has no messageId', 'line is not valid JSON', 'unknown event type "launch"']);
    expect(await sql(t, "SELECT COUNT(*) FROM web._raw WHERE id = 'raw-1'")).toEqual([[1]]);
  });
});

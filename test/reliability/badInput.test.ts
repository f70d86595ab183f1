import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { eventTableName } from '../../lambdas/core/naming';
import { mapEvent } from '../../lambdas/core/transform';
import { startTestCloud, type TestCloud } from '../support/localCloud';
import { runLoad, sql } from '../support/pipeline';

/** Every staged value is tagged text: `<tag>:<text>`. */
const TAGGED = /^[ifbsjt]:/s;

const hostileString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.string({ unit: 'binary', maxLength: 50 }), // lone surrogates included
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '"; DROP TABLE web.tracks; --',
    "'); DELETE FROM web.users; --",
    'x'.repeat(70_000),
    '\uD800',
    'Ω≈ç√∫',
    '9999-12-31T23:59:59Z',
    '0001-01-01T00:00:00Z',
    '+275760-09-13T00:00:00Z',
  ),
);
const hostileNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(2 ** 53 + 1, -(2 ** 63), 1e308, -0, Number.MAX_SAFE_INTEGER + 2),
  fc.bigInt().map((b) => Number(b)),
);
const deep = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('node'), { maxKeys: 5 }),
  ),
})).node;
const event = fc.record(
  {
    type: fc.oneof(fc.constantFrom('track', 'page', 'screen', 'identify', 'group', 'alias'), hostileString),
    event: fc.oneof(hostileString, hostileNumber),
    messageId: fc.oneof(hostileString, hostileNumber, fc.constant(undefined)),
    userId: fc.oneof(hostileString, hostileNumber),
    groupId: hostileString,
    previousId: hostileString,
    receivedAt: fc.oneof(
      fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'not a date' : d.toISOString())),
      hostileString,
    ),
    timestamp: fc.oneof(
      fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'Invalid Date' : d.toISOString())),
      hostileString,
      hostileNumber,
    ),
    properties: deep,
    traits: deep,
    context: deep,
  },
  { requiredKeys: [] },
);

describe('bad input: the transform', () => {
  it('never throws; every event becomes rows of tagged text or discards with a reason', () => {
    fc.assert(
      fc.property(fc.oneof(event, deep), (e) => {
        const mapped = mapEvent(e, { object: 'web/2026/11/01/00/x.gz', line: 1 });
        if (mapped.discarded) {
          expect(mapped.rows).toHaveLength(0);
          expect(mapped.discards.length).toBeGreaterThan(0);
        } else {
          expect(mapped.rows.length).toBeGreaterThan(0);
        }
        for (const d of mapped.discards) expect(d.reason.length).toBeGreaterThan(0);
        for (const row of mapped.rows) {
          expect(row.table).toMatch(/^[a-z_][a-z0-9_]*$|^[^"]+$/);
          for (const [column, value] of Object.entries(row.values)) {
            expect(column.length).toBeGreaterThan(0);
            expect(value).toMatch(TAGGED);
            expect(value.includes('\u0000')).toBe(false);
            expect(value.isWellFormed()).toBe(true);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('names 10,000 distinct event names as 10,000 distinct, valid table names', () => {
    const names = Array.from({ length: 10_000 }, (_, i) =>
      i % 3 === 0 ? `Event ${i}` : i % 3 === 1 ? `événement-${i} "quoted"` : `${'long name '.repeat(20)}${i}`,
    );
    const tables = names.map(eventTableName);
    expect(new Set(tables).size).toBe(10_000);
    for (const t of tables) expect(Buffer.byteLength(t, 'utf8')).toBeLessThanOrEqual(127);
  });
});

describe('bad input: through the load workflow', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
  });
  afterAll(() => t.stop());

  it('loads or discards (with its reason) every line of hostile raw objects: invalid JSON and UTF-8, NUL, huge and deep values, out-of-range dates, injection attempts', async () => {
    const receivedAt = '2026-10-01T05:10:00.000Z';
    const base = { receivedAt, timestamp: receivedAt };
    const deepObject = JSON.parse(`${'{"a":'.repeat(200)}1${'}'.repeat(200)}`);
    const lines = [
      JSON.stringify({ ...base, type: 'track', event: 'Bad Input', messageId: 'bi-1', userId: 'u', properties: { nul: 'a\u0000b', ok: 1 } }),
      JSON.stringify({
        ...base,
        type: 'track',
        event: 'Bad Input',
        messageId: 'bi-2',
        userId: 'u',
        properties: { big: 2 ** 53 + 2, huge: 1e308, neg: -(2 ** 63) },
      }),
      JSON.stringify({
        ...base,
        type: 'track',
        event: 'Bad Input',
        messageId: 'bi-3',
        userId: 'u',
        properties: { when: '+275760-09-13T00:00:00Z', old: '0001-01-01T00:00:00Z' },
      }),
      JSON.stringify({
        ...base,
        type: 'track',
        event: 'Bad Input',
        messageId: 'bi-4',
        userId: 'u',
        properties: { deep: deepObject, long: 'x'.repeat(70_000) },
      }),
      JSON.stringify({
        ...base,
        type: 'track',
        event: '"; DROP TABLE web.tracks; --',
        messageId: 'bi-5',
        userId: "'); DELETE FROM web.users; --",
        properties: { "a'); DROP TABLE web.pages; --": 'x', '"quoted"': '"; DROP SCHEMA web CASCADE; --' },
      }),
      JSON.stringify({ ...base, type: 'track', event: 'Bad Input', messageId: 'bi-6', userId: 'u', properties: { lone: '\uD800x' } }),
      '{"type":"track","event":"Broken JSON","messageId":"bi-7"',
      JSON.stringify({ ...base, type: 'no-such-call', messageId: 'bi-8' }),
      JSON.stringify({ ...base, type: 'track', event: 'Bad Input', userId: 'u' }),
    ];
    // One line with bytes that are not UTF-8 at all.
    const invalidUtf8 = Buffer.concat([
      Buffer.from(`{"receivedAt":"${receivedAt}","type":"track","event":"Bad Input","messageId":"bi-9","userId":"u","properties":{"bytes":"`),
      Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
      Buffer.from('"}}'),
    ]);
    const body = Buffer.concat([Buffer.from(`${lines.join('\n')}\n`), invalidUtf8, Buffer.from('\n')]);
    t.cloud.store.put(t.cloud.endpoints.buckets.raw, 'web/2026/10/01/05/hostile.gz', gzipSync(body));

    const out = await runLoad(t);
    expect(out).toMatchObject({ status: 'SUCCEEDED', events: 10 });
    // accepted = loaded + discarded: every line is a row of tracks or a whole-event discard.
    const loaded = (await sql(t, "SELECT id FROM web.tracks WHERE id LIKE 'bi-%' ORDER BY id")).map((r) => r[0]);
    expect(loaded).toEqual(['bi-1', 'bi-2', 'bi-3', 'bi-4', 'bi-5', 'bi-6', 'bi-9']);
    expect(Number(out.eventsDiscarded)).toBe(3);
    const reasons = (await sql(t, "SELECT reason FROM web._discards WHERE column_name IS NULL OR column_name = '' ORDER BY reason")).map((r) => String(r[0]));
    expect(reasons).toEqual(
      expect.arrayContaining([expect.stringMatching(/^line is not valid JSON/), expect.stringMatching(/no messageId/), expect.stringMatching(/type/)]),
    );
    // Values that cannot be stored are discarded with their reason, the rest of the row is loaded.
    const valueReasons = (await sql(t, "SELECT column_name, reason FROM web._discards WHERE row_id IN ('bi-1', 'bi-4', 'bi-6') ORDER BY column_name")).map(
      (r) => `${r[0]}: ${r[1]}`,
    );
    expect(valueReasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^nul: text contains a NUL character/),
        expect.stringMatching(/^long: text is 70000 bytes/),
        expect.stringMatching(/^lone: text is not valid Unicode/),
      ]),
    );
    // The injection attempts are data: the tables are all there, with the attacker's text as values.
    expect(await sql(t, "SELECT user_id FROM web.tracks WHERE id = 'bi-5'")).toEqual([["'); DELETE FROM web.users; --"]]);
    expect(await sql(t, "SELECT event_text FROM web.tracks WHERE id = 'bi-5'")).toEqual([['"; DROP TABLE web.tracks; --']]);
    const tables = (await sql(t, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'web' ORDER BY 1")).map((r) => r[0]);
    expect(tables).toEqual(expect.arrayContaining(['tracks', 'bad_input', '_discards', '_loads']));
    // The invalid bytes arrive as U+FFFD (as any JSON reader decodes them), and the row loads.
    expect(await sql(t, "SELECT bytes FROM web.bad_input WHERE id = 'bi-9'")).toEqual([['\uFFFD(\uFFFD\uFFFD']]);
  }, 120_000);
});

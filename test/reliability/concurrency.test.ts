import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { startTestCloud, type TestCloud } from '../support/localCloud';
import { putRawEvents, runExecution, runLoad, sql, tableChecksum } from '../support/pipeline';
import { type PostgresServer, startPostgres } from '../support/postgres';

/**
 * Overlapping loads of one source on a warehouse where transactions really run at the same time
 * (a PostgreSQL server, SERIALIZABLE, conflicts answered with Redshift's error 1023): scheduled
 * loads that overlap each other and a reload backfill of the same hours. Whatever conflicts
 * happen are retried; at the end the tables hold every message once and equal a serial run's.
 * RELIABILITY_CONCURRENCY_HOURS hours of raw objects (24 with `npm run test:reliability`, 6 in `npm test`).
 */
const HOURS = Number(process.env.RELIABILITY_CONCURRENCY_HOURS ?? 6);
const OVERLAPPING_LOADS = 3;
// Recent hours: scheduled loads look for pending objects from a little before the ledger's newest hour.
const START = Math.floor(Date.now() / 3_600_000 - HOURS - 1) * 3_600_000;

/** Two raw objects per hour: tracks of three events, an identify, a track without event name (discarded), and retried messages. */
async function putHours(t: TestCloud): Promise<void> {
  for (let h = 0; h < HOURS; h++) {
    const hour = new Date(START + h * 3_600_000).toISOString();
    const first = Array.from({ length: 20 }, (_, i) => ({
      type: 'track',
      event: `Step ${(h + i) % 3}`,
      userId: `u${i % 7}`,
      messageId: `cy-${h}-${i}`,
      properties: { h, i, label: `l${i}` },
    }));
    await putRawEvents(t, 'web', hour, 'a', [
      ...first,
      { type: 'identify', userId: `u${h % 7}`, messageId: `cy-id-${h}`, traits: { plan: `p${h}`, seats: h } },
      { type: 'track', userId: 'u0', messageId: `cy-noevent-${h}` },
    ]);
    // A retried delivery: five messages of the first object again, and ten new ones.
    await putRawEvents(t, 'web', hour, 'b', [
      ...first.slice(0, 5),
      ...Array.from({ length: 10 }, (_, i) => ({ type: 'page', name: 'Home', userId: `u${i}`, messageId: `cy-page-${h}-${i}` })),
    ]);
  }
}

async function loadAll(t: TestCloud): Promise<void> {
  for (let more = true; more;) more = Boolean((await runLoad(t)).more);
}

const TABLES: Array<[string, string[]]> = [
  ['tracks', ['uuid_ts']],
  ['step_0', ['uuid_ts']],
  ['step_1', ['uuid_ts']],
  ['step_2', ['uuid_ts']],
  ['pages', ['uuid_ts']],
  ['identifies', ['uuid_ts']],
  ['users', ['uuid_ts']],
  ['_discards', ['uuid_ts', 'load_id']],
  ['_ids', []],
];

describe(`concurrency: ${OVERLAPPING_LOADS} overlapping loads and a reload backfill of one source on a PostgreSQL server (${HOURS} hours)`, () => {
  let pg: PostgresServer;
  let concurrent: TestCloud | undefined;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await concurrent?.stop();
    await pg?.stop();
  });

  it('retries every conflict: no message lost or doubled, tables identical to a serial run', async () => {
    // The serial run first (one stack per process: the functions reach "AWS" through one endpoint).
    const serial = await startTestCloud();
    let expected: string[];
    try {
      await putHours(serial);
      await loadAll(serial);
      expected = await Promise.all(TABLES.map(([table, exclude]) => tableChecksum(serial, table, exclude)));
    } finally {
      await serial.stop();
    }

    const c = await startTestCloud({ warehouseUrl: await pg.createDatabase() });
    concurrent = c;
    await putHours(c);
    const started = Date.now();
    const from = new Date(START).toISOString();
    const to = new Date(START + HOURS * 3_600_000).toISOString();
    const runs: Array<Promise<DescribeExecutionCommandOutput>> = [
      ...Array.from({ length: OVERLAPPING_LOADS }, () => runExecution(c, c.cloud.endpoints.stateMachines.load, { source: 'web' }, 600_000)),
      runExecution(c, c.cloud.endpoints.stateMachines.backfill, { source: 'web', from, to, mode: 'reload', maxConcurrency: 3 }, 600_000),
    ];
    const outcomes = await Promise.all(runs);
    // What the next scheduled tick would still find.
    await loadAll(c);
    const seconds = (Date.now() - started) / 1000;

    const conflicts = c.cloud.warehouse.counters.serializationFailures;
    // The overlapping ticks: one loads, the others find it running and end at once (SKIPPED).
    const tickStatuses = outcomes
      .slice(0, OVERLAPPING_LOADS)
      .map((o) => (o.status === 'SUCCEEDED' ? String(JSON.parse(o.output as string).status) : String(o.status)));
    const loads = c.cloud.stepFunctions.allExecutions().filter((e) => e.stateMachineArn === c.cloud.endpoints.stateMachines.load);
    const [[rows, distinct]] = await sql(c, "SELECT COUNT(*), COUNT(DISTINCT id) FROM web.tracks WHERE id LIKE 'cy-%'");
    process.stdout.write(
      `\nconcurrency: ${HOURS} hours, ${OVERLAPPING_LOADS} overlapping loads + a reload backfill (3 windows at once): ${loads.length} load executions in ${seconds.toFixed(1)} s, ` +
        `${conflicts} serialization conflicts retried; the overlapping loads ended ${tickStatuses.join(', ')}; executions ${outcomes.map((o) => o.status).join(', ')}; tracks ${rows} rows, ${distinct} distinct\n`,
    );
    expect(outcomes.map((o) => ({ status: o.status, error: o.error, cause: o.cause }))).toEqual(
      outcomes.map(() => ({ status: 'SUCCEEDED', error: undefined, cause: undefined })),
    );
    expect(tickStatuses.every((st) => ['SUCCEEDED', 'SKIPPED', 'EMPTY'].includes(st))).toBe(true);
    expect([rows, distinct]).toEqual([HOURS * 20, HOURS * 20]);
    const actual = await Promise.all(TABLES.map(([table, exclude]) => tableChecksum(c, table, exclude)));
    TABLES.forEach(([table], i) => expect({ table, checksum: actual[i] }).toEqual({ table, checksum: expected[i] }));
    expect(await sql(c, 'SELECT (SELECT COUNT(*) FROM web._pending_ids) + (SELECT COUNT(*) FROM web._pending_discards)')).toEqual([[0]]);
  }, 900_000);
});

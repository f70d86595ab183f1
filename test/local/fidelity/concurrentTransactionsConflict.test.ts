import { BatchExecuteStatementCommand } from '@aws-sdk/client-redshift-data';
import { statementError, waitForStatement } from '../../../lambdas/io/warehouse';
import { SerializationConflictError } from '../../../lambdas/core/errors';
import { startTestCloud, type TestCloud } from '../../support/localCloud';
import { runLoad, sendBatch, sql } from '../../support/pipeline';
import { type PostgresServer, startPostgres } from '../../support/postgres';

/**
 * Redshift: every transaction is serializable; of two concurrent transactions that read what the
 * other writes, one is aborted with error 1023 ("Serializable isolation", "Troubleshooting
 * serializable isolation errors"). The embedded warehouse runs one transaction at a time and cannot
 * show it; with `--warehouse-url postgres://…` local mode runs batches concurrently, SERIALIZABLE,
 * and answers a lost race with Redshift's error.
 */
describe('concurrent transactions conflict (a PostgreSQL server as the warehouse)', () => {
  let pg: PostgresServer;
  let t: TestCloud;
  beforeAll(async () => {
    pg = await startPostgres();
    t = await startTestCloud({ warehouseUrl: await pg.createDatabase() });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await pg?.stop();
  });

  it('aborts one of two transactions that read what the other writes, with Redshift error 1023, which the loader retries', async () => {
    await sql(t, 'CREATE SCHEMA skew');
    await sql(t, 'CREATE TABLE skew.a (n BIGINT)');
    await sql(t, 'CREATE TABLE skew.b (n BIGINT)');
    const target = { WorkgroupName: t.cloud.endpoints.warehouse.workgroupName, Database: t.cloud.endpoints.warehouse.database };
    // Write skew: each reads the table the other writes; the pause makes them overlap for certain.
    const batch = (read: string, write: string) =>
      t.clients.data.send(
        new BatchExecuteStatementCommand({ ...target, Sqls: [`INSERT INTO skew.${write} SELECT COUNT(*) FROM skew.${read}`, 'SELECT pg_sleep(0.5)'] }),
      );
    const before = t.cloud.warehouse.counters.serializationFailures;
    const ids = await Promise.all([batch('a', 'b'), batch('b', 'a')]);
    const outcomes = await Promise.all(ids.map(({ Id }) => waitForStatement(t.clients.data, Id as string, { firstWaitMs: 20 })));
    const failed = outcomes.filter((d) => d.Status === 'FAILED');
    expect(outcomes.map((d) => d.Status).sort()).toEqual(['FAILED', 'FINISHED']);
    expect(failed[0].Error).toMatch(/^Query #\d failed with ERROR: 1023 DETAIL: Serializable isolation violation on table in Redshift/);
    expect(t.cloud.warehouse.counters.serializationFailures - before).toBe(1);
    // What the load workflow retries (RetryPolicies.serializationConflict), not a failed load.
    expect(statementError(failed[0], 'load')).toBeInstanceOf(SerializationConflictError);
    // The loser wrote nothing.
    expect(await sql(t, 'SELECT (SELECT COUNT(*) FROM skew.a) + (SELECT COUNT(*) FROM skew.b)')).toEqual([[1]]);
  });

  it('runs the table loads of one load at the same time without a conflict: they only append to the shared tables', async () => {
    const hour = '2026-03-01T10:00:00.000Z';
    const steps = (bad: (i: number) => unknown, prefix: string) =>
      Array.from({ length: 8 }, (_, e) =>
        Array.from({ length: 20 }, (__, i) => ({
          type: 'track',
          event: `Step ${e}`,
          userId: `u${i}`,
          messageId: `${prefix}-${e}-${i}`,
          timestamp: hour,
          properties: { i, bad: bad(i) },
        })),
      ).flat();
    const failuresBefore = t.cloud.warehouse.counters.serializationFailures;
    await sendBatch(t, [...steps(() => 1, 'cc1'), { type: 'identify', userId: 'u1', messageId: 'cc-id', timestamp: hour, traits: { plan: 'pro' } }]);
    expect(await runLoad(t)).toMatchObject({ status: 'SUCCEEDED', events: 161 });
    // `bad` is a BIGINT column now: half of the next values do not fit and are discarded.
    await sendBatch(
      t,
      steps((i) => (i % 2 ? 'x' : 2), 'cc2'),
    );
    expect(await runLoad(t)).toMatchObject({ status: 'SUCCEEDED', events: 160, valuesDiscarded: 80 });
    // 8 event tables, tracks, identifies, users, _discards — 4 at a time (tableLoads) — and no conflict.
    expect(t.cloud.warehouse.counters.serializationFailures - failuresBefore).toBe(0);
    expect(await sql(t, "SELECT table_name, COUNT(*), COUNT(DISTINCT id) FROM web._ids WHERE id LIKE 'cc%' GROUP BY table_name ORDER BY table_name")).toEqual([
      ['identifies', 1, 1],
      ['tracks', 320, 320],
    ]);
    // The discarded values, committed once each; nothing left pending after the commits.
    expect(await sql(t, "SELECT COUNT(*), COUNT(DISTINCT id) FROM web._discards WHERE column_name = 'bad'")).toEqual([[80, 80]]);
    expect(await sql(t, 'SELECT (SELECT COUNT(*) FROM web._pending_ids) + (SELECT COUNT(*) FROM web._pending_discards)')).toEqual([[0]]);
  });
});

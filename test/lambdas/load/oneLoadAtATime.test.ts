import { PutObjectCommand } from '@aws-sdk/client-s3';
import { layout } from '../../../lambdas/core/layout';
import type { LoadLock } from '../../../lambdas/io/loadLock';
import { startTestCloud, type TestCloud } from '../../support/localCloud';
import { eventually } from '../../support/localCloud';
import { runExecution, runLoad, sendBatch, sql } from '../../support/pipeline';

/**
 * One pending load per source at a time: a tick while the source's load runs ends at once as
 * SKIPPED (counted), instead of a second load racing the first; a lock left by a load that
 * stopped without releasing it is taken over.
 */
describe('one load per source at a time', () => {
  let t: TestCloud;
  beforeAll(async () => {
    // The first Data API call fails (503): the first load's PlanLoad is retried after a real
    // interval (time scale 1), holding the source meanwhile.
    t = await startTestCloud({ timeScale: 1, faults: { warehouseUnavailableCalls: 1 } });
  });
  afterAll(() => t.stop());

  const lockKey = layout.loadLock('web');
  const lock = () => t.cloud.store.get(t.cloud.endpoints.buckets.staged, lockKey);

  it('skips a tick while the load runs, and the next tick after it finds the source free', async () => {
    await sendBatch(t, [{ type: 'track', event: 'Alone', userId: 'u', messageId: 'alone-1' }]);
    const first = runExecution(t, t.cloud.endpoints.stateMachines.load, { source: 'web' }, 120_000);
    // The first load holds the source (its PlanLoad took the lock before the failed call).
    const holder = await eventually(
      () => {
        try {
          const held = JSON.parse(lock().body.toString('utf8')) as LoadLock;
          return held.released ? undefined : held.executionArn;
        } catch {
          return undefined;
        }
      },
      10_000,
      'the first load to take the lock',
    );
    const tick = await runLoad(t);
    expect(tick).toMatchObject({ status: 'SKIPPED', runningLoad: holder, objects: 0 });
    const done = await first;
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output as string)).toMatchObject({ status: 'SUCCEEDED', events: 1 });
    expect(JSON.parse(lock().body.toString('utf8'))).toMatchObject({ executionArn: holder, released: expect.any(String) });
    expect(await runLoad(t)).toMatchObject({ status: 'EMPTY' });
    expect(await sql(t, "SELECT COUNT(*) FROM web.tracks WHERE id = 'alone-1'")).toEqual([[1]]);
  }, 120_000);

  it('takes over a lock whose holder ended without releasing it, or never existed', async () => {
    for (const [n, executionArn] of [
      [2, (await runExecution(t, t.cloud.endpoints.stateMachines.load, { source: 'web' })).executionArn as string],
      [3, `${t.cloud.endpoints.stateMachines.load.replace(':stateMachine:', ':execution:')}:no-such-execution`],
    ] as const) {
      // As a load that crashed or was stopped leaves it.
      const stale: LoadLock = { executionArn, since: new Date().toISOString() };
      await t.clients.s3.send(new PutObjectCommand({ Bucket: t.cloud.endpoints.buckets.staged, Key: lockKey, Body: JSON.stringify(stale) }));
      await sendBatch(t, [{ type: 'track', event: 'Alone', userId: 'u', messageId: `alone-${n}` }]);
      expect(await runLoad(t)).toMatchObject({ status: 'SUCCEEDED', events: 1 });
    }
    expect(await sql(t, "SELECT COUNT(*) FROM web.tracks WHERE id IN ('alone-2', 'alone-3')")).toEqual([[2]]);
    expect(t.cloud.iam.denials).toEqual([]);
  }, 120_000);
});

import { SET_ASIDE_AFTER, type SetAsideObject } from '../../../lambdas/core/isolation';
import { layout } from '../../../lambdas/core/layout';
import { startTestCloud, type TestCloud } from '../../support/localCloud';
import { cli } from '../../support/cli';
import { putRawEvents, runExecution, sql } from '../../support/pipeline';

/**
 * A raw object that makes every load fail (here: not gzip, as a truncated upload would leave it)
 * must not stop its source: the loads close in on it, set it aside after it failed
 * SET_ASIDE_AFTER loads on its own, and load the objects before and after it.
 */
describe('a poison object is set aside while the others load', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
  });
  afterAll(() => t.stop());

  it('sets it aside with its error after it failed alone, and every other object loads once', async () => {
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000).toISOString();
    const track = (id: string) => ({ type: 'track', event: 'Poison Neighbour', userId: 'u', messageId: id });
    await putRawEvents(t, 'web', hour, 'a-before', [track('pn-a')]);
    const poisonKey = `web/${hour.slice(0, 13).replace(/-/g, '/').replace('T', '/')}/b-poison.gz`;
    t.cloud.store.put(t.cloud.endpoints.buckets.raw, poisonKey, Buffer.from('not gzip at all'));
    await putRawEvents(t, 'web', hour, 'c-after', [track('pn-c')]);
    await putRawEvents(t, 'web', hour, 'd-after', [track('pn-d')]);

    const statuses: string[] = [];
    for (let run = 0; run < 20; run++) {
      const d = await runExecution(t, t.cloud.endpoints.stateMachines.load, { source: 'web' });
      const status = d.status === 'SUCCEEDED' ? String(JSON.parse(d.output as string).status) : String(d.status);
      statuses.push(status);
      if (status === 'EMPTY') break;
    }
    process.stdout.write(`\npoison object: loads ${statuses.join(', ')}\n`);
    expect(statuses.at(-1)).toBe('EMPTY');
    expect(statuses.filter((s) => s === 'FAILED').length).toBeGreaterThanOrEqual(SET_ASIDE_AFTER);
    const setAside = JSON.parse(t.cloud.store.get(t.cloud.endpoints.buckets.staged, layout.setAside('web')).body.toString('utf8')) as SetAsideObject[];
    expect(setAside).toEqual([
      {
        key: poisonKey,
        hour: expect.any(String),
        error: expect.stringMatching(/incorrect header check|not in gzip format/),
        failures: SET_ASIDE_AFTER,
        at: expect.any(String),
      },
    ]);
    expect(await sql(t, "SELECT id FROM web.tracks WHERE id LIKE 'pn-%' ORDER BY id")).toEqual([['pn-a'], ['pn-c'], ['pn-d']]);
    // `status` names it, with its error and the command that reloads its hour; it is not counted as waiting.
    const status = await cli(['status', '--data-dir', t.dataDir, '--source', 'web']);
    expect(status.stdout).toContain(`web: ${poisonKey} set aside`);
    expect(status.stdout).toContain('npx clickstream backfill --windows \'[{"source":"web"');
    const json = JSON.parse((await cli(['status', '--data-dir', t.dataDir, '--source', 'web', '--json'])).stdout);
    expect(json.sources[0]).toMatchObject({ pendingObjects: 0, setAside: [{ key: poisonKey }] });
    // Not in the ledger: a reload of its hour still takes it (after the cause is fixed).
    expect(await sql(t, `SELECT COUNT(*) FROM web._loads WHERE object_key = '${poisonKey}'`)).toEqual([[0]]);
  }, 180_000);
});

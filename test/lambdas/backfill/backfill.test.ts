import { startTestCloud, type TestCloud } from '../../support/localCloud';
import { putRawEvents, runExecution, runLoad, sql, tableChecksum } from '../../support/pipeline';

const DAYS = 7;
const START = Date.parse('2026-10-01T00:00:00Z');

/** The most executions that ran at the same time, from their start and stop records. */
function peakConcurrency(records: Array<{ startDate: Date; stopDate?: Date }>): number {
  const points = records.flatMap((r) => [
    { t: r.startDate.getTime(), d: 1 },
    { t: (r.stopDate ?? new Date()).getTime(), d: -1 },
  ]);
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let peak = 0;
  for (const p of points) peak = Math.max(peak, (now += p.d));
  return peak;
}

describe('Backfill workflow over 7 days × 24 hourly windows', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    for (let h = 0; h < DAYS * 24; h++) {
      const hour = new Date(START + h * 3_600_000).toISOString();
      await putRawEvents(t, 'app', hour, 'part-0', [
        { type: 'track', event: 'Hourly Tick', userId: `u${h % 5}`, messageId: `tick-${h}`, properties: { h } },
        { type: 'identify', userId: `u${h % 5}`, messageId: `id-${h}`, traits: { last_hour: h } },
      ]);
    }
  }, 120_000);
  afterAll(() => t.stop());

  it('reloads with at most maxConcurrency loads at once and ends identical to what the scheduled loads produced', async () => {
    // What scheduled loads produce: everything pending, in bounded loads.
    for (let more = true; more; ) more = Boolean((await runLoad(t, { source: 'app' })).more);
    const tables = ['tracks', 'hourly_tick', 'identifies', 'users'];
    const scheduled = await Promise.all(tables.map((tb) => tableChecksum(t, tb, ['uuid_ts'], 'app')));

    const d = await runExecution(t, t.cloud.endpoints.stateMachines.backfill, {
      source: 'app', from: new Date(START).toISOString(), to: new Date(START + DAYS * 86_400_000).toISOString(), mode: 'reload', maxConcurrency: 3,
    }, 600_000);
    expect({ status: d.status, error: d.error }).toEqual({ status: 'SUCCEEDED', error: undefined });
    const summary = JSON.parse(d.output as string);
    expect(summary.totals).toMatchObject({ windows: DAYS * 24, succeeded: DAYS * 24, failed: 0, events: DAYS * 24 * 2 });

    const children = t.cloud.stepFunctions.allExecutions().filter((e) => e.parentArn === d.executionArn);
    expect(children).toHaveLength(DAYS * 24);
    expect(peakConcurrency(children)).toBeLessThanOrEqual(3);
    expect(peakConcurrency(children)).toBeGreaterThan(1); // it did fan out
    const after = await Promise.all(tables.map((tb) => tableChecksum(t, tb, ['uuid_ts'], 'app')));
    expect(after).toEqual(scheduled);
  }, 600_000);

  it('a test run (dryRun) reports the counts of the real run and changes nothing', async () => {
    const range = { source: 'app', from: new Date(START).toISOString(), to: new Date(START + 6 * 3_600_000).toISOString(), maxConcurrency: 2 };
    const before = await Promise.all(['tracks', '_loads', '_load_tables'].map((tb) => tableChecksum(t, tb, ['uuid_ts', 'loaded_at'], 'app')));
    const dry = await runExecution(t, t.cloud.endpoints.stateMachines.backfill, { ...range, dryRun: true });
    expect(dry.status).toBe('SUCCEEDED');
    const after = await Promise.all(['tracks', '_loads', '_load_tables'].map((tb) => tableChecksum(t, tb, ['uuid_ts', 'loaded_at'], 'app')));
    expect(after).toEqual(before);
    const real = await runExecution(t, t.cloud.endpoints.stateMachines.backfill, range);
    const [dryTotals, realTotals] = [JSON.parse(dry.output as string).totals, JSON.parse(real.output as string).totals];
    for (const k of ['windows', 'succeeded', 'objects', 'events', 'rowsLoaded', 'rowsDiscarded']) expect({ [k]: dryTotals[k] }).toEqual({ [k]: realTotals[k] });
    expect(JSON.parse(dry.output as string).dryRun).toBe(true);
    expect(await sql(t, "SELECT COUNT(*) FROM app.tracks WHERE id LIKE 'tick-%'")).toEqual([[DAYS * 24]]);
  }, 300_000);
});

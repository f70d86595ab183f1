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
    for (let more = true; more;) more = Boolean((await runLoad(t, { source: 'app' })).more);
    const tables = ['tracks', 'hourly_tick', 'identifies', 'users'];
    const scheduled = await Promise.all(tables.map((tb) => tableChecksum(t, tb, ['uuid_ts'], 'app')));

    const d = await runExecution(
      t,
      t.cloud.endpoints.stateMachines.backfill,
      {
        source: 'app',
        from: new Date(START).toISOString(),
        to: new Date(START + DAYS * 86_400_000).toISOString(),
        mode: 'reload',
        maxConcurrency: 3,
      },
      600_000,
    );
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

describe('Backfill with a failing window', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    for (let h = 0; h < 4; h++) {
      await putRawEvents(t, 'app', new Date(START + h * 3_600_000).toISOString(), 'part-0', [
        { type: 'track', event: 'Fragile', userId: 'u', messageId: `fragile-${h}` },
      ]);
    }
  });
  afterAll(() => t.stop());

  it('reports the failed window with its cause and an input that re-runs only it; that re-run fixes it', async () => {
    // S3 throttles every read of one hour's raw object, beyond all retries.
    t.cloud.edge.services.s3.faults.getSlowDown = { pattern: /^app\/2026\/10\/01\/02\//, times: 10_000 };
    const input = {
      source: 'app',
      from: new Date(START).toISOString(),
      to: new Date(START + 4 * 3_600_000).toISOString(),
      maxConcurrency: 2,
      toleratedFailurePercentage: 50,
    };
    const d = await runExecution(t, t.cloud.endpoints.stateMachines.backfill, input, 300_000);
    t.cloud.edge.services.s3.faults.getSlowDown = undefined;
    expect(d.status).toBe('SUCCEEDED');
    const summary = JSON.parse(d.output as string);
    expect(summary).toMatchObject({ status: 'PARTIAL', totals: { windows: 4, succeeded: 3, failed: 1 } });
    const failed = summary.windows.filter((w: { status: string }) => w.status === 'FAILED');
    expect(failed).toEqual([
      expect.objectContaining({ from: '2026-10-01T02:00:00.000Z', error: 'States.TaskFailed', cause: expect.stringContaining('TransformChunks failed') }),
    ]);
    expect(summary.rerunInput).toEqual({
      windows: [{ source: 'app', from: '2026-10-01T02:00:00.000Z', to: '2026-10-01T03:00:00.000Z' }],
      mode: 'reload',
      dryRun: false,
      maxConcurrency: 2,
    });
    expect(await sql(t, 'SELECT id FROM app.fragile ORDER BY id')).toEqual([['fragile-0'], ['fragile-1'], ['fragile-3']]);

    const rerun = await runExecution(t, t.cloud.endpoints.stateMachines.backfill, summary.rerunInput, 300_000);
    expect(JSON.parse(rerun.output as string)).toMatchObject({ status: 'SUCCEEDED', totals: { windows: 1, succeeded: 1 } });
    expect(await sql(t, 'SELECT id FROM app.fragile ORDER BY id')).toEqual([['fragile-0'], ['fragile-1'], ['fragile-2'], ['fragile-3']]);
  }, 300_000);
});

describe('Backfill beside scheduled loads of the same source', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    for (let h = 0; h < 24; h++) {
      await putRawEvents(t, 'app', new Date(START + h * 3_600_000).toISOString(), 'part-0', [
        { type: 'track', event: 'Busy', userId: 'u', messageId: `busy-${h}` },
        { type: 'track', event: 'Busy', userId: 'u', messageId: `busy-${h}` }, // a client retry
        { type: 'identify', userId: `u${h % 3}`, messageId: `busy-id-${h}`, traits: { h } },
      ]);
    }
  });
  afterAll(() => t.stop());

  it('loses nothing and duplicates nothing, with no lock between them', async () => {
    const backfill = runExecution(
      t,
      t.cloud.endpoints.stateMachines.backfill,
      { source: 'app', from: new Date(START).toISOString(), to: new Date(START + 86_400_000).toISOString(), maxConcurrency: 3 },
      300_000,
    );
    const scheduled = (async () => {
      for (let i = 0; i < 4; i++) await runLoad(t, { source: 'app' });
    })();
    const [d] = await Promise.all([backfill, scheduled]);
    expect(JSON.parse(d.output as string)).toMatchObject({ status: 'SUCCEEDED', totals: { windows: 24, failed: 0 } });
    expect(await sql(t, 'SELECT COUNT(*), COUNT(DISTINCT id) FROM app.busy')).toEqual([[24, 24]]);
    expect(await sql(t, 'SELECT COUNT(*), COUNT(DISTINCT id) FROM app.tracks')).toEqual([[24, 24]]);
    expect(await sql(t, 'SELECT COUNT(*), COUNT(DISTINCT id) FROM app.identifies')).toEqual([[24, 24]]);
    expect(await sql(t, 'SELECT id, h FROM app.users ORDER BY id')).toEqual([
      ['u0', 21],
      ['u1', 22],
      ['u2', 23],
    ]);
  }, 300_000);
});

describe('Backfill in "missing" mode', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    for (let h = 0; h < 6; h++) {
      await putRawEvents(t, 'app', new Date(START + h * 3_600_000).toISOString(), 'part-0', [
        { type: 'track', event: 'Kept', userId: 'u', messageId: `kept-${h}-a`, properties: { h } },
        { type: 'track', event: 'Kept', userId: 'u', messageId: `kept-${h}-b`, properties: { h } },
        { type: 'page', anonymousId: 'a', name: 'Home', messageId: `page-${h}` },
      ]);
    }
    for (let more = true; more;) more = Boolean((await runLoad(t, { source: 'app' })).more);
  }, 120_000);
  afterAll(() => t.stop());

  it('re-runs only the windows whose rows were deleted, and restores them exactly', async () => {
    const tables = ['tracks', 'kept', 'pages'];
    const before = await Promise.all(tables.map((tb) => tableChecksum(t, tb, ['uuid_ts'], 'app')));
    await sql(t, "DELETE FROM app.tracks WHERE received_at >= '2026-10-01 03:00:00' AND received_at < '2026-10-01 04:00:00'");
    await sql(t, "DELETE FROM app.pages WHERE id = 'page-4'");
    const range = { source: 'app', from: new Date(START).toISOString(), to: new Date(START + 6 * 3_600_000).toISOString(), mode: 'missing' };
    const d = await runExecution(t, t.cloud.endpoints.stateMachines.backfill, range, 300_000);
    const summary = JSON.parse(d.output as string);
    expect(summary.windows.map((w: { from: string }) => w.from)).toEqual(['2026-10-01T03:00:00.000Z', '2026-10-01T04:00:00.000Z']);
    expect(await Promise.all(tables.map((tb) => tableChecksum(t, tb, ['uuid_ts'], 'app')))).toEqual(before);
    const again = await runExecution(t, t.cloud.endpoints.stateMachines.backfill, range, 300_000);
    expect(JSON.parse(again.output as string)).toMatchObject({ status: 'EMPTY', totals: { windows: 0 } });
  }, 300_000);
});

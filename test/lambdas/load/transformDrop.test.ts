import { startTestCloud, type TestCloud } from '../../support/localCloud';
import { putRawEvents, runLoad } from '../../support/pipeline';
import { cli } from '../../support/cli';

// A planted defect: the transform silently drops one message — no row, no discard. The loads
// succeed; only verification can tell.
jest.mock('../../../lambdas/core/transform', () => {
  const real = jest.requireActual('../../../lambdas/core/transform');
  return {
    ...real,
    mapEvent: (event: unknown, at: unknown) =>
      event && typeof event === 'object' && (event as { messageId?: string }).messageId === 'planted-drop'
        ? { rows: [], discards: [], discarded: false }
        : real.mapEvent(event, at),
  };
});

/**
 * Rule: default `verify` (no raw object re-read) finds an event the transform lost: every event of a
 * loaded object is either in a call table or discarded as a whole, by the transform's own count in
 * the `_loads` ledger (`staged_events`). Before that count, such an event read as a duplicate.
 */
describe('verify finds an event the transform dropped', () => {
  let t: TestCloud;
  const HOURS = ['2026-10-01T03:00:00.000Z', '2026-10-01T04:00:00.000Z'];
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
  });
  afterAll(() => t.stop());

  it('names the hour with the dropped event, and only that hour', async () => {
    const track = (messageId: string) => ({ type: 'track', event: 'Drop Check', userId: 'u', messageId });
    await putRawEvents(t, 'web', HOURS[0], 'part-0', [track('kept-1'), track('planted-drop'), track('kept-2'), track('kept-2')]);
    await putRawEvents(t, 'web', HOURS[1], 'part-0', [track('kept-3'), track('kept-4')]);
    const out = await runLoad(t);
    expect(out.status).toBe('SUCCEEDED');
    const res = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', '--from', '2026-10-01T03:00Z', '--to', '2026-10-01T05:00Z', '--json']);
    expect(res.code).toBe(3);
    const report = JSON.parse(res.stdout) as { hours: Array<{ hour: string; ok: boolean; duplicates: number; problems: string[] }> };
    expect(report.hours.map((h) => [h.hour, h.ok, h.problems])).toEqual([
      [
        HOURS[0],
        false,
        ['the transform neither loaded nor discarded 1 of the 4 events of the loaded objects (reload the hour; if it repeats, it is a bug: report it)'],
      ],
      [HOURS[1], true, []],
    ]);
  }, 120_000);
});

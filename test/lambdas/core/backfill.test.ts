import { type BackfillSummary, checkBackfillRequest, compactBackfillSummary, hoursBetween, summarize, windowsPerBatch } from '../../../lambdas/core/backfill';

const limits = { sources: ['web', 'app'], maxBackfillDays: 400, ceiling: 8, defaultConcurrency: 4, archiveBuckets: ['acme-segment-logs'] };
const range = { from: '2026-10-01T00:00Z', to: '2026-10-03T00:00Z' };

describe('backfill requests', () => {
  it('takes sources, a range and a mode; says what to change otherwise', () => {
    expect(checkBackfillRequest({ source: '*', ...range }, limits)).toMatchObject({ sources: ['web', 'app'], maxConcurrency: 4 });
    expect(() => checkBackfillRequest({ source: 'web', ...range, maxConcurrency: 9 }, limits)).toThrow(/over the ceiling of 8/);
    expect(() => checkBackfillRequest({ source: 'shop', ...range }, limits)).toThrow(/Unknown source "shop"/);
    expect(() => checkBackfillRequest({ source: 'web', from: range.to, to: range.from }, limits)).toThrow(/must be before/);
    expect(() => checkBackfillRequest({ source: 'web', from: '2025-01-01T00:00Z', to: '2026-10-01T00:00Z' }, limits)).toThrow(/at most 400 days/);
  });

  it('mode "import": one source, an archive bucket the environment may read, the prefix ending in /', () => {
    expect(
      checkBackfillRequest({ source: 'web', mode: 'import', archive: { bucket: 'acme-segment-logs', prefix: 'segment-logs/abc' }, ...range }, limits).archive,
    ).toEqual({ bucket: 'acme-segment-logs', prefix: 'segment-logs/abc/' });
    expect(checkBackfillRequest({ source: 'web', mode: 'import', archive: { bucket: 'acme-segment-logs' }, ...range }, limits).archive).toEqual({
      bucket: 'acme-segment-logs',
      prefix: '',
    });
    expect(() => checkBackfillRequest({ source: 'web', mode: 'import', ...range }, limits)).toThrow(/mode "import" reads a Segment archive/);
    expect(() => checkBackfillRequest({ source: '*', mode: 'import', archive: { bucket: 'acme-segment-logs' }, ...range }, limits)).toThrow(
      /name one source, not 2/,
    );
    expect(() => checkBackfillRequest({ source: 'web', mode: 'import', archive: { bucket: 'other' }, ...range }, limits)).toThrow(
      /"other" is not one this environment may read \(acme-segment-logs\): add "arn:aws:s3:::other"/,
    );
    expect(() => checkBackfillRequest({ source: 'web', mode: 'import', archive: { bucket: 'x1y' }, ...range }, { ...limits, archiveBuckets: [] })).toThrow(
      /may read no archive bucket/,
    );
    expect(() => checkBackfillRequest({ source: 'web', mode: 'import', archive: { bucket: 'arn:aws:s3:::acme' }, ...range }, limits)).toThrow(
      /an S3 bucket name \(not an ARN/,
    );
    expect(() => checkBackfillRequest({ source: 'web', mode: 'reload', archive: { bucket: 'acme-segment-logs' }, ...range }, limits)).toThrow(
      /"archive" belongs to mode "import"/,
    );
    expect(() => checkBackfillRequest({ mode: 'import', archive: { bucket: 'acme-segment-logs' }, windows: [{ source: 'web', ...range }] }, limits)).toThrow(
      /not "windows"/,
    );
  });

  it('windows: whole hours; batches of windows grow only past 5,000', () => {
    expect(hoursBetween(new Date('2026-10-01T00:30Z'), new Date('2026-10-01T02:00Z')).map((d) => d.toISOString())).toEqual([
      '2026-10-01T00:00:00.000Z',
      '2026-10-01T01:00:00.000Z',
    ]);
    expect([windowsPerBatch(1), windowsPerBatch(5000), windowsPerBatch(5001), windowsPerBatch(10_000_000)]).toEqual([1, 1, 2, 100]);
  });
});

describe('backfill summaries', () => {
  const window = (i: number) => ({
    source: 'web',
    from: new Date(Date.UTC(2026, 9, 1, i)).toISOString(),
    to: new Date(Date.UTC(2026, 9, 1, i + 1)).toISOString(),
  });
  const base = { backfillId: 'b1', dryRun: false, mode: 'reload', toleratedFailurePercentage: 10, maxConcurrency: 4, durationMs: 1 };

  it('an import dry run with messages succeeds with what it would do; an empty archive is EMPTY', () => {
    const imported = {
      archive: 's3://a/p/',
      dryRun: true,
      days: [],
      objects: 2,
      skipped: 0,
      messages: 5,
      invalid: 1,
      invalidReasons: {},
      suppressed: 0,
      rawObjectsWritten: 0,
      hours: 3,
    };
    expect(summarize({ ...base, dryRun: true, mode: 'import', planned: [], results: [], imported })).toMatchObject({
      status: 'SUCCEEDED',
      message: expect.stringMatching(/^Dry run: would import 5 messages \(1 invalid lines to quarantine\) into 3 hourly windows/),
      import: imported,
    });
    expect(summarize({ ...base, mode: 'import', planned: [], results: [], imported: { ...imported, dryRun: false, messages: 0, invalid: 0 } })).toMatchObject({
      status: 'EMPTY',
      message: 'The archive s3://a/p/ has no messages in the range (2 objects read).',
    });
  });

  it('the state carries at most 200 windows, failed ones first, and import previews within a byte budget', () => {
    const planned = Array.from({ length: 300 }, (_, i) => window(i));
    const results = planned.map((w, i) => ({ window: w, status: (i === 250 ? 'FAILED' : 'SUCCEEDED') as 'FAILED' | 'SUCCEEDED', cause: 'x' }));
    const preview = planned.map((w) => ({
      ...w,
      events: 1,
      discardedEvents: 0,
      rows: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`table_${i}`, 1])),
      valuesDiscarded: 0,
      discards: {},
      schemaChanges: Array.from({ length: 10 }, (_, i) => `add column t.column_with_a_long_name_${i} VARCHAR(65535)`),
    }));
    const imported = {
      archive: 's3://a/p/',
      dryRun: false,
      days: [],
      objects: 1,
      skipped: 0,
      messages: 300,
      invalid: 0,
      invalidReasons: {},
      suppressed: 0,
      rawObjectsWritten: 300,
      hours: 300,
      windows: preview,
    };
    const full: BackfillSummary = summarize({ ...base, planned, results, imported });
    const compact = compactBackfillSummary(full);
    expect(compact.windows).toEqual([expect.objectContaining({ from: window(250).from, status: 'FAILED' })]);
    expect(compact.omitted?.windows).toBe(299);
    expect(compact.import?.windows?.length).toBeLessThan(200);
    expect(Buffer.byteLength(JSON.stringify(compact))).toBeLessThanOrEqual(160 * 1024);
    expect((compact.import?.windows?.length ?? 0) + (compact.omitted?.importWindows ?? 0)).toBe(300);
    const small = summarize({ ...base, planned: planned.slice(0, 3), results: results.slice(0, 3) });
    expect(compactBackfillSummary(small)).toBe(small);
  });
});

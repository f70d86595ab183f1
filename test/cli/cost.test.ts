import { measureProfile } from '../../bench/costProfile';
import { costInput, loadProfile } from '../../cli/cost';
import { collectorAt, estimateCost, loadCounts, type CostInput } from '../../cli/costModel';
import { PRICES } from '../../cli/prices';
import { checksFor } from '../../lambdas/core/polling';
import { cli } from '../support/cli';
import { startTestCloud, type TestCloud } from '../support/localCloud';

const base: CostInput = {
  eventsPerDay: 100_000_000,
  eventsPerRequest: 10,
  sources: 1,
  loadIntervalSeconds: 300,
  endpoint: 'function-url',
  firehoseBufferSeconds: 60,
  firehoseBufferMiB: 64,
  rawRetentionDays: 400,
  stagedRetentionDays: 7,
  warehouseRpu: 8,
  collectorTracing: false,
};

describe('the cost profile is measured in an instrumented local run', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
  });
  afterAll(() => t.stop());

  it('counts collector invocations, Firehose records, and per load: transitions, invocations, S3 requests, Data API calls, table loads', async () => {
    const before = t.cloud.firehose.counters.putCalls;
    const p = await measureProfile(t.cloud, { eventsPerRequest: [1, 10], eventsPerSample: 200, loadSizes: [300, 1500] });
    // 200 requests of 1 event and 20 of 10: one collector invocation and one Firehose call each.
    expect(p.collector.samples.map((s) => [s.eventsPerRequest, s.requests, s.firehoseRecordsPerRequest, s.firehoseCallsPerRequest])).toEqual([
      [1, 200, 1, 1],
      [10, 20, 1, 1],
    ]);
    expect(t.cloud.firehose.counters.putCalls - before).toBeGreaterThanOrEqual(220);
    expect(p.collector.samples[1].firehoseRecordBytesPerRequest).toBeGreaterThan(9 * p.collector.samples[0].firehoseRecordBytesPerRequest);
    expect(p.collector.memoryMb).toBe(1024);
    for (const { counts } of p.load.measured) {
      // Every call-type and event table is one warehouse transaction; the workflow's states are counted without the statement checks.
      expect(counts.tableLoads).toBeGreaterThanOrEqual(10);
      expect(counts.transitions).toBeGreaterThan(2 * counts.tableLoads);
      expect(counts.lambdaInvocations).toBeGreaterThan(counts.tableLoads);
      expect(counts.dataApiCalls).toBeGreaterThan(counts.tableLoads);
      expect(counts.s3Tier1).toBeGreaterThan(counts.tableLoads);
      expect(counts.s3Tier2).toBeGreaterThan(0);
    }
    expect(p.emptyLoad).toMatchObject({ transitions: 3, lambdaInvocations: 1, tableLoads: 0 });
    expect(p.load.perEvent.lambdaGbSeconds).toBeGreaterThan(0);
    expect(p.rawGzBytesPerEvent).toBeGreaterThan(10);
    expect(p.rawGzBytesPerEvent).toBeLessThan(p.eventBytes);
  }, 180_000);
});

describe('the cost model', () => {
  const profile = loadProfile();

  it('bills each Firehose record in 5 KB steps: one ~740-byte event per request pays for 5 KB', () => {
    const one = estimateCost(profile, { ...base, eventsPerRequest: 1 }).breakdown.find((l) => l.component === 'Firehose ingestion');
    const expected = (PRICES.firehose.perGbIngested * 5120 * 1e6) / 1024 ** 3;
    expect(one?.usdPerMillionEvents).toBeCloseTo(expected, 6);
  });

  it('adds $1 per million requests for the HTTP API and nothing for the function URL', () => {
    const url = estimateCost(profile, base);
    const api = estimateCost(profile, { ...base, endpoint: 'http-api' });
    expect(api.usdPerMillionEvents - url.usdPerMillionEvents).toBeCloseTo(PRICES.apiGatewayHttpApi.perMillionRequests / 10, 6);
    expect(url.breakdown.some((l) => l.component.startsWith('API Gateway'))).toBe(false);
  });

  it("adds the statement checks of the workflow's backoff per table, not the local 100 ms polls", () => {
    // waits 1, 2, 3, 5, 8, 12, 18, 27 s…
    expect([0.5, 1, 2, 3.5, 10, 60].map(checksFor)).toEqual([1, 1, 2, 3, 4, 8]);
    const load = loadCounts(profile, 100_000);
    const tables = Math.round(profile.load.fixed.tableLoads + profile.load.perEvent.tableLoads * 100_000);
    expect(load.checks).toBeGreaterThanOrEqual(tables);
    expect(loadCounts(profile, 0)).toMatchObject({ transitions: profile.emptyLoad.transitions, checks: 0 });
  });

  it('assumes the Firehose buffer the stack sets: 60 s, at most a quarter of the load interval', () => {
    expect(costInput({ eventsPerDay: '1000', loadInterval: '60' }).firehoseBufferSeconds).toBe(15);
    expect(costInput({ eventsPerDay: '1000' }).firehoseBufferSeconds).toBe(60);
    expect(costInput({ eventsPerDay: '1000', loadInterval: '60', firehoseBuffer: '5' }).firehoseBufferSeconds).toBe(5);
  });

  it('interpolates the collector between measured request sizes', () => {
    const [a, b] = profile.collector.samples;
    const mid = collectorAt(profile.collector.samples, (a.eventsPerRequest + b.eventsPerRequest) / 2);
    expect(mid.msPerRequest).toBeCloseTo((a.msPerRequest + b.msPerRequest) / 2, 6);
  });
});

describe('npx clickstream cost', () => {
  it('prints usdPerMillionEvents with the breakdown, every assumption and the endpoint/batching variants (JSON)', async () => {
    const res = await cli(['cost', '--events-per-day', '100000000', '--events-per-request', '10', '--json']);
    expect(res.code).toBe(0);
    const e = JSON.parse(res.stdout);
    expect(e.usdPerMillionEvents).toBeCloseTo(estimateCost(loadProfile(), base).usdPerMillionEvents, 9);
    expect(e.breakdown.map((l: { component: string }) => l.component)).toEqual(
      expect.arrayContaining([
        'Lambda: collector requests',
        'Firehose ingestion',
        'Step Functions transitions',
        'S3 requests',
        'S3 storage: raw events',
        'Redshift Data API',
      ]),
    );
    expect(e.assumptions).toMatchObject({
      eventsPerDay: 100_000_000,
      eventsPerRequest: 10,
      collectorEndpoint: 'function-url',
      pricesAsOf: PRICES.asOf,
      rawRetentionDays: 400,
    });
    expect(e.variants.map((v: { endpoint: string; eventsPerRequest: number }) => `${v.endpoint}@${v.eventsPerRequest}`)).toEqual([
      'function-url@1',
      'function-url@10',
      'http-api@1',
      'http-api@10',
    ]);
    expect(e.warehouse.component).toBe('Redshift Serverless (loads only)');
  }, 60_000);

  it('prints a table, and explains bad input with exit 2', async () => {
    const res = await cli(['cost', '--events-per-day', '5000000']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/total outside the warehouse\s+\$[\d.,]+\s+\$[\d.]+/);
    const bad = await cli(['cost', '--events-per-day', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--events-per-day must be a number above 0, not "lots"');
  }, 60_000);
});

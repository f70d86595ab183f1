import { checksFor } from '../lambdas/core/polling';
import { PRICES } from './prices';

/**
 * The cost model: AWS spend per million events, by component, from counts measured in local runs
 * (`npm run bench -- cost` writes them to `cli/cost-profile.json`) and the list prices of
 * `prices.ts`. Pure: the same inputs give the same estimate.
 */

/** What one unit of work costs in counted resources, as measured locally. */
export interface Counts {
  readonly transitions: number;
  readonly lambdaInvocations: number;
  readonly lambdaGbSeconds: number;
  readonly s3Tier1: number;
  readonly s3Tier2: number;
  readonly dataApiCalls: number;
  readonly warehouseSeconds: number;
  /** Table loads (warehouse transactions) of the load. */
  readonly tableLoads: number;
}

export interface CollectorSample {
  readonly eventsPerRequest: number;
  readonly requests: number;
  readonly msPerRequest: number;
  readonly requestBytes: number;
  readonly firehoseRecordsPerRequest: number;
  readonly firehoseRecordBytesPerRequest: number;
  readonly firehoseCallsPerRequest: number;
}

export interface CostProfile {
  readonly measuredAt: string;
  readonly how: string;
  /** Stored (enriched) bytes per event of the measured traffic, and their gzip size in raw objects. */
  readonly eventBytes: number;
  readonly rawGzBytesPerEvent: number;
  readonly stagedGzBytesPerEvent: number;
  readonly collector: { readonly memoryMb: number; readonly samples: ReadonlyArray<CollectorSample> };
  /**
   * A load: fixed counts plus counts per event (a straight line through two measured loads),
   * without the statement checks: local Wait states take 100 ms, so local checks say nothing of
   * AWS. The model adds the checks the workflow's backoff makes for each table's transaction.
   */
  readonly load: { readonly fixed: Counts; readonly perEvent: Counts; readonly measured: ReadonlyArray<{ events: number; counts: Counts }> };
  /** A scheduled load that finds nothing pending. */
  readonly emptyLoad: Counts;
  /** One statement check: CheckStatement's GB-seconds (3 transitions, 1 invocation, 1 Data API call each). */
  readonly checkGbSeconds: number;
}

export interface CostInput {
  readonly eventsPerDay: number;
  /** Events per collector request: 1 for analytics.js without batching, ~10+ with its batching mode or server libraries. */
  readonly eventsPerRequest: number;
  /** Average event size as the collector stores it (enriched JSON). @default the measured traffic's */
  readonly avgBytes?: number;
  readonly sources: number;
  readonly loadIntervalSeconds: number;
  readonly endpoint: 'function-url' | 'http-api';
  readonly firehoseBufferSeconds: number;
  readonly firehoseBufferMiB: number;
  readonly rawRetentionDays: number;
  readonly stagedRetentionDays: number;
  /** Redshift Serverless base capacity in RPUs. */
  readonly warehouseRpu: number;
  /** X-Ray tracing on the collector function (off by default: at this volume it costs more than the rest). */
  readonly collectorTracing: boolean;
}

export interface CostLine {
  readonly component: string;
  readonly usdPerDay: number;
  readonly usdPerMillionEvents: number;
  readonly basis: string;
}

export interface CostEstimate {
  readonly usdPerMillionEvents: number;
  readonly usdPerDay: number;
  readonly warehouse: CostLine;
  readonly breakdown: CostLine[];
  readonly assumptions: Record<string, string | number | boolean>;
}

/** Bytes the loader functions log per invocation at INFO (Powertools JSON lines + Lambda's platform lines). */
const LOADER_LOG_BYTES_PER_INVOCATION = 1_500;
/** X-Ray's default sampling: the first request each second, then 5 %. */
const XRAY_RESERVOIR_PER_SECOND = 1;
const XRAY_RATE = 0.05;

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });

/** The collector's figures at `r` events per request: the measured sample, or a straight line between the two nearest. */
export function collectorAt(samples: ReadonlyArray<CollectorSample>, r: number): CollectorSample {
  const sorted = [...samples].sort((a, b) => a.eventsPerRequest - b.eventsPerRequest);
  const exact = sorted.find((s) => s.eventsPerRequest === r);
  if (exact) return exact;
  const upper = sorted.find((s) => s.eventsPerRequest > r) ?? sorted[sorted.length - 1];
  const lower = [...sorted].reverse().find((s) => s.eventsPerRequest < r) ?? sorted[0];
  const t = upper === lower ? r / lower.eventsPerRequest : (r - lower.eventsPerRequest) / (upper.eventsPerRequest - lower.eventsPerRequest);
  const lerp = (k: keyof CollectorSample) => (upper === lower ? lower[k] * t : lower[k] + (upper[k] - lower[k]) * t);
  return {
    eventsPerRequest: r,
    requests: 0,
    msPerRequest: lerp('msPerRequest'),
    requestBytes: lerp('requestBytes'),
    firehoseRecordsPerRequest: Math.max(1, Math.ceil(lerp('firehoseRecordsPerRequest'))),
    firehoseRecordBytesPerRequest: lerp('firehoseRecordBytesPerRequest'),
    firehoseCallsPerRequest: Math.max(1, Math.ceil(lerp('firehoseCallsPerRequest'))),
  };
}

const add = (a: Counts, b: Counts, k = 1): Counts => ({
  transitions: a.transitions + b.transitions * k,
  lambdaInvocations: a.lambdaInvocations + b.lambdaInvocations * k,
  lambdaGbSeconds: a.lambdaGbSeconds + b.lambdaGbSeconds * k,
  s3Tier1: a.s3Tier1 + b.s3Tier1 * k,
  s3Tier2: a.s3Tier2 + b.s3Tier2 * k,
  dataApiCalls: a.dataApiCalls + b.dataApiCalls * k,
  warehouseSeconds: a.warehouseSeconds + b.warehouseSeconds * k,
  tableLoads: a.tableLoads + b.tableLoads * k,
});

const ZERO: Counts = { transitions: 0, lambdaInvocations: 0, lambdaGbSeconds: 0, s3Tier1: 0, s3Tier2: 0, dataApiCalls: 0, warehouseSeconds: 0, tableLoads: 0 };

/** A load of `events` events on AWS: the measured line plus the statement checks of its table loads. */
export function loadCounts(profile: CostProfile, events: number): Counts & { checks: number } {
  if (events < 1) return { ...profile.emptyLoad, checks: 0 };
  const base = add(profile.load.fixed, profile.load.perEvent, events);
  const tables = Math.max(1, Math.round(base.tableLoads));
  const checks = tables * checksFor(base.warehouseSeconds / tables);
  return {
    ...add(base, { ...ZERO, transitions: 3, lambdaInvocations: 1, lambdaGbSeconds: profile.checkGbSeconds, dataApiCalls: 1 }, checks),
    checks,
  };
}

export function estimateCost(profile: CostProfile, input: CostInput): CostEstimate {
  const N = input.eventsPerDay;
  const r = input.eventsPerRequest;
  const sizeFactor = (input.avgBytes ?? profile.eventBytes) / profile.eventBytes;
  const c = collectorAt(profile.collector.samples, r);
  const requests = N / r;
  const lines: CostLine[] = [];
  const line = (component: string, usdPerDay: number, basis: string) => lines.push({ component, usdPerDay, usdPerMillionEvents: (usdPerDay / N) * 1e6, basis });

  // Collector
  if (input.endpoint === 'http-api') {
    const metered = Math.max(1, Math.ceil((c.requestBytes * sizeFactor) / PRICES.apiGatewayHttpApi.meteredRequestBytes));
    line(
      'API Gateway HTTP API requests',
      (requests * metered * PRICES.apiGatewayHttpApi.perMillionRequests) / 1e6,
      `${fmt(requests)} requests/day × ${metered} metered`,
    );
  }
  const collectorGbS = requests * (c.msPerRequest / 1000) * (profile.collector.memoryMb / 1024);
  line('Lambda: collector requests', (requests * PRICES.lambda.perMillionRequests) / 1e6, `${fmt(requests)} invocations/day`);
  line(
    'Lambda: collector duration',
    collectorGbS * PRICES.lambda.perGbSecondArm,
    `${fmt(c.msPerRequest)} ms × ${profile.collector.memoryMb} MB per request (measured), ${fmt(collectorGbS)} GB-s/day`,
  );
  if (input.collectorTracing) {
    const traces = Math.min(requests, 86_400 * XRAY_RESERVOIR_PER_SECOND + Math.max(0, requests - 86_400 * XRAY_RESERVOIR_PER_SECOND) * XRAY_RATE);
    line('X-Ray: collector traces', (traces * PRICES.xray.perMillionTraces) / 1e6, `${fmt(traces)} sampled traces/day (1/s + 5 %)`);
  }

  // Firehose: each record rounded up to 5 KB.
  const recordBytes = (c.firehoseRecordBytesPerRequest * sizeFactor) / c.firehoseRecordsPerRequest;
  const billedPerRecord = Math.ceil(recordBytes / PRICES.firehose.recordRoundingBytes) * PRICES.firehose.recordRoundingBytes;
  const billedGb = (requests * c.firehoseRecordsPerRequest * billedPerRecord) / 1024 ** 3;
  line(
    'Firehose ingestion',
    billedGb * PRICES.firehose.perGbIngested,
    `${fmt(requests * c.firehoseRecordsPerRequest)} records/day of ${fmt(recordBytes)} B billed as ${fmt(billedPerRecord)} B: ${fmt(billedGb)} GB/day`,
  );

  // Raw objects Firehose writes: per source, one per buffer interval or buffer size.
  const rawBytesPerSource = (N * profile.rawGzBytesPerEvent * sizeFactor) / input.sources;
  const rawObjects = input.sources * Math.max(86_400 / Math.max(input.firehoseBufferSeconds, 1), rawBytesPerSource / (input.firehoseBufferMiB * 1024 ** 2));

  // Loads
  const loadsPerDay = input.sources * (86_400 / input.loadIntervalSeconds);
  const eventsPerLoad = N / loadsPerDay;
  const perLoad = loadCounts(profile, eventsPerLoad);
  const day = add(ZERO, perLoad, loadsPerDay);
  line(
    'Lambda: loader requests',
    (day.lambdaInvocations * PRICES.lambda.perMillionRequests) / 1e6,
    `${fmt(day.lambdaInvocations)} invocations/day (${fmt(loadsPerDay)} loads of ${fmt(eventsPerLoad)} events)`,
  );
  line('Lambda: loader duration', day.lambdaGbSeconds * PRICES.lambda.perGbSecondArm, `${fmt(day.lambdaGbSeconds)} GB-s/day (measured per load + per event)`);
  line(
    'Step Functions transitions',
    (day.transitions * PRICES.stepFunctions.perThousandTransitions) / 1000,
    `${fmt(day.transitions)} transitions/day (${fmt(perLoad.transitions)} per load, ${fmt(perLoad.checks)} statement checks)`,
  );
  line(
    'EventBridge Scheduler',
    ((loadsPerDay + input.sources) * PRICES.scheduler.perMillionInvocations) / 1e6,
    `${fmt(loadsPerDay + input.sources)} invocations/day (loads + daily verification)`,
  );
  line(
    'S3 requests',
    ((rawObjects + day.s3Tier1) * PRICES.s3.perThousandTier1) / 1000 + (day.s3Tier2 * PRICES.s3.perThousandTier2) / 1000,
    `${fmt(rawObjects)} Firehose PUTs + ${fmt(day.s3Tier1)} PUT/LIST + ${fmt(day.s3Tier2)} GET per day`,
  );
  const rawGb = (N * profile.rawGzBytesPerEvent * sizeFactor) / 1024 ** 3;
  const stagedGb = (N * profile.stagedGzBytesPerEvent * sizeFactor) / 1024 ** 3;
  // Steady state: each day's data is kept for its retention, so the stored volume is day × retention.
  line('S3 storage: raw events', (rawGb * input.rawRetentionDays * PRICES.s3.perGbMonth) / 30, `${fmt(rawGb)} GB/day kept ${input.rawRetentionDays} days`);
  line(
    'S3 storage: staged files',
    (stagedGb * input.stagedRetentionDays * PRICES.s3.perGbMonth) / 30,
    `${fmt(stagedGb)} GB/day kept ${input.stagedRetentionDays} days`,
  );
  line('Redshift Data API', day.dataApiCalls * PRICES.redshiftDataApi.perCall, `${fmt(day.dataApiCalls)} calls/day (no charge)`);
  line(
    'CloudWatch Logs',
    ((day.lambdaInvocations * LOADER_LOG_BYTES_PER_INVOCATION) / 1024 ** 3) * PRICES.cloudWatchLogs.perGbIngested,
    `${LOADER_LOG_BYTES_PER_INVOCATION} B per loader invocation; the collector logs at WARN (application and platform)`,
  );

  const warehouseSecondsPerLoad = Math.max(PRICES.redshiftServerless.minimumSeconds, perLoad.warehouseSeconds);
  const warehouseUsd = (loadsPerDay * warehouseSecondsPerLoad * input.warehouseRpu * PRICES.redshiftServerless.perRpuHour) / 3600;
  const warehouse: CostLine = {
    component: 'Redshift Serverless (loads only)',
    usdPerDay: warehouseUsd,
    usdPerMillionEvents: (warehouseUsd / N) * 1e6,
    basis: `${fmt(loadsPerDay)} loads × ${fmt(warehouseSecondsPerLoad)} s (60 s minimum) × ${input.warehouseRpu} RPU; queries by analysts not included`,
  };
  const usdPerDay = lines.reduce((n, l) => n + l.usdPerDay, 0);
  return {
    usdPerMillionEvents: (usdPerDay / N) * 1e6,
    usdPerDay,
    warehouse,
    breakdown: lines,
    assumptions: {
      pricesAsOf: PRICES.asOf,
      region: PRICES.region,
      profileMeasuredAt: profile.measuredAt,
      eventsPerDay: N,
      eventsPerRequest: r,
      avgEventBytes: Math.round(input.avgBytes ?? profile.eventBytes),
      sources: input.sources,
      loadIntervalSeconds: input.loadIntervalSeconds,
      collectorEndpoint: input.endpoint,
      collectorTracing: input.collectorTracing,
      firehoseBufferSeconds: input.firehoseBufferSeconds,
      firehoseBufferMiB: input.firehoseBufferMiB,
      rawRetentionDays: input.rawRetentionDays,
      stagedRetentionDays: input.stagedRetentionDays,
      warehouseRpu: input.warehouseRpu,
      lambdaDurations: 'measured in local mode on the development machine (x86-64, shared); Arm Lambda durations may differ',
      freeTiers: 'not deducted',
    },
  };
}

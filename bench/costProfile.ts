/**
 * Measures what the cost model counts, in an instrumented local run: the collector at several
 * events per request (Lambda duration, Firehose records and their bytes), and loads of two sizes
 * (state transitions, Lambda invocations and GB-seconds, S3 requests by price tier, Data API
 * calls, warehouse time), plus a load that finds nothing. `npm run bench -- cost` writes the
 * result to `cli/cost-profile.json`, which `npx clickstream cost` reads.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SFNClient } from '@aws-sdk/client-sfn';
import { runExecution } from '../lambdas/io/executions';
import { costInput } from '../cli/cost';
import { type CollectorSample, type CostProfile, type Counts, estimateCost } from '../cli/costModel';
import { generateEvents } from '../cli/traffic';
import { type LocalCloud, startLocalCloud } from '../local/LocalCloud';

export const PROFILE_FILE = path.join(__dirname, '..', 'cli', 'cost-profile.json');

interface Snapshot {
  readonly transitions: number;
  readonly lambda: Map<string, { invocations: number; gbSeconds: number; durationMs: number }>;
  readonly s3: { tier1: number; tier2: number };
  readonly dataApi: number;
  readonly firehose: { putCalls: number; records: number; recordBytes: number; objects: number };
  readonly warehouseMs: number;
}

function snapshot(cloud: LocalCloud): Snapshot {
  return {
    transitions: cloud.stepFunctions.counters.stateTransitions,
    lambda: new Map([...cloud.lambdas.counters].map(([k, v]) => [k, { ...v }])),
    s3: { ...cloud.s3.counters },
    dataApi: [...cloud.redshiftData.counters.values()].reduce((a, b) => a + b, 0),
    firehose: { ...cloud.firehose.counters },
    warehouseMs: cloud.warehouse.counters.busyMs,
  };
}

/** Invocations and GB-seconds between two snapshots of the functions `only` accepts. */
function lambdaDelta(a: Snapshot, b: Snapshot, only: (fn: string) => boolean): { invocations: number; gbSeconds: number } {
  let invocations = 0;
  let gbSeconds = 0;
  for (const [fn, after] of b.lambda) {
    if (!only(fn)) continue;
    const before = a.lambda.get(fn) ?? { invocations: 0, gbSeconds: 0 };
    invocations += after.invocations - before.invocations;
    gbSeconds += after.gbSeconds - before.gbSeconds;
  }
  return { invocations, gbSeconds };
}

/**
 * A load's counts between two snapshots, without its statement checks (each: Wait, CheckStatement
 * and Choice transitions, one invocation, one DescribeStatement), which the model adds for AWS.
 */
function loadDelta(
  a: Snapshot,
  b: Snapshot,
  fns: { loader: (fn: string) => boolean; submit: (fn: string) => boolean; check: (fn: string) => boolean },
): { counts: Counts; checks: number; checkGbSeconds: number } {
  const all = lambdaDelta(a, b, fns.loader);
  const check = lambdaDelta(a, b, fns.check);
  const checks = check.invocations;
  return {
    counts: {
      transitions: b.transitions - a.transitions - 3 * checks,
      lambdaInvocations: all.invocations - checks,
      lambdaGbSeconds: all.gbSeconds - check.gbSeconds,
      s3Tier1: b.s3.tier1 - a.s3.tier1,
      s3Tier2: b.s3.tier2 - a.s3.tier2,
      dataApiCalls: b.dataApi - a.dataApi - checks,
      warehouseSeconds: (b.warehouseMs - a.warehouseMs) / 1000,
      tableLoads: lambdaDelta(a, b, fns.submit).invocations,
    },
    checks,
    checkGbSeconds: check.gbSeconds,
  };
}

async function runLoad(cloud: LocalCloud, sfn: SFNClient): Promise<Record<string, unknown>> {
  const d = await runExecution(sfn, cloud.endpoints.stateMachines.load, { source: 'web' }, { maxIntervalMs: 50 });
  if (d.status !== 'SUCCEEDED') throw new Error(`load ${d.status}: ${d.error} ${d.cause}`);
  return JSON.parse(d.output ?? '{}');
}

export interface ProfileOptions {
  /** Events per request to measure the collector at. @default [1, 10, 100] */
  readonly eventsPerRequest?: ReadonlyArray<number>;
  /** Events sent per collector sample. @default 3000 */
  readonly eventsPerSample?: number;
  /** Events of the small and the large load. @default [2000, 20000] */
  readonly loadSizes?: readonly [number, number];
}

/** Measures a profile on a running local stack (its source `web`). */
export async function measureProfile(cloud: LocalCloud, options: ProfileOptions = {}): Promise<CostProfile> {
  const sizes = options.eventsPerRequest ?? [1, 10, 100];
  const perSample = options.eventsPerSample ?? 3000;
  const [small, large] = options.loadSizes ?? [2000, 20000];
  const key = cloud.endpoints.sources.find((s) => s.name === 'web')?.writeKeys[0] as string;
  const auth = `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
  const collectFn = cloud.lambdas.functionList.find((f) => f.module.endsWith(path.join('collect', 'handler.ts')));
  if (!collectFn) throw new Error('no collector function');
  const isCollector = (fn: string) => fn === collectFn.name;
  const sfn = new SFNClient({ endpoint: cloud.endpoints.edge, region: cloud.endpoints.region, credentials: { accessKeyId: 'p', secretAccessKey: 'p' } });
  let seed = 1;
  const post = async (body: string, route: string) => {
    const res = await fetch(`${cloud.endpoints.collector}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: auth },
      body,
    });
    if (res.status !== 200) throw new Error(`collector answered ${res.status}: ${await res.text()}`);
  };
  const send = async (events: number, r: number): Promise<number> => {
    let bytes = 0;
    let batch: Array<Record<string, unknown>> = [];
    const flush = async () => {
      const body = r === 1 ? JSON.stringify(batch[0]) : JSON.stringify({ batch });
      bytes += body.length;
      await post(body, r === 1 ? `/v1/${String(batch[0].type).slice(0, 1) === 'g' ? 'group' : String(batch[0].type)}` : '/v1/batch');
      batch = [];
    };
    for (const msg of generateEvents(events, { seed: seed++, duplicates: 0, idPrefix: `cost-${seed}` })) {
      batch.push(msg);
      if (batch.length === r) await flush();
    }
    if (batch.length) await flush();
    return bytes;
  };

  try {
    // The collector, per events-per-request.
    const samples: CollectorSample[] = [];
    let storedBytes = 0;
    let storedEvents = 0;
    for (const r of sizes) {
      const requests = Math.max(20, Math.floor(perSample / r));
      const before = snapshot(cloud);
      const requestBytes = await send(requests * r, r);
      const after = snapshot(cloud);
      const fn = { before: before.lambda.get(collectFn.name), after: after.lambda.get(collectFn.name) };
      const invocations = (fn.after?.invocations ?? 0) - (fn.before?.invocations ?? 0);
      if (invocations !== requests) throw new Error(`expected ${requests} collector invocations, counted ${invocations}`);
      const records = after.firehose.records - before.firehose.records;
      samples.push({
        eventsPerRequest: r,
        requests,
        msPerRequest: ((fn.after?.durationMs ?? 0) - (fn.before?.durationMs ?? 0)) / requests,
        requestBytes: requestBytes / requests,
        firehoseRecordsPerRequest: records / requests,
        firehoseRecordBytesPerRequest: (after.firehose.recordBytes - before.firehose.recordBytes) / requests,
        firehoseCallsPerRequest: (after.firehose.putCalls - before.firehose.putCalls) / requests,
      });
      storedBytes += after.firehose.recordBytes - before.firehose.recordBytes;
      storedEvents += requests * r;
    }
    cloud.firehose.flushAll();
    const raw = cloud.endpoints.buckets.raw;
    const rawGz = [...cloud.store.keys(raw, 'web/')].reduce((n, o) => n + o.size, 0);

    // Load everything sent so far (it is not measured), then loads of two sizes.
    await runLoad(cloud, sfn);
    const moduleOf = (dir: string) => cloud.lambdas.functionList.find((f) => f.module.endsWith(path.join(dir, 'handler.ts')))?.name;
    const fns = {
      loader: (fn: string) => !isCollector(fn),
      submit: (fn: string) => fn === moduleOf('submit-load'),
      check: (fn: string) => fn === moduleOf('check-statement'),
    };
    const measured: Array<{ events: number; counts: Counts }> = [];
    let checks = 0;
    let checkGbSeconds = 0;
    let stagedGzPerEvent = 0;
    for (const events of [small, large]) {
      await send(events, 100);
      cloud.firehose.flushAll();
      const stagedBefore = [...cloud.store.keys(cloud.endpoints.buckets.staged, 'loads/')].reduce((n, o) => n + o.size, 0);
      const before = snapshot(cloud);
      const out = await runLoad(cloud, sfn);
      const d = loadDelta(before, snapshot(cloud), fns);
      const counts = d.counts;
      checks += d.checks;
      checkGbSeconds += d.checkGbSeconds;
      if (out.events !== events) throw new Error(`the load took ${String(out.events)} events, expected ${events}`);
      measured.push({ events, counts });
      const stagedAfter = [...cloud.store.keys(cloud.endpoints.buckets.staged, 'loads/')].reduce((n, o) => n + o.size, 0);
      stagedGzPerEvent = (stagedAfter - stagedBefore) / events;
    }
    const before = snapshot(cloud);
    const empty = await runLoad(cloud, sfn);
    if (empty.status !== 'EMPTY') throw new Error('the last load should have found nothing');
    const emptyLoad = loadDelta(before, snapshot(cloud), fns).counts;

    const [a, b] = measured;
    const slope = (k: keyof Counts) => Math.max(0, (b.counts[k] - a.counts[k]) / (b.events - a.events));
    const perEvent = Object.fromEntries((Object.keys(a.counts) as Array<keyof Counts>).map((k) => [k, slope(k)])) as unknown as Counts;
    const fixed = Object.fromEntries(
      (Object.keys(a.counts) as Array<keyof Counts>).map((k) => [k, Math.max(0, a.counts[k] - perEvent[k] * a.events)]),
    ) as unknown as Counts;
    return {
      measuredAt: new Date().toISOString().slice(0, 10),
      how: `local mode: collector at ${sizes.join(', ')} events per request (${perSample} events each), loads of ${small} and ${large} events (straight line through them), one empty load`,
      eventBytes: storedBytes / storedEvents,
      rawGzBytesPerEvent: rawGz / storedEvents,
      stagedGzBytesPerEvent: stagedGzPerEvent,
      collector: { memoryMb: collectFn.memoryMb, samples },
      load: { fixed, perEvent, measured },
      emptyLoad,
      checkGbSeconds: checks ? checkGbSeconds / checks : 0,
    };
  } finally {
    sfn.destroy();
  }
}

/** `npm run bench -- cost`: measures on a fresh local stack and writes `cli/cost-profile.json`. */
export async function benchCostProfile(): Promise<Record<string, number | string>> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cost-'));
  const cloud = await startLocalCloud({ dataDir, edgePort: 0, collectorPort: 0, loadIntervalSeconds: 0, bufferIntervalSeconds: 3600, timeScale: 0.001 });
  try {
    const started = performance.now();
    const profile = await measureProfile(cloud);
    fs.writeFileSync(PROFILE_FILE, `${JSON.stringify(profile, null, 2)}\n`);
    const r = (n: number) => Number(n.toFixed(3));
    return {
      written: path.relative(process.cwd(), PROFILE_FILE),
      seconds: r((performance.now() - started) / 1000),
      eventBytes: r(profile.eventBytes),
      rawGzBytesPerEvent: r(profile.rawGzBytesPerEvent),
      ...Object.fromEntries(profile.collector.samples.map((s) => [`collectorMsPerRequest@${s.eventsPerRequest}`, r(s.msPerRequest)])),
      loadFixedTransitions: r(profile.load.fixed.transitions),
      loadFixedGbSeconds: r(profile.load.fixed.lambdaGbSeconds),
      loadGbSecondsPerMillionEvents: r(profile.load.perEvent.lambdaGbSeconds * 1e6),
      emptyLoadTransitions: r(profile.emptyLoad.transitions),
      // The figures docs/performance.md quotes: 100 M events/day, loads every 5 minutes.
      ...Object.fromEntries(
        (['function-url', 'http-api'] as const).flatMap((endpoint) =>
          [10, 1].map((perRequest) => [
            `usdPerMillion@100M/day,${perRequest}/request,${endpoint}`,
            r(estimateCost(profile, costInput({ eventsPerDay: '100000000', eventsPerRequest: String(perRequest), endpoint })).usdPerMillionEvents),
          ]),
        ),
      ),
    };
  } finally {
    await cloud.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

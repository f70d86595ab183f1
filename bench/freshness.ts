/**
 * Freshness: event sent → row queryable. Local mode runs the real schedule, Firehose buffer and
 * load workflow in real time, so each case takes a few load intervals:
 *
 *   BENCH_FRESHNESS="60:60,300:60" (load interval : Firehose buffer, seconds; the default)
 *   BENCH_FRESHNESS_CYCLES=2       (traffic lasts this many load intervals)
 *
 * Traffic: 20 track events a second through the collector (batches of 10). A poller asks the
 * warehouse every second for new rows through the Data API; an event's freshness is the time from
 * its request to the first poll that sees it. Beside it, the model of the same case on AWS:
 * Firehose buffer wait U(0, B) + wait for the next load U(0, L) + the load's duration (taken from
 * the local loads of the same run), as a percentile over many draws.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { rng } from '../cli/traffic';
import { Warehouse } from '../lambdas/io/warehouse';
import { startLocalCloud } from '../local/LocalCloud';

const RATE = 20;
const BATCH = 10;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** p-th percentile of U(0,b) + U(0,l) + load duration (drawn from the measured ones). */
export function modelledPercentile(p: number, bufferSeconds: number, intervalSeconds: number, loadSeconds: number[], draws = 200_000): number {
  const r = rng(1);
  const xs = new Float64Array(draws);
  for (let i = 0; i < draws; i++) xs[i] = r() * bufferSeconds + r() * intervalSeconds + loadSeconds[Math.floor(r() * loadSeconds.length)];
  xs.sort();
  return xs[Math.min(draws - 1, Math.ceil((p / 100) * draws) - 1)];
}

async function runCase(intervalSeconds: number, bufferSeconds: number, cycles: number): Promise<Record<string, number | string>> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-fresh-'));
  const cloud = await startLocalCloud({
    dataDir,
    edgePort: 0,
    collectorPort: 0,
    loadIntervalSeconds: intervalSeconds,
    bufferIntervalSeconds: bufferSeconds,
    timeScale: 0.01,
  });
  const data = new RedshiftDataClient({
    endpoint: cloud.endpoints.edge,
    region: cloud.endpoints.region,
    credentials: { accessKeyId: 'f', secretAccessKey: 'f' },
  });
  const warehouse = new Warehouse(data, { workgroup: cloud.endpoints.warehouse.workgroupName, database: cloud.endpoints.warehouse.database });
  const key = cloud.endpoints.sources.find((s) => s.name === 'web')?.writeKeys[0] as string;
  const sentAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  try {
    const started = Date.now();
    const sendUntil = started + cycles * intervalSeconds * 1000;
    let n = 0;
    let sending = true;
    const sender = (async () => {
      while (Date.now() < sendUntil) {
        const batch = Array.from({ length: BATCH }, () => ({ type: 'track', event: 'Fresh', userId: 'u', messageId: `fresh-${n++}`, properties: { n } }));
        const t = Date.now();
        const res = await fetch(`${cloud.endpoints.collector}/v1/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` },
          body: JSON.stringify({ batch }),
        });
        if (res.status !== 200) throw new Error(`collector answered ${res.status}`);
        for (const e of batch) sentAt.set(e.messageId, t);
        await new Promise((r) => setTimeout(r, Math.max(0, t + (1000 * BATCH) / RATE - Date.now())));
      }
      sending = false;
    })();
    let since = '1970-01-01 00:00:00';
    const deadline = sendUntil + (3 * intervalSeconds + bufferSeconds + 120) * 1000;
    while (Date.now() < deadline && (sending || seenAt.size < sentAt.size)) {
      await new Promise((r) => setTimeout(r, 1000));
      const exists = await warehouse.query(
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'web' AND table_name = 'tracks'",
        {},
        'tracks?',
      );
      if (Number(exists[0]?.n ?? 0) === 0) continue;
      const rows = await warehouse.query('SELECT id, uuid_ts FROM web.tracks WHERE uuid_ts > CAST(:since AS TIMESTAMP)', { since }, 'new rows');
      const now = Date.now();
      for (const row of rows) {
        if (!seenAt.has(String(row.id))) seenAt.set(String(row.id), now);
        if (String(row.uuid_ts) > since) since = String(row.uuid_ts);
      }
    }
    await sender;
    const latencies = [...sentAt]
      .filter(([id]) => seenAt.has(id))
      .map(([id, t]) => ((seenAt.get(id) as number) - t) / 1000)
      .sort((a, b) => a - b);
    const loads = cloud.stepFunctions
      .allExecutions()
      .filter(
        (e) =>
          e.stateMachineArn === cloud.endpoints.stateMachines.load &&
          e.status === 'SUCCEEDED' &&
          e.stopDate &&
          JSON.parse(e.output ?? '{}').status === 'SUCCEEDED',
      );
    const loadSeconds = loads.map((e) => ((e.stopDate as Date).getTime() - e.startDate.getTime()) / 1000);
    const p50 = percentile(latencies, 50);
    const p95 = percentile(latencies, 95);
    const r = (x: number) => Number(x.toFixed(1));
    return {
      case: `load every ${intervalSeconds} s, Firehose buffer ${bufferSeconds} s`,
      events: sentAt.size,
      seen: seenAt.size,
      loads: loads.length,
      loadSecondsMedian: r(
        percentile(
          [...loadSeconds].sort((a, b) => a - b),
          50,
        ),
      ),
      localP50Seconds: r(p50),
      localP95Seconds: r(p95),
      localMaxSeconds: r(latencies[latencies.length - 1] ?? NaN),
      p95OverInterval: Number((p95 / intervalSeconds).toFixed(2)),
      modelledAwsP50Seconds: r(modelledPercentile(50, bufferSeconds, intervalSeconds, loadSeconds.length ? loadSeconds : [0])),
      modelledAwsP95Seconds: r(modelledPercentile(95, bufferSeconds, intervalSeconds, loadSeconds.length ? loadSeconds : [0])),
    };
  } finally {
    data.destroy();
    await cloud.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchFreshness(): Promise<Record<string, number | string>> {
  const cases = (process.env.BENCH_FRESHNESS ?? '60:60,300:60').split(',').map((c) => c.split(':').map(Number) as [number, number]);
  const cycles = Number(process.env.BENCH_FRESHNESS_CYCLES ?? 2);
  const out: Record<string, number | string> = {};
  for (const [interval, buffer] of cases) {
    const result = await runCase(interval, buffer, cycles);
    console.table(result);
    for (const [k, v] of Object.entries(result)) if (k !== 'case') out[`${interval}s/${buffer}s ${k}`] = v;
  }
  return out;
}

if (require.main === module) {
  void benchFreshness().then(() => process.exit(0));
}

/**
 * What local mode's strictness costs (docs/local-mode.md, "At least as strict as AWS"): start-up and
 * a load of N events (BENCH_STRICT_EVENTS, default 50,000) with the per-request and per-row rules on
 * (IAM evaluated at the edge for every call a function makes, VARCHAR byte checks on every row) and
 * off, side by side in one run, each twice in alternating order.
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as zlib from 'node:zlib';
import { SFNClient } from '@aws-sdk/client-sfn';
import { enrichedForRaw, generateEvents } from '../cli/traffic';
import { runExecution } from '../lambdas/io/executions';
import { startBenchCloud } from './cloud';
import { synthesizeTemplate } from '../local/template';

const EVENTS = Number(process.env.BENCH_STRICT_EVENTS ?? 50_000);
const PER_OBJECT = 5000;

async function once(strict: boolean, template: ReturnType<typeof synthesizeTemplate>): Promise<{ startMs: number; loadMs: number; allowed: number }> {
  const t0 = performance.now();
  const { cloud, dataDir } = await startBenchCloud('strict', { template, strict });
  const startMs = performance.now() - t0;
  const sfn = new SFNClient({ endpoint: cloud.endpoints.edge, region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
  try {
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000);
    const prefix = `web/${hour.toISOString().slice(0, 13).replace(/-/g, '/').replace('T', '/')}/`;
    let lines: string[] = [];
    let n = 0;
    for (const msg of generateEvents(EVENTS, { seed: 11, duplicates: 0.05 })) {
      lines.push(JSON.stringify(enrichedForRaw(msg, new Date(hour.getTime() + 60_000).toISOString())));
      if (lines.length === PER_OBJECT) {
        cloud.store.put(cloud.endpoints.buckets.raw, `${prefix}bench-${n++}.gz`, zlib.gzipSync(`${lines.join('\n')}\n`));
        lines = [];
      }
    }
    if (lines.length) cloud.store.put(cloud.endpoints.buckets.raw, `${prefix}bench-${n++}.gz`, zlib.gzipSync(`${lines.join('\n')}\n`));
    const t1 = performance.now();
    for (;;) {
      const d = await runExecution(sfn, cloud.endpoints.stateMachines.load, { source: 'web' });
      if (d.status !== 'SUCCEEDED') throw new Error(`load ${d.status}: ${d.error} ${d.cause}`);
      if (!JSON.parse(d.output ?? '{}').more) break;
    }
    const loadMs = performance.now() - t1;
    if (strict && cloud.iam.denials.length > 0) throw new Error(`IAM denied ${JSON.stringify(cloud.iam.denials[0])}`);
    return { startMs, loadMs, allowed: [...cloud.iam.allowed.values()].reduce((a, b) => a + b, 0) };
  } finally {
    sfn.destroy();
    await cloud.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchStrictness(): Promise<Record<string, number | string>> {
  const template = synthesizeTemplate('local');
  const runs: Record<'strict' | 'lenient', Array<{ startMs: number; loadMs: number; allowed: number }>> = { strict: [], lenient: [] };
  for (const strict of [false, true, true, false]) runs[strict ? 'strict' : 'lenient'].push(await once(strict, template));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const sum = (k: 'startMs' | 'loadMs', w: 'strict' | 'lenient') => runs[w].reduce((a, r) => a + r[k], 0);
  return {
    events: EVENTS,
    iamChecksPerLoad: median(runs.strict.map((r) => r.allowed)),
    startStrictSeconds: Number((sum('startMs', 'strict') / 2000).toFixed(2)),
    startLenientSeconds: Number((sum('startMs', 'lenient') / 2000).toFixed(2)),
    startRatioStrictToLenient: Number((sum('startMs', 'strict') / sum('startMs', 'lenient')).toFixed(3)),
    loadStrictSeconds: Number((sum('loadMs', 'strict') / 2000).toFixed(2)),
    loadLenientSeconds: Number((sum('loadMs', 'lenient') / 2000).toFixed(2)),
    loadRatioStrictToLenient: Number((sum('loadMs', 'strict') / sum('loadMs', 'lenient')).toFixed(3)),
  };
}

if (require.main === module)
  void benchStrictness().then((r) => {
    console.table(r);
    process.exit(0);
  });

/**
 * Import throughput (docs/performance.md, "Import from a Segment archive"): N archived events
 * (BENCH_IMPORT_EVENTS, default 1,000,000; six call types, 5 % duplicates) in Segment's archive
 * layout — two received days, files of 10,000 messages — imported with `npx clickstream import`
 * (read, re-shard into raw hours, load) and with the backfill workflow's `"mode": "import"` (the
 * console path: a Distributed Map of archive-object batches, then the hours as windows), against
 * the same events put straight into the raw bucket as Firehose would have delivered them and
 * loaded by the same "missing" backfill. Side by side in one run; the ratios are what the archive
 * step costs on top of a load.
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as zlib from 'node:zlib';
import { runBackfill } from '../cli/backfill';
import { nullStream } from '../cli/format';
import { runImport } from '../cli/import';
import { SFNClient } from '@aws-sdk/client-sfn';
import { clientConfig, localTarget } from '../cli/target';
import { failureMessage, runExecution } from '../lambdas/io/executions';
import { enrichedForRaw, generateEvents } from '../cli/traffic';
import { hourPrefix } from '../lambdas/core/layout';
import { startBenchCloud } from './cloud';
import { synthesizeTemplate } from '../local/template';

const EVENTS = Number(process.env.BENCH_IMPORT_EVENTS ?? 1_000_000);
const PER_FILE = 10_000;
const DAY0 = Date.parse('2026-10-01T00:00:00Z');
const HOURS = 48;

/** The events, each with the hour it was received in (spread evenly over two days). */
function* archived(): Generator<{ hour: number; line: string }> {
  let i = 0;
  for (const msg of generateEvents(EVENTS, { seed: 23, duplicates: 0.05 })) {
    const hour = Math.floor((i++ * HOURS) / EVENTS);
    yield { hour, line: JSON.stringify(enrichedForRaw(msg, new Date(DAY0 + hour * 3_600_000 + 60_000).toISOString())) };
  }
}

async function once(kind: 'import' | 'console' | 'raw', template: ReturnType<typeof synthesizeTemplate>): Promise<{ seconds: number; rows: number }> {
  const { cloud, dataDir } = await startBenchCloud(`import-${kind}`, { template });
  try {
    // Files as each side has them before the clock starts: the archive's day folders, or raw hours.
    const files = new Map<string, string[]>();
    for (const { hour, line } of archived()) {
      const folder = kind !== 'raw' ? `segment-logs/src/${DAY0 + Math.floor(hour / 24) * 86_400_000}/` : hourPrefix('web', new Date(DAY0 + hour * 3_600_000));
      const lines = files.get(folder) ?? [];
      lines.push(line);
      files.set(folder, lines);
    }
    // The archive bucket the local environment may read (cdk.json: archiveBuckets).
    const bucket = kind !== 'raw' ? 'clickstream-local-segment-archive' : cloud.endpoints.buckets.raw;
    if (kind !== 'raw') cloud.store.createBucket(bucket);
    for (const [folder, lines] of files) {
      for (let i = 0; i < lines.length; i += PER_FILE)
        cloud.store.put(bucket, `${folder}part-${i / PER_FILE}.gz`, zlib.gzipSync(`${lines.slice(i, i + PER_FILE).join('\n')}\n`));
    }
    files.clear();
    const target = localTarget(dataDir);
    const range = { from: new Date(DAY0).toISOString(), to: new Date(DAY0 + HOURS * 3_600_000).toISOString() };
    const t0 = performance.now();
    let code: number;
    if (kind === 'console') {
      const sfn = new SFNClient(clientConfig(target));
      const input = { source: 'web', mode: 'import', archive: { bucket, prefix: 'segment-logs/src/' }, ...range };
      const d = await runExecution(sfn, target.stateMachines.backfill, input, { timeoutMs: 3 * 3600_000 }).finally(() => sfn.destroy());
      code = d.status === 'SUCCEEDED' ? 0 : 3;
      if (code !== 0) throw new Error(`console import ${d.status}: ${failureMessage(d)}`);
    } else {
      code =
        kind === 'import'
          ? await runImport(target, { source: 'web', archive: `s3://${bucket}/segment-logs/src/`, ...range, json: true }, nullStream(), nullStream())
          : await runBackfill(target, { source: 'web', ...range, mode: 'missing', json: true }, nullStream(), nullStream());
    }
    const seconds = (performance.now() - t0) / 1000;
    if (code !== 0) throw new Error(`${kind} exited ${code}`);
    const counted = await cloud.warehouse.runBatch([
      {
        sql: 'SELECT (SELECT COUNT(*) FROM web.tracks) + (SELECT COUNT(*) FROM web.pages) + (SELECT COUNT(*) FROM web.screens) + (SELECT COUNT(*) FROM web.identifies) + (SELECT COUNT(*) FROM web.groups) + (SELECT COUNT(*) FROM web.aliases)',
      },
    ]);
    if (!counted.ok) throw new Error(counted.error.message);
    return { seconds, rows: Number(counted.results[0].rows[0][0]) };
  } finally {
    await cloud.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchImport(): Promise<Record<string, number | string>> {
  const template = synthesizeTemplate('local');
  const raw = await once('raw', template);
  const imported = await once('import', template);
  const console = await once('console', template);
  if (raw.rows !== imported.rows || raw.rows !== console.rows)
    throw new Error(`the runs loaded different row counts: ${raw.rows} (raw), ${imported.rows} (CLI import), ${console.rows} (console import)`);
  return {
    events: EVENTS,
    'call-table rows (each run)': imported.rows,
    'import: seconds': Number(imported.seconds.toFixed(1)),
    'import: events/s': Math.round(EVENTS / imported.seconds),
    'raw + backfill: seconds': Number(raw.seconds.toFixed(1)),
    'raw + backfill: events/s': Math.round(EVENTS / raw.seconds),
    'import / raw throughput': Number((raw.seconds / imported.seconds).toFixed(2)),
    'console import: seconds': Number(console.seconds.toFixed(1)),
    'console import: events/s': Math.round(EVENTS / console.seconds),
    'console import / raw throughput': Number((raw.seconds / console.seconds).toFixed(2)),
  };
}

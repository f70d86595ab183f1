/**
 * Load throughput: N realistic events (~1 KB, six call types, 5% duplicates) from raw objects to
 * the warehouse through the synthesized load workflow in local mode — beside the local physical
 * limit measured in the same run: a plain bulk COPY of the same rows, pre-flattened, typed and
 * without dedupe, into the same embedded warehouse. Goal: ≥ 0.5 of that limit.
 *
 * The raw objects spread over the 24 hours of yesterday (UTC), as a day of traffic. Then the same
 * run measures verification of that day: `verify` (ledger, registry and SQL counts) beside
 * re-reading every raw event to count distinct messages per hour.
 *
 *   BENCH_EVENTS=1000000 npx tsx bench/load.ts
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as zlib from 'node:zlib';
import type { LocalCloud } from '../local/LocalCloud';
import { startBenchCloud } from './cloud';
import { BLOB_SOURCE } from '../local/warehouse/EmbeddedWarehouse';
import { SFNClient } from '@aws-sdk/client-sfn';
import { runExecution } from '../lambdas/io/executions';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client } from '@aws-sdk/client-s3';
import { ObjectStore } from '../lambdas/io/objects';
import { verifySource } from '../lambdas/io/verification';
import { Warehouse } from '../lambdas/io/warehouse';
import { QUARANTINE_PREFIX } from '../lib/constructs/Storage';
import { mapEvent } from '../lambdas/core/transform';
import { enrichedForRaw, generateEvents } from '../cli/traffic';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const PER_OBJECT = 5000;

/** A tagged staged value as the typed value a plain COPY would load. */
function untag(text: string): unknown {
  const tag = text[0];
  const v = text.slice(2);
  switch (tag) {
    case 'i':
    case 'f':
      return Number(v);
    case 'b':
      return v === 'true';
    case 't':
      return v.slice(0, 23);
    default:
      return v;
  }
}

export async function benchLoad(): Promise<Record<string, number | string>> {
  const { cloud, dataDir } = await startBenchCloud('load');
  const config = { endpoint: cloud.endpoints.edge, region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' } };
  const sfn = new SFNClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const data = new RedshiftDataClient(config);
  try {
    const raw = cloud.endpoints.buckets.raw;
    const staged = cloud.endpoints.buckets.staged;
    const day = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000);
    const objectCount = Math.ceil(EVENTS / PER_OBJECT);
    const hourOf = (object: number) => new Date(day.getTime() + Math.floor((object * 24) / objectCount) * 3_600_000);
    const prefixOf = (object: number) => `web/${hourOf(object).toISOString().slice(0, 13).replace(/-/g, '/').replace('T', '/')}/`;

    // Raw objects as Firehose delivers them, and the same rows pre-flattened for the baseline COPY.
    const baseline = new Map<string, string[]>();
    const baselineFiles = new Map<string, Array<{ key: string; bytes: number }>>();
    const flushBaseline = (table: string) => {
      const rows = baseline.get(table) ?? [];
      if (rows.length === 0) return;
      const key = `bench/baseline/${table}/${(baselineFiles.get(table) ?? []).length}.json.gz`;
      const body = zlib.gzipSync(`${rows.join('\n')}\n`);
      cloud.store.put(staged, key, body);
      baselineFiles.set(table, [...(baselineFiles.get(table) ?? []), { key, bytes: body.length }]);
      baseline.set(table, []);
    };
    let lines: string[] = [];
    let objects = 0;
    let rawBytes = 0;
    let i = 0;
    for (const msg of generateEvents(EVENTS, { seed: 7, duplicates: 0.05 })) {
      const enriched = enrichedForRaw(msg, new Date(hourOf(objects).getTime() + 1_800_000).toISOString());
      const line = JSON.stringify(enriched);
      rawBytes += line.length + 1;
      lines.push(line);
      for (const row of mapEvent(enriched, { object: 'bench', line: i }).rows) {
        const typed: Record<string, unknown> = {};
        for (const [c, v] of Object.entries(row.values)) typed[c] = untag(v);
        const list = baseline.get(row.table) ?? [];
        list.push(JSON.stringify(typed));
        baseline.set(row.table, list);
        if (list.length >= 50_000) flushBaseline(row.table);
      }
      i++;
      if (lines.length === PER_OBJECT) {
        cloud.store.put(raw, `${prefixOf(objects)}bench-${String(objects++).padStart(6, '0')}.gz`, zlib.gzipSync(`${lines.join('\n')}\n`));
        lines = [];
      }
    }
    if (lines.length) cloud.store.put(raw, `${prefixOf(objects)}bench-${String(objects++).padStart(6, '0')}.gz`, zlib.gzipSync(`${lines.join('\n')}\n`));
    for (const table of baseline.keys()) flushBaseline(table);

    // The pipeline: load workflow executions until nothing is pending.
    const started = performance.now();
    let loads = 0;
    let rows = 0;
    for (;;) {
      const d = await runExecution(sfn, cloud.endpoints.stateMachines.load, { source: 'web' }, { maxIntervalMs: 100 });
      const { executionArn } = d;
      if (d.status !== 'SUCCEEDED') throw new Error(`load ${d.status}: ${d.error} ${d.cause}`);
      const out = JSON.parse(d.output as string);
      if (process.env.BENCH_TRACE) {
        const record = cloud.stepFunctions.execution(executionArn as string);
        const entered = new Map<string, number>();
        const spent = new Map<string, number>();
        for (const e of record?.history ?? []) {
          const name =
            (e.details.stateEnteredEventDetails as { name?: string } | undefined)?.name ??
            (e.details.stateExitedEventDetails as { name?: string } | undefined)?.name;
          if (!name) continue;
          if (e.type === 'StateEntered') entered.set(name, e.timestamp);
          else if (e.type === 'StateExited' && entered.has(name)) spent.set(name, (spent.get(name) ?? 0) + e.timestamp - (entered.get(name) as number));
        }
        console.table(Object.fromEntries([...spent].map(([k, v]) => [k, `${v} ms`])));
      }
      loads++;
      rows += out.rowsLoaded ?? 0;
      if (!out.more) break;
    }
    const pipelineMs = performance.now() - started;

    // The baseline: one plain COPY per table of the pre-flattened rows into tables of the same shape.
    const tables = [...baselineFiles.keys()];
    const ddl = ['CREATE SCHEMA IF NOT EXISTS bench_copy', ...tables.map((t) => `CREATE TABLE bench_copy."${t}" (LIKE web."${t}")`)];
    await runSql(cloud, ddl);
    for (const t of tables)
      cloud.store.put(
        staged,
        `bench/baseline/${t}.manifest`,
        Buffer.from(JSON.stringify({ entries: (baselineFiles.get(t) ?? []).map((f) => ({ url: `s3://${staged}/${f.key}`, mandatory: true })) })),
      );
    const copyStart = performance.now();
    for (const t of tables) {
      await runSql(cloud, [
        `COPY bench_copy."${t}" FROM 's3://${staged}/bench/baseline/${t}.manifest' IAM_ROLE 'arn:aws:iam::000000000000:role/bench' MANIFEST FORMAT AS JSON 'auto' GZIP`,
      ]);
    }
    const copyMs = performance.now() - copyStart;

    // The local physical limit: PGlite's own CSV COPY of the same pre-flattened rows into tables of
    // the same shape (no JSON, no Redshift translation, no dedupe). CSV prepared beforehand; timed: the COPYs.
    await runSql(cloud, ['CREATE SCHEMA IF NOT EXISTS bench_csv', ...tables.map((t) => `CREATE TABLE bench_csv."${t}" (LIKE web."${t}")`)]);
    const csv = new Map<string, Buffer>();
    for (const t of tables) {
      const described = await cloud.warehouse.runBatch([
        {
          sql: `SELECT column_name FROM information_schema.columns WHERE table_schema = 'bench_csv' AND table_name = $1 ORDER BY ordinal_position`,
          params: [t],
        },
      ]);
      if (!described.ok) throw new Error(described.error.message);
      const columns = described.results[0].rows.map((r) => String((r as unknown[])[0]));
      const lines: string[] = [];
      for (const f of baselineFiles.get(t) ?? []) {
        for (const line of zlib.gunzipSync(cloud.store.get(staged, f.key).body).toString('utf8').split('\n')) {
          if (!line) continue;
          const row = JSON.parse(line) as Record<string, unknown>;
          lines.push(columns.map((c) => csvField(row[c])).join(','));
        }
      }
      csv.set(t, Buffer.from(`${lines.join('\n')}\n`));
    }
    const csvStart = performance.now();
    for (const t of tables) {
      const done = await cloud.warehouse.runBatch([{ sql: `COPY bench_csv."${t}" FROM ${BLOB_SOURCE} WITH (FORMAT csv)`, blob: csv.get(t) }]);
      if (!done.ok) throw new Error(`CSV COPY of ${t}: ${done.error.message}`);
    }
    const csvMs = performance.now() - csvStart;

    // Verification of the day: verify's counts beside re-reading every raw event.
    const io = {
      objects: new ObjectStore(s3),
      warehouse: new Warehouse(data, { workgroup: cloud.endpoints.warehouse.workgroupName, database: cloud.endpoints.warehouse.database }),
    };
    const verifyStart = performance.now();
    const report = await verifySource({ ...io, rawBucket: raw, quarantinePrefix: QUARANTINE_PREFIX }, 'web', day, new Date(day.getTime() + 86_400_000));
    const verifyMs = performance.now() - verifyStart;
    if (!report.ok) throw new Error(`verify found mismatches: ${JSON.stringify(report.hours.filter((h) => !h.ok).slice(0, 3))}`);
    const rereadStart = performance.now();
    const distinct = new Set<string>();
    for (const o of await io.objects.list(raw, 'web/')) {
      for (const line of (await io.objects.getGunzipped(raw, o.key)).toString('utf8').split('\n')) if (line) distinct.add(String(JSON.parse(line).messageId));
    }
    const rereadMs = performance.now() - rereadStart;
    if (distinct.size !== report.totals.accepted) throw new Error(`re-reading counts ${distinct.size} distinct messages, verify ${report.totals.accepted}`);
    return {
      events: EVENTS,
      rawObjects: objects,
      avgEventBytes: Math.round(rawBytes / EVENTS),
      tables: tables.length,
      rowsLoaded: rows,
      loads,
      pipelineSeconds: Number((pipelineMs / 1000).toFixed(1)),
      pipelineEventsPerSecond: Math.round(EVENTS / (pipelineMs / 1000)),
      plainCopySeconds: Number((copyMs / 1000).toFixed(1)),
      plainCopyEventsPerSecond: Math.round(EVENTS / (copyMs / 1000)),
      ratioToPlainCopy: Number((copyMs / pipelineMs).toFixed(3)),
      csvCopySeconds: Number((csvMs / 1000).toFixed(1)),
      csvCopyEventsPerSecond: Math.round(EVENTS / (csvMs / 1000)),
      ratioToCsvCopy: Number((csvMs / pipelineMs).toFixed(3)),
      verifyHours: report.totals.hours,
      verifyAccepted: report.totals.accepted,
      verifySeconds: Number((verifyMs / 1000).toFixed(2)),
      rereadAllEventsSeconds: Number((rereadMs / 1000).toFixed(2)),
      verifyRatioToReread: Number((verifyMs / rereadMs).toFixed(3)),
    };
  } finally {
    sfn.destroy();
    s3.destroy();
    data.destroy();
    await cloud.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A CSV field as Postgres's COPY reads it: unquoted empty is NULL, text quoted. */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return `"${text.replace(/"/g, '""')}"`;
}

async function runSql(cloud: LocalCloud, statements: string[]): Promise<void> {
  const { RedshiftDataClient } = await import('@aws-sdk/client-redshift-data');
  const client = new RedshiftDataClient({ endpoint: cloud.endpoints.edge, region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
  try {
    await new Warehouse(client, { workgroup: cloud.endpoints.warehouse.workgroupName, database: cloud.endpoints.warehouse.database }).run(
      statements,
      'bench setup',
    );
  } finally {
    client.destroy();
  }
}

if (require.main === module) {
  void benchLoad().then((r) => console.table(r));
}

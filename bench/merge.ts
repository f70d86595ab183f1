/**
 * Merge time per load as a table grows: the same load of BENCH_MERGE_EVENTS new events (a few
 * of them copies of recent rows) into `tracks` and its event table holding BENCH_MERGE_ROWS rows
 * (1×) and ten times as many (10×), with the merge bounded by the merge window (7 days, what the
 * stack ships) and unbounded (`mergeWindowDays: 0`, the whole table) — side by side in one run.
 * History is spread over the year before the window, as a year of traffic would be.
 *
 * Timed: the table-load transactions of the load (DescribeStatement's Duration, summed), which
 * hold the merge. Redshift skips blocks outside the window by its zone maps; the local warehouse
 * by a BRIN index on the sort key (local/warehouse/translate.ts), after ANALYZE as Redshift's
 * automatic analyze would have run.
 *
 *   BENCH_MERGE_ROWS=100000 npx tsx bench/merge.ts
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { DescribeStatementCommand, ListStatementsCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { SFNClient } from '@aws-sdk/client-sfn';
import { runExecution } from '../lambdas/io/executions';
import { Warehouse } from '../lambdas/io/warehouse';
import type { LocalCloud } from '../local/LocalCloud';
import { startBenchCloud } from './cloud';

const ROWS = Number(process.env.BENCH_MERGE_ROWS ?? 100_000);
const EVENTS = Number(process.env.BENCH_MERGE_EVENTS ?? 2_000);
const DAY = 86_400_000;

type Cloud = LocalCloud;

/** Milliseconds the table loads of one load took, each load of EVENTS new events and 5 % copies of recent rows. */
async function loadOnce(cloud: Cloud, clients: { sfn: SFNClient; data: RedshiftDataClient }, round: string, windowDays: number): Promise<number> {
  const prepare = cloud.lambdas.functionList.find((f) => f.module.includes('/lambdas/prepare-schema/')) as { name: string };
  cloud.lambdas.setEnvironment(prepare.name, 'MERGE_WINDOW_DAYS', String(windowDays));
  const now = Date.now();
  const hour = new Date(Math.floor(now / 3_600_000) * 3_600_000);
  const receivedAt = new Date(now - 60_000).toISOString();
  const lines: string[] = [];
  for (let i = 0; i < EVENTS; i++) {
    // 5 % are copies of rows received a day ago (inside the window): the merge has work to do.
    const id = i % 20 === 0 ? `recent-${i}` : `${round}-${i}`;
    lines.push(
      JSON.stringify({
        type: 'track',
        event: 'Bench Merge',
        userId: `u${i % 500}`,
        anonymousId: `a${i}`,
        messageId: id,
        receivedAt,
        timestamp: receivedAt,
        properties: { n: i, plan: 'pro' },
      }),
    );
  }
  cloud.store.put(
    cloud.endpoints.buckets.raw,
    `web/${hour.toISOString().slice(0, 13).replace(/-/g, '/').replace('T', '/')}/merge-${round}.gz`,
    zlib.gzipSync(`${lines.join('\n')}\n`),
  );
  const d = await runExecution(clients.sfn, cloud.endpoints.stateMachines.load, { source: 'web' }, { maxIntervalMs: 50 });
  if (d.status !== 'SUCCEEDED') throw new Error(`load ${d.status}: ${d.error} ${d.cause}`);
  const loadId = String(JSON.parse(d.output as string).loadId ?? d.executionArn.split(':').pop());
  const listed = await clients.data.send(new ListStatementsCommand({ MaxResults: 100 }));
  const mine = (listed.Statements ?? []).filter((s) => s.StatementName?.startsWith('load web.') && s.StatementName.includes(loadId));
  if (mine.length === 0) throw new Error(`no table load statements of ${loadId}`);
  let ns = 0;
  for (const s of mine) ns += (await clients.data.send(new DescribeStatementCommand({ Id: s.Id }))).Duration ?? 0;
  return ns / 1e6;
}

async function measure(rows: number): Promise<{ windowed: number; unbounded: number }> {
  const { cloud, dataDir } = await startBenchCloud('merge');
  const config = { endpoint: cloud.endpoints.edge, region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' } };
  const clients = { sfn: new SFNClient(config), data: new RedshiftDataClient(config) };
  const warehouse = new Warehouse(clients.data, { workgroup: cloud.endpoints.warehouse.workgroupName, database: cloud.endpoints.warehouse.database });
  try {
    await loadOnce(cloud, clients, 'seed', 7); // creates the tables as a first load would
    // History: `rows` rows over the year before the window, oldest first (as loads append them),
    // plus a day-old copy of each "recent" id. Setup SQL, run as the admin (not the stack's SQL).
    for (const table of ['tracks', 'bench_merge']) {
      const extra = table === 'bench_merge' ? ', "n", "plan"' : '';
      const extraValues = table === 'bench_merge' ? ", g, 'free'" : '';
      await warehouse.run(
        [
          `INSERT INTO web."${table}" ("id", "received_at", "timestamp", "user_id", "anonymous_id", "event", "event_text", "uuid_ts"${extra}) SELECT 'old-' || g, TIMESTAMP '${new Date(Date.now() - 372 * DAY).toISOString().slice(0, 19).replace('T', ' ')}' + (g * (365.0 * 86400 / ${rows})) * INTERVAL '1 second', TIMESTAMP '2025-01-01', 'u' || (g % 500), 'a' || g, 'bench_merge', 'Bench Merge', now()${extraValues} FROM generate_series(1, ${rows}) g`,
          `INSERT INTO web."${table}" ("id", "received_at", "timestamp", "event", "event_text", "uuid_ts"${extra}) SELECT 'recent-' || g, now() - INTERVAL '1 day', now() - INTERVAL '1 day', 'bench_merge', 'Bench Merge', now()${extraValues} FROM generate_series(0, ${EVENTS}, 20) g`,
          `ANALYZE web."${table}"`,
        ],
        'bench setup',
      );
    }
    // Zone maps of the history (the local warehouse summarizes its BRIN ranges every 20 batches anyway).
    await warehouse.run(
      [
        `SELECT brin_summarize_new_values(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'brin'`,
      ],
      'bench setup',
    );
    // Alternated, so neither mode profits from a warmer cache.
    const windowed: number[] = [];
    const unbounded: number[] = [];
    for (let r = 0; r < 2; r++) {
      windowed.push(await loadOnce(cloud, clients, `w${r}`, 7));
      unbounded.push(await loadOnce(cloud, clients, `u${r}`, 0));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    return { windowed: median(windowed), unbounded: median(unbounded) };
  } finally {
    clients.sfn.destroy();
    clients.data.destroy();
    await cloud.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchMerge(): Promise<Record<string, number | string>> {
  const one = await measure(ROWS);
  const ten = await measure(10 * ROWS);
  const r = (x: number) => Math.round(x);
  return {
    'history rows (1× / 10×)': `${ROWS} / ${10 * ROWS}`,
    'events per load': EVENTS,
    'table loads, merge window 7 days, 1× (ms)': r(one.windowed),
    'table loads, merge window 7 days, 10× (ms)': r(ten.windowed),
    'ratio 10× / 1×, windowed': Number((ten.windowed / one.windowed).toFixed(2)),
    'table loads, whole table, 1× (ms)': r(one.unbounded),
    'table loads, whole table, 10× (ms)': r(ten.unbounded),
    'ratio 10× / 1×, whole table': Number((ten.unbounded / one.unbounded).toFixed(2)),
    'whole table / windowed at 10×': Number((ten.unbounded / ten.windowed).toFixed(2)),
  };
}

if (require.main === module) {
  void benchMerge().then((r) => {
    console.table(r);
    process.exit(0);
  });
}

import { DescribeExecutionCommand, type ExecutionStatus, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { fromSqlTime, sqlTime } from '../lambdas/core/layout';
import { schemaName } from '../lambdas/core/naming';
import { discardActivityQuery, loadActivityQuery, TABLES_QUERY } from '../lambdas/core/sql';
import { candidateObjects, lagSeconds } from '../lambdas/io/pending';
import { IsolationStore } from '../lambdas/io/isolation';
import type { SetAsideObject } from '../lambdas/core/isolation';
import { fmt, table } from './format';
import { clientConfig, type SourceInfo, type Target, targetIo, UsageError } from './target';
import { STATUS_HELP } from './help';

export { STATUS_HELP };

export interface SourceStatus {
  readonly source: string;
  readonly flags: { readonly collect?: boolean; readonly load?: boolean; readonly dryRun?: boolean };
  readonly lastLoadedAt: string | null;
  readonly lagSeconds: number;
  readonly pendingObjects: number;
  readonly eventsRead: { readonly lastHour: number; readonly lastDay: number };
  readonly failedLoads: { readonly lastDay: number };
  readonly discards: { readonly lastDay: number; readonly total: number };
  /** Raw objects set aside after failing every load on their own (not loaded, not counted as waiting). */
  readonly setAside: ReadonlyArray<SetAsideObject>;
}

const FAILED: ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];

/** Load executions of each source that ended badly since `since` (newest 100 per status). */
async function failedLoads(sfn: SFNClient, stateMachineArn: string, since: Date): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const statusFilter of FAILED) {
    const res = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter, maxResults: 100 }));
    for (const e of res.executions ?? []) {
      if (!e.startDate || e.startDate < since) continue;
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
      let source = '?';
      try {
        source = String((JSON.parse(d.input ?? '{}') as { source?: unknown }).source ?? '?');
      } catch {
        // an input that was not JSON never ran a load
      }
      out.set(source, (out.get(source) ?? 0) + 1);
    }
  }
  return out;
}

export async function sourceStatuses(target: Target, sources: ReadonlyArray<SourceInfo>, now = new Date()): Promise<SourceStatus[]> {
  const io = targetIo(target);
  const sfn = new SFNClient(clientConfig(target));
  try {
    const failed = await failedLoads(sfn, target.stateMachines.load, new Date(now.getTime() - 86_400_000));
    const out: SourceStatus[] = [];
    for (const s of sources) {
      const schema = schemaName(s.name);
      const setAside = await new IsolationStore(io.objects, target.buckets.staged, s.name).setAside();
      const asideKeys = new Set(setAside.map((o) => o.key));
      const pending = (
        await candidateObjects({ objects: io.objects, warehouse: io.warehouse, rawBucket: target.buckets.raw }, s.name, { mode: 'pending' })
      ).filter((o) => !asideKeys.has(o.key));
      const tables = new Set((await io.warehouse.query(TABLES_QUERY, { schema }, 'tables')).map((r) => String(r.table_name)));
      const since = { hourAgo: sqlTime(new Date(now.getTime() - 3_600_000)), dayAgo: sqlTime(new Date(now.getTime() - 86_400_000)) };
      const loads = tables.has('_loads') ? (await io.warehouse.query(loadActivityQuery(schema), since, 'load activity'))[0] : undefined;
      const discards = tables.has('_discards') ? (await io.warehouse.query(discardActivityQuery(schema), { dayAgo: since.dayAgo }, 'discards'))[0] : undefined;
      out.push({
        source: s.name,
        flags: { collect: s.collect, load: s.load, dryRun: s.dryRun },
        lastLoadedAt: loads?.last_loaded_at ? `${fromSqlTime(loads.last_loaded_at).toISOString().slice(0, 19)}Z` : null,
        lagSeconds: Math.round(lagSeconds(pending, now)),
        pendingObjects: pending.length,
        eventsRead: { lastHour: Number(loads?.events_hour ?? 0), lastDay: Number(loads?.events_day ?? 0) },
        failedLoads: { lastDay: failed.get(s.name) ?? 0 },
        discards: { lastDay: Number(discards?.day ?? 0), total: Number(discards?.total ?? 0) },
        setAside,
      });
    }
    return out;
  } finally {
    io.close();
    sfn.destroy();
  }
}

const onOff = (b: boolean | undefined) => (b === undefined ? '?' : b ? 'on' : 'off');

/** Seconds as an age: `42 s`, `7 min`, `3.5 h`. */
export function age(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export async function runStatus(target: Target, options: { source?: string; json?: boolean }, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  let sources = target.sources;
  if (options.source) {
    sources = sources.filter((s) => s.name === options.source);
    if (sources.length === 0) {
      if (target.sources.length > 0)
        throw new UsageError(`Unknown source "${options.source}": configured sources are ${target.sources.map((s) => s.name).join(', ')}`);
      sources = [{ name: options.source }];
    }
  }
  if (sources.length === 0) throw new UsageError('This stack does not list its sources (deploy the current version, or pass --source NAME)');
  const statuses = await sourceStatuses(target, sources);
  if (options.json) out.write(`${JSON.stringify({ sources: statuses }, null, 2)}\n`);
  else {
    out.write(
      `${table([
        [
          'source',
          'collect',
          'load',
          'dry run',
          'last load (UTC)',
          'lag',
          'waiting objects',
          'events read 1 h',
          'events read 24 h',
          'failed loads 24 h',
          'discards 24 h',
          'discards total',
          'set aside',
        ],
        ...statuses.map((s) => [
          s.source,
          onOff(s.flags.collect),
          onOff(s.flags.load),
          onOff(s.flags.dryRun),
          s.lastLoadedAt?.replace('T', ' ').replace('Z', '') ?? 'never',
          age(s.lagSeconds),
          fmt(s.pendingObjects),
          fmt(s.eventsRead.lastHour),
          fmt(s.eventsRead.lastDay),
          fmt(s.failedLoads.lastDay),
          fmt(s.discards.lastDay),
          fmt(s.discards.total),
          fmt(s.setAside.length),
        ]),
      ])}\n`,
    );
    for (const s of statuses) {
      for (const o of s.setAside) {
        out.write(
          `\n${s.source}: ${o.key} set aside ${o.at} after ${o.failures} failed loads on its own: ${o.error.slice(0, 300)}\n  fix the cause, then reload its hour: npx clickstream backfill --windows '${JSON.stringify([{ source: s.source, from: o.hour, to: new Date(Date.parse(o.hour) + 3_600_000).toISOString() }])}'\n`,
        );
      }
    }
  }
  return 0;
}

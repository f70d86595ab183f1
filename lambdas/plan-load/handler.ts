import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { batchBy } from '../core/batching';
import { InvalidInputError } from '../core/errors';
import { floorHour, hourOfKey, hourPrefix, layout, sqlTime } from '../core/layout';
import { type LoadPlan, type LoadRequest, LoadRequestSchema, type PlanOutput, type PlannedObject } from '../core/loadTypes';
import { METRICS_NAMESPACE, METRIC_NAMES } from '../core/metrics';
import { schemaName } from '../core/naming';
import { LEDGER_EXISTS_QUERY, latestLedgerHourQuery, ledgerKeysQuery } from '../core/sql';
import { loaderContext } from '../io/context';

const logger = new Logger({ serviceName: 'plan-load' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'loader' });

/** Transform chunks: at most this many objects or compressed bytes each. */
const CHUNK_OBJECTS = 50;
const CHUNK_BYTES = 16 * 1024 * 1024;
/** Pending loads re-list this much before the newest loaded hour (late objects of that hour). */
const PENDING_SLACK_MS = 2 * 3_600_000;

export interface PlanLoadEvent {
  readonly request: unknown;
  readonly executionId: string;
  readonly startedAt?: string;
}

function parseRequest(raw: unknown): LoadRequest {
  const parsed = LoadRequestSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidInputError(`Invalid load input: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** A load id from the execution name: stable across retries of this task. */
function loadIdOf(executionId: string): string {
  const name = executionId.split(':').pop() ?? '';
  const safe = name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
  return safe || `load-${Date.now()}`;
}

/**
 * PlanLoad: lists the source's raw objects in the window (or everything pending), subtracts
 * those already in the `_loads` ledger (unless reloading), takes at most `maxObjectsPerLoad`
 * oldest first, groups them into transform chunks and writes the plan to S3.
 */
export async function handler(event: PlanLoadEvent): Promise<PlanOutput> {
  const { config, objects, warehouse } = loaderContext();
  const request = parseRequest(event.request);
  const flags = config.SOURCES.find((s) => s.name === request.source);
  if (!flags) throw new InvalidInputError(`Unknown source "${request.source}": configured sources are ${config.SOURCES.map((s) => s.name).join(', ')}`);
  const dryRun = request.dryRun || flags.dryRun;
  if (!flags.load && !dryRun) throw new InvalidInputError(`Source "${request.source}" has its load flag off: run a test load with "dryRun": true, or turn the flag on`);
  const schema = schemaName(request.source);
  const now = new Date();

  let from: Date | undefined;
  let to: Date | undefined;
  if (request.window) {
    from = floorHour(new Date(request.window.from));
    to = new Date(Math.ceil(Date.parse(request.window.to) / 3_600_000) * 3_600_000);
  }
  const ledgerRows = await warehouse.query(LEDGER_EXISTS_QUERY, { schema }, 'ledger lookup');
  const ledgerExists = Number(ledgerRows[0]?.n ?? 0) > 0;
  if (!from && ledgerExists && request.mode === 'pending') {
    const latest = (await warehouse.query(latestLedgerHourQuery(schema), {}, 'latest loaded hour'))[0]?.hour;
    if (latest) from = new Date(Date.parse(`${String(latest).replace(' ', 'T')}Z`) - PENDING_SLACK_MS);
  }

  const prefix = `${request.source}/`;
  const startAfter = from ? hourPrefix(request.source, from).slice(0, -1) : undefined;
  const listed = await objects.list(config.RAW_BUCKET, prefix, startAfter);
  let candidates: PlannedObject[] = listed
    .map((o) => ({ key: o.key, size: o.size, hour: hourOfKey(o.key) ?? '', lastModified: o.lastModified.toISOString() }))
    .filter((o) => o.hour && (!from || Date.parse(o.hour) >= from.getTime()) && (!to || Date.parse(o.hour) < to.getTime()));

  if (request.mode === 'pending' && ledgerExists && candidates.length > 0) {
    const first = candidates[0].hour;
    const last = candidates[candidates.length - 1].hour;
    const loaded = await warehouse.query(ledgerKeysQuery(schema), { from: sqlTime(first), to: sqlTime(new Date(Date.parse(last) + 3_600_000)) }, 'ledger keys');
    const done = new Set(loaded.map((r) => String(r.object_key)));
    candidates = candidates.filter((o) => !done.has(o.key));
  }
  // Oldest first: by hour, then by when the object was written, then by key.
  candidates.sort((a, b) => a.hour.localeCompare(b.hour) || Date.parse(a.lastModified) - Date.parse(b.lastModified) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  if (request.mode === 'pending' && !request.window) {
    const oldest = candidates.reduce<number | undefined>((m, o) => (m === undefined ? Date.parse(o.lastModified) : Math.min(m, Date.parse(o.lastModified))), undefined);
    metrics.addDimension('Source', request.source);
    metrics.addMetric(METRIC_NAMES.oldestPendingObjectAge, MetricUnit.Seconds, oldest === undefined ? 0 : Math.max(0, (now.getTime() - oldest) / 1000));
    metrics.publishStoredMetrics();
  }

  const take = candidates.slice(0, config.MAX_OBJECTS_PER_LOAD);
  const chunks = batchBy(take.map((o, index) => ({ index, size: o.size })), (o) => o.size, CHUNK_OBJECTS, CHUNK_BYTES).map((chunk) => chunk.map((o) => o.index));

  const loadId = loadIdOf(event.executionId);
  const more = candidates.length > take.length;
  const plan: LoadPlan = { loadId, source: request.source, mode: request.mode, dryRun, window: request.window, objects: take, chunks, more, createdAt: now.toISOString() };
  const planKey = layout.plan(request.source, loadId);
  await objects.putJson(config.STAGED_BUCKET, planKey, plan);
  logger.info('load planned', { source: request.source, loadId, objects: take.length, pending: candidates.length, chunks: chunks.length, dryRun, mode: request.mode });
  return {
    loadId,
    source: request.source,
    planKey,
    objects: take.length,
    bytes: take.reduce((n, o) => n + o.size, 0),
    chunks: chunks.map((_, index) => ({ index })),
    dryRun,
    mode: request.mode,
    more,
  };
}

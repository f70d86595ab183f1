import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { batchBy } from '../core/batching';
import { InvalidInputError } from '../core/errors';
import { floorHour, layout } from '../core/layout';
import { type LoadPlan, type LoadRequest, LoadRequestSchema, type PlanOutput } from '../core/loadTypes';
import { METRIC_NAMES, METRIC_SERVICES, METRICS_NAMESPACE } from '../core/metrics';
import { sfnClient } from '../io/clients';
import { loaderContext } from '../io/context';
import { IsolationStore } from '../io/isolation';
import { LoadLocks } from '../io/loadLock';
import { planWithIsolation } from '../core/isolation';
import { candidateObjects, lagSeconds } from '../io/pending';

const logger = new Logger({ serviceName: 'plan-load' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRIC_SERVICES.loader });

/** Transform chunks: at most this many objects or compressed bytes each. */
const CHUNK_OBJECTS = 50;
const CHUNK_BYTES = 16 * 1024 * 1024;

export interface PlanLoadEvent {
  readonly request: unknown;
  readonly executionId: string;
  readonly startedAt?: string;
}

function parseRequest(raw: unknown): LoadRequest {
  const parsed = LoadRequestSchema.safeParse(raw);
  if (!parsed.success)
    throw new InvalidInputError(`Invalid load input: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`);
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
  if (!flags.load && !dryRun)
    throw new InvalidInputError(`Source "${request.source}" has its load flag off: run a test load with "dryRun": true, or turn the flag on`);
  const now = new Date();
  const loadId = loadIdOf(event.executionId);

  // A pending load of the whole source runs alone: a tick while one runs ends here, counted.
  const exclusive = request.mode === 'pending' && !request.window;
  const locks = new LoadLocks(objects, sfnClient(), config.STAGED_BUCKET);
  if (exclusive) {
    const lock = await locks.acquire(request.source, event.executionId, now);
    if (!lock.acquired) {
      metrics.addDimension('Source', request.source);
      metrics.addMetric(METRIC_NAMES.loadsSkipped, MetricUnit.Count, 1);
      // The lag is at least as old as the running load (the lag alarm counts no data as an outage).
      if (lock.since) metrics.addMetric(METRIC_NAMES.oldestPendingObjectAge, MetricUnit.Seconds, Math.max(0, (now.getTime() - Date.parse(lock.since)) / 1000));
      metrics.publishStoredMetrics();
      logger.info("load skipped: the source's load is running", { source: request.source, runningLoad: lock.heldBy });
      return {
        loadId,
        source: request.source,
        planKey: '',
        objects: 0,
        bytes: 0,
        chunks: [],
        dryRun,
        mode: request.mode,
        more: false,
        skipped: true,
        runningLoad: lock.heldBy,
      };
    }
  }

  let from: Date | undefined;
  let to: Date | undefined;
  if (request.window) {
    from = floorHour(new Date(request.window.from));
    to = new Date(Math.ceil(Date.parse(request.window.to) / 3_600_000) * 3_600_000);
  }
  const candidates = await candidateObjects({ objects, warehouse, rawBucket: config.RAW_BUCKET }, request.source, { from, to, mode: request.mode });

  let take = candidates.slice(0, config.MAX_OBJECTS_PER_LOAD);
  let pending = candidates;
  if (exclusive) {
    // After failed loads: a smaller window, objects set aside left out (core/isolation.ts).
    const isolation = new IsolationStore(objects, config.STAGED_BUCKET, request.source);
    const state = await isolation.state();
    const planned = planWithIsolation(candidates, state, new Set((await isolation.setAside()).map((o) => o.key)), config.MAX_OBJECTS_PER_LOAD);
    ({ take, pending } = planned);
    metrics.addDimension('Source', request.source);
    if (planned.setAsideNow) {
      const { key, hour } = planned.setAsideNow;
      await isolation.add({ key, hour, error: state.lastError ?? 'unknown', failures: state.alone?.failures ?? 0, at: now.toISOString() });
      await isolation.save({});
      metrics.addMetric(METRIC_NAMES.objectsSetAside, MetricUnit.Count, 1);
      logger.error('raw object set aside: it failed every load on its own', {
        source: request.source,
        key,
        failures: state.alone?.failures,
        error: state.lastError,
      });
    }
    metrics.addMetric(METRIC_NAMES.oldestPendingObjectAge, MetricUnit.Seconds, lagSeconds(pending, now));
    metrics.publishStoredMetrics();
  }

  const chunks = batchBy(
    take.map((o, index) => ({ index, size: o.size })),
    (o) => o.size,
    CHUNK_OBJECTS,
    CHUNK_BYTES,
  ).map((chunk) => chunk.map((o) => o.index));

  const more = pending.length > take.length;
  // Nothing to load: the workflow ends now, and so does this load's hold on the source.
  if (exclusive && take.length === 0) await locks.release(request.source, event.executionId);
  const plan: LoadPlan = {
    loadId,
    source: request.source,
    mode: request.mode,
    dryRun,
    window: request.window,
    objects: take,
    chunks,
    more,
    createdAt: now.toISOString(),
  };
  const planKey = layout.plan(request.source, loadId);
  await objects.putJson(config.STAGED_BUCKET, planKey, plan);
  logger.info('load planned', {
    source: request.source,
    loadId,
    objects: take.length,
    pending: candidates.length,
    chunks: chunks.length,
    dryRun,
    mode: request.mode,
  });
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
    skipped: false,
  };
}

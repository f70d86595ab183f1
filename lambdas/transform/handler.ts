import { Logger } from '@aws-lambda-powertools/logger';
import { InvalidInputError } from '../core/errors';
import { layout } from '../core/layout';
import type { ChunkStats, LoadPlan, ObjectStats, TableFileStats } from '../core/loadTypes';
import { stagedOrder, stagedTimeOf, tagOf } from '../core/staged';
import { mapEvent, reachesCallTable, stageDiscard } from '../core/transform';
import { loaderContext } from '../io/context';
import { SuppressionStore } from '../io/suppression';

const logger = new Logger({ serviceName: 'transform' });

/** Uncompressed bytes per staged file before a new part starts (COPY likes 1–125 MB compressed). */
const PART_BYTES = 64 * 1024 * 1024;

export interface TransformEvent {
  readonly loadId: string;
  readonly source: string;
  readonly planKey: string;
  readonly chunk: { readonly index: number };
}

let planCache: { key: string; plan: LoadPlan } | undefined;

class TableWriter {
  readonly stats: TableFileStats = { rows: 0, columns: {}, files: [] };
  private lines: string[] = [];
  private bytes = 0;
  private part = 0;

  constructor(
    private readonly table: string,
    private readonly flush: (table: string, part: number, body: string) => Promise<{ key: string; bytes: number }>,
  ) {}

  /** Adds a row; true when the buffered part is full and should be written (`close`). */
  add(values: Record<string, string>, order: string): boolean {
    // `{...values, "__order": …}` without copying the object: values always has columns, so it ends in `}`.
    const json = JSON.stringify(values);
    const line = `${json.slice(0, -1)},"__order":${JSON.stringify(order)}}`;
    this.lines.push(line);
    this.bytes += line.length + 1;
    this.stats.rows++;
    const received = values.received_at;
    if (received !== undefined && tagOf(received) === 't') {
      const time = stagedTimeOf(received);
      if (this.stats.minReceivedAt === undefined || time < this.stats.minReceivedAt) this.stats.minReceivedAt = time;
    }
    const columns = this.stats.columns;
    for (const column in values) {
      const counts = (columns[column] ??= {});
      const tag = tagOf(values[column]);
      counts[tag] = (counts[tag] ?? 0) + 1;
    }
    return this.bytes >= PART_BYTES;
  }

  async close(): Promise<void> {
    if (this.lines.length === 0) return;
    const body = `${this.lines.join('\n')}\n`;
    this.lines = [];
    this.bytes = 0;
    this.stats.files.push(await this.flush(this.table, this.part++, body));
  }
}

/**
 * Transform: reads one chunk of raw objects, maps every event to its table rows (and what cannot
 * be loaded to `_discards` rows), writes per-table gzip NDJSON for COPY and the chunk's statistics.
 */
export async function handler(event: TransformEvent): Promise<{ chunk: number; events: number; discardedEvents: number; tables: number }> {
  const { config, objects } = loaderContext();
  if (!planCache || planCache.key !== event.planKey)
    planCache = { key: event.planKey, plan: await objects.getJson<LoadPlan>(config.STAGED_BUCKET, event.planKey) };
  const plan = planCache.plan;
  const indexes = plan.chunks[event.chunk.index];
  if (!indexes) throw new InvalidInputError(`The plan ${event.planKey} has no chunk ${event.chunk.index}`);

  const writers = new Map<string, TableWriter>();
  const flush = async (table: string, part: number, body: string) => {
    const key = layout.tableFile(plan.source, plan.loadId, table, event.chunk.index, part);
    const bytes = await objects.putGzip(config.STAGED_BUCKET, key, body);
    return { key, bytes };
  };
  const writer = (table: string) => {
    let w = writers.get(table);
    if (!w) writers.set(table, (w = new TableWriter(table, flush)));
    return w;
  };

  // Erased identities never load, whatever brings their messages back (an import, a late object).
  const suppressed = await new SuppressionStore(objects, config.CONTROL_BUCKET, config.SUPPRESSION_CACHE_SECONDS).matcher(plan.source);
  const objectStats: ObjectStats[] = [];
  let events = 0;
  let discardedEvents = 0;
  for (const index of indexes) {
    const object = plan.objects[index];
    const stats: ObjectStats = { key: object.key, hour: object.hour, events: 0, discardedEvents: 0, stagedEvents: 0 };
    objectStats.push(stats);
    const text = (await objects.getGunzipped(config.RAW_BUCKET, object.key)).toString('utf8');
    const lines = text.split('\n');
    for (let line = 0; line < lines.length; line++) {
      const raw = lines[line];
      if (raw.trim() === '') continue;
      let parsed: unknown;
      let mapped;
      try {
        parsed = JSON.parse(raw);
        // A suppressed message is not an event of this object: not counted, not loaded, not discarded.
        if (!suppressed.empty && suppressed.message(parsed)) continue;
        mapped = mapEvent(parsed, { object: object.key, line });
      } catch (e) {
        mapped = mapEvent(undefined, { object: object.key, line });
        mapped.discards[0] = { ...mapped.discards[0], reason: `line is not valid JSON: ${(e as Error).message.slice(0, 200)}`, value: raw.slice(0, 60_000) };
      }
      stats.events++;
      if (mapped.discarded) stats.discardedEvents++;
      if (reachesCallTable(mapped)) stats.stagedEvents++;
      const order = stagedOrder(mapped.rows[0]?.receivedAt ?? '', object.key, line);
      for (const row of mapped.rows) {
        const w = writer(row.table);
        if (w.add(row.values, order)) await w.close();
      }
      for (const d of mapped.discards) {
        const w = writer('_discards');
        if (w.add(stageDiscard(d, plan.loadId), order)) await w.close();
      }
    }
    events += stats.events;
    discardedEvents += stats.discardedEvents;
  }
  for (const w of writers.values()) await w.close();

  const chunkStats: ChunkStats = {
    loadId: plan.loadId,
    source: plan.source,
    chunk: event.chunk.index,
    objects: objectStats,
    events,
    discardedEvents,
    tables: Object.fromEntries([...writers].map(([table, w]) => [table, w.stats])),
  };
  await objects.putJson(config.STAGED_BUCKET, layout.stats(plan.source, plan.loadId, event.chunk.index), chunkStats);
  logger.info('chunk transformed', { loadId: plan.loadId, chunk: event.chunk.index, objects: indexes.length, events, discardedEvents, tables: writers.size });
  return { chunk: event.chunk.index, events, discardedEvents, tables: writers.size };
}

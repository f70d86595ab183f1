import { hourOfKey, sqlTime } from '../core/layout';
import { erasureLayout, type IdentityMatcher, lineId, parseLine } from '../core/privacy';
import { mapEvent, reachesCallTable } from '../core/transform';
import type { ObjectStore } from './objects';

/** One thing a forget request reads and may rewrite: a raw object, a quarantine object, or a load's staged folder. */
export interface ErasureItem {
  readonly source: string;
  readonly kind: 'raw' | 'quarantine' | 'load';
  /** Object key, or for `load` the folder prefix `loads/<source>/<loadId>/`. */
  readonly key: string;
}

export interface RewriteTotals {
  /** Objects read. */
  objects: number;
  /** Objects that held a line of the identities (rewritten unless a dry run). */
  rewritten: number;
  /** Lines removed (would be, in a dry run). */
  linesRemoved: number;
}

export interface RewriteDeps {
  readonly objects: ObjectStore;
  readonly rawBucket: string;
  readonly stagedBucket: string;
  readonly requestId: string;
  readonly dryRun: boolean;
}

const ndjson = (rows: unknown[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('');
const linesOf = (buf: Buffer) =>
  buf
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

/**
 * Removes the identities' lines from one item, nothing else: the other lines keep their bytes and
 * order. A raw object's removed message ids and its new counts are written first (for the ledger),
 * then the object is replaced in one PUT; running it again finds nothing to remove.
 */
export async function rewriteItem(deps: RewriteDeps, item: ErasureItem, matcher: IdentityMatcher, totals: RewriteTotals): Promise<void> {
  if (item.kind === 'load') return rewriteLoadFolder(deps, item, matcher, totals);
  totals.objects++;
  const lines = linesOf(await deps.objects.getGunzipped(deps.rawBucket, item.key));
  const kept: string[] = [];
  const removed = new Set<string>();
  for (const line of lines) {
    const parsed = parseLine(line);
    const message = item.kind === 'quarantine' && parsed && typeof parsed === 'object' ? (parsed as { message?: unknown }).message : parsed;
    if (matcher.message(message)) removed.add(lineId(message, line));
    else kept.push(line);
  }
  if (kept.length === lines.length) return;
  totals.rewritten++;
  totals.linesRemoved += lines.length - kept.length;
  if (deps.dryRun) return;
  if (item.kind === 'raw') {
    const hour = hourOfKey(item.key);
    // The ledger's counts of the object as the transform would count it now.
    let discarded = 0;
    let staged = 0;
    kept.forEach((line, i) => {
      const mapped = mapEvent(parseLine(line), { object: item.key, line: i });
      if (mapped.discarded) discarded++;
      if (reachesCallTable(mapped)) staged++;
    });
    if (hour)
      await deps.objects.putGzip(
        deps.stagedBucket,
        erasureLayout.ids(deps.requestId, item.source, item.key),
        ndjson([...removed].map((id) => ({ id, object_hour: sqlTime(hour) }))),
      );
    await deps.objects.putGzip(
      deps.stagedBucket,
      erasureLayout.object(deps.requestId, item.source, item.key),
      ndjson([{ object_key: item.key, events: kept.length, discarded_events: discarded, staged_events: staged }]),
    );
  }
  await deps.objects.putGzip(deps.rawBucket, item.key, kept.length > 0 ? `${kept.join('\n')}\n` : '');
}

/** A load's staged COPY files: rows of the identities, then `_discards` rows of the messages removed. */
async function rewriteLoadFolder(deps: RewriteDeps, item: ErasureItem, matcher: IdentityMatcher, totals: RewriteTotals): Promise<void> {
  const files = (await deps.objects.list(deps.stagedBucket, `${item.key}tables/`)).map((o) => o.key).filter((k) => k.endsWith('.json.gz'));
  const isDiscards = (k: string) => k.startsWith(`${item.key}tables/_discards/`);
  const removedIds = new Set<string>();
  const rewrite = async (key: string, drop: (row: Record<string, unknown>) => boolean) => {
    totals.objects++;
    const lines = linesOf(await deps.objects.getGunzipped(deps.stagedBucket, key));
    const kept = lines.filter((line) => {
      const row = parseLine(line) as Record<string, unknown> | undefined;
      if (!row || !drop(row)) return true;
      if (typeof row.id === 'string') removedIds.add(row.id.slice(2));
      return false;
    });
    if (kept.length === lines.length) return;
    totals.rewritten++;
    totals.linesRemoved += lines.length - kept.length;
    if (!deps.dryRun) await deps.objects.putGzip(deps.stagedBucket, key, kept.length > 0 ? `${kept.join('\n')}\n` : '');
  };
  for (const key of files.filter((k) => !isDiscards(k))) await rewrite(key, (row) => matcher.stagedRow(row));
  if (removedIds.size === 0) return;
  for (const key of files.filter(isDiscards)) await rewrite(key, (row) => typeof row.row_id === 'string' && removedIds.has(row.row_id.slice(2)));
}

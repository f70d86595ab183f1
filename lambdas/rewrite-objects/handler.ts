import { Logger } from '@aws-lambda-powertools/logger';
import { erasureLayout, IdentityMatcher, type IdentityKind } from '../core/privacy';
import { loaderContext } from '../io/context';
import { type ErasureItem, rewriteItem, type RewriteTotals } from '../io/erasure';
import { SuppressionStore } from '../io/suppression';

const logger = new Logger({ serviceName: 'rewrite-objects' });

export interface RewriteEvent {
  readonly Items: ErasureItem[];
  readonly BatchInput: { readonly requestId: string; readonly dryRun: boolean };
}

/**
 * RewriteObjects: one Distributed Map batch of a forget request. Removes from each item the lines
 * of the request's identities and of everyone already suppressed in that source; writes the
 * batch's totals per source to S3 (summed by EraseRows), returns nothing large.
 */
export async function handler(event: RewriteEvent): Promise<{ items: number }> {
  const { config, objects } = loaderContext();
  const { requestId, dryRun } = event.BatchInput;
  const suppression = new SuppressionStore(objects, config.CONTROL_BUCKET, 0);
  const matchers = new Map<string, IdentityMatcher>();
  const matcher = async (source: string) => {
    let m = matchers.get(source);
    if (!m) {
      const who = { userIds: [] as string[], anonymousIds: [] as string[] };
      for (const line of (await objects.getGunzipped(config.STAGED_BUCKET, erasureLayout.identities(requestId, source))).toString('utf8').split('\n')) {
        if (!line) continue;
        const { kind, value } = JSON.parse(line) as { kind: IdentityKind; value: string };
        (kind === 'userId' ? who.userIds : who.anonymousIds).push(value);
      }
      matchers.set(source, (m = IdentityMatcher.of(await suppression.read(source), who)));
    }
    return m;
  };
  const totals: Record<string, RewriteTotals> = {};
  const deps = { objects, rawBucket: config.RAW_BUCKET, stagedBucket: config.STAGED_BUCKET, requestId, dryRun };
  for (const item of event.Items) {
    const t = (totals[item.source] ??= { objects: 0, rewritten: 0, linesRemoved: 0 });
    await rewriteItem(deps, item, await matcher(item.source), t);
  }
  const first = event.Items[0]?.key ?? 'empty';
  await objects.putJson(config.STAGED_BUCKET, erasureLayout.batch(requestId, first), totals);
  logger.info('batch rewritten', { requestId, dryRun, items: event.Items.length, totals });
  return { items: event.Items.length };
}

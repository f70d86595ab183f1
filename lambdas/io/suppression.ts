import { EMPTY_SUPPRESSION, IdentityMatcher, parseSuppression, type SuppressionList, suppressionKey } from '../core/privacy';
import type { ObjectStore } from './objects';

const notFound = (e: unknown) => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404;
};

/**
 * The suppression lists, one object per source in the control bucket. Readers keep a list for
 * `cacheSeconds` (the collector answers thousands of requests a second; the list changes rarely),
 * so a new entry takes effect within that time: the forget workflow waits it out.
 */
/**
 * Lists read by this execution environment, by bucket and source: a store is made per invocation
 * (with that invocation's clients) and the cache outlives it, as a warm Lambda's module state does.
 */
const cache = new Map<string, { at: number; matcher: IdentityMatcher }>();

export class SuppressionStore {
  constructor(
    private readonly objects: ObjectStore,
    private readonly bucket: string,
    private readonly cacheSeconds = 30,
  ) {}

  /** The list as stored now (empty when the source has none yet). */
  async read(source: string): Promise<SuppressionList> {
    try {
      return parseSuppression((await this.objects.get(this.bucket, suppressionKey(source))).toString('utf8'));
    } catch (e) {
      if (notFound(e)) return EMPTY_SUPPRESSION;
      throw e;
    }
  }

  async write(source: string, list: SuppressionList): Promise<void> {
    await this.objects.putJson(this.bucket, suppressionKey(source), list);
    cache.delete(`${this.bucket}/${source}`);
  }

  /** Who is suppressed in a source, from a copy at most `cacheSeconds` old. */
  async matcher(source: string, now = Date.now()): Promise<IdentityMatcher> {
    const key = `${this.bucket}/${source}`;
    const hit = cache.get(key);
    if (hit && now - hit.at < this.cacheSeconds * 1000) return hit.matcher;
    const matcher = IdentityMatcher.of(await this.read(source));
    cache.set(key, { at: now, matcher });
    return matcher;
  }
}

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
export class SuppressionStore {
  private readonly cache = new Map<string, { at: number; matcher: IdentityMatcher }>();

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
    this.cache.delete(source);
  }

  /** Who is suppressed in a source, from a copy at most `cacheSeconds` old. */
  async matcher(source: string, now = Date.now()): Promise<IdentityMatcher> {
    const hit = this.cache.get(source);
    if (hit && now - hit.at < this.cacheSeconds * 1000) return hit.matcher;
    const matcher = IdentityMatcher.of(await this.read(source));
    this.cache.set(source, { at: now, matcher });
    return matcher;
  }
}

import * as zlib from 'node:zlib';
import type { AnalyticsBrowser as AnalyticsBrowserType } from '@segment/analytics-next';
import { JSDOM } from 'jsdom';
import { eventually, startTestCloud, type TestCloud } from '../../support/localCloud';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- stored events are free-form JSON
type Stored = Record<string, any>;

/**
 * analytics.js (`@segment/analytics-next`) in a DOM (jsdom on another origin), pointed at the
 * collector with nothing but its `apiHost` setting — in its default delivery (one request per
 * event, text/plain) and in batching mode (`/b`).
 */
describe('Collector with @segment/analytics-next (analytics.js)', () => {
  let t: TestCloud;
  let AnalyticsBrowser: typeof AnalyticsBrowserType;
  const urls: string[] = [];
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    const dom = new JSDOM('<!doctype html><html><head><title>Shop</title></head><body></body></html>', {
      url: 'https://shop.example.org/pricing?ref=ad',
      referrer: 'https://www.google.com/',
    });
    const g = globalThis as Record<string, unknown>;
    for (const key of [
      'window',
      'document',
      'navigator',
      'location',
      'localStorage',
      'sessionStorage',
      'HTMLElement',
      'Element',
      'Node',
      'Event',
      'CustomEvent',
      'screen',
    ]) {
      if (g[key] === undefined) g[key] = (dom.window as unknown as Record<string, unknown>)[key];
    }
    // fetch, recording where analytics.js sends.
    const realFetch = globalThis.fetch;
    const recording: typeof fetch = (input, init) => {
      urls.push(String(input instanceof Request ? input.url : input));
      return realFetch(input, init);
    };
    globalThis.fetch = recording;
    (dom.window as unknown as { fetch: typeof fetch }).fetch = recording;
    ({ AnalyticsBrowser } = await import('@segment/analytics-next'));
  });
  afterAll(() => t.stop());

  async function storedEvents(ids: string[]): Promise<Stored[]> {
    return eventually(
      () => {
        t.cloud.firehose.flushAll();
        const bucket = t.cloud.endpoints.buckets.raw;
        const events = [...t.cloud.store.keys(bucket, 'web/')]
          .flatMap((o) =>
            zlib
              .gunzipSync(t.cloud.store.get(bucket, o.key).body)
              .toString()
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l)),
          )
          .filter((e) => ids.includes(e.messageId));
        return events.length === ids.length ? events : undefined;
      },
      20_000,
      `events ${ids.join(', ')} in the raw bucket`,
    );
  }

  const settings = (extra: Record<string, unknown> = {}) => ({
    metrics: { sampleRate: 0 },
    integrations: {
      'Segment.io': { apiKey: 'local-web-write-key', apiHost: `${t.cloud.endpoints.collector.replace(/^http:\/\//, '')}/v1`, protocol: 'http', ...extra },
    },
  });

  it('delivers track, page and identify in the default mode with context from the page', async () => {
    const [analytics] = await AnalyticsBrowser.load(
      { writeKey: 'local-web-write-key', cdnSettings: settings() as never },
      { integrations: { 'Segment.io': { apiHost: `${t.cloud.endpoints.collector.replace(/^http:\/\//, '')}/v1`, protocol: 'http' } } as never },
    );
    await analytics.page('Pricing', {}, { messageId: 'next-page' } as never);
    await analytics.track('Plan Selected', { plan: 'pro' }, { messageId: 'next-track' } as never);
    await analytics.identify('user-7', { email: 'u7@example.com' }, { messageId: 'next-identify' } as never);
    const events = await storedEvents(['next-page', 'next-track', 'next-identify']);
    const track = events.find((e) => e.messageId === 'next-track') as Stored;
    expect(track).toMatchObject({ type: 'track', event: 'Plan Selected', properties: { plan: 'pro' } });
    expect(track.context.library.name).toBe('analytics.js');
    expect(track.context.page).toMatchObject({ url: 'https://shop.example.org/pricing?ref=ad', referrer: 'https://www.google.com/' });
    expect(track.anonymousId).toEqual(expect.any(String));
    expect(track.receivedAt).toEqual(expect.any(String));
    expect(events.find((e) => e.messageId === 'next-identify')).toMatchObject({ type: 'identify', userId: 'user-7', traits: { email: 'u7@example.com' } });
    expect(JSON.stringify(events)).not.toContain('writeKey');
    const paths = urls.map((u) => new URL(u).pathname);
    expect(paths).toEqual(expect.arrayContaining(['/v1/p', '/v1/t', '/v1/i']));
  });

  it('delivers in batching mode through /v1/b', async () => {
    const [analytics] = await AnalyticsBrowser.load(
      { writeKey: 'local-web-write-key', cdnSettings: settings({ deliveryStrategy: { strategy: 'batching', config: { size: 3, timeout: 100 } } }) as never },
      {
        integrations: {
          'Segment.io': {
            apiHost: `${t.cloud.endpoints.collector.replace(/^http:\/\//, '')}/v1`,
            protocol: 'http',
            deliveryStrategy: { strategy: 'batching', config: { size: 3, timeout: 100 } },
          },
        } as never,
      },
    );
    void analytics.track('Batched One', {}, { messageId: 'next-b1' } as never);
    void analytics.track('Batched Two', {}, { messageId: 'next-b2' } as never);
    void analytics.track('Batched Three', {}, { messageId: 'next-b3' } as never);
    const events = await storedEvents(['next-b1', 'next-b2', 'next-b3']);
    expect(events.map((e) => e.event).sort()).toEqual(['Batched One', 'Batched Three', 'Batched Two']);
    expect(urls.filter((u) => new URL(u).pathname === '/v1/b')).toHaveLength(1);
  });
});

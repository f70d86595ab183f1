import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { build } from 'esbuild';
import type { Browser, Request, Response } from 'playwright-core';
import { launchChromium, segmentSnippet, servePages } from '../../support/browser';
import { eventually, startTestCloud, type TestCloud } from '../../support/localCloud';
import { runLoad, sql } from '../../support/pipeline';

/**
 * analytics.js in a real browser (Debian's headless Chromium), on a page of another origin,
 * loading everything from the collector as it would from Segment's CDN: Segment's standard snippet
 * (only its host changed), and the npm build with `cdnURL`. Real CORS, real retries.
 */
describe('analytics.js in a real browser', () => {
  let t: TestCloud;
  let browser: Browser;
  let writeKey: string;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    writeKey = t.cloud.endpoints.sources.find((s) => s.name === 'web')?.writeKeys[0] as string;
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function rows(query: string): Promise<unknown[][]> {
    t.cloud.firehose.flushAll();
    await runLoad(t);
    return sql(t, query);
  }

  it("loads Segment's standard snippet from the collector; a first delivery answered 503 is retried (X-Retry-Count, CORS preflight) and every event lands once", async () => {
    const calls =
      'analytics.page("Pricing");analytics.track("Browser Snippet",{plan:"pro",seats:3});analytics.identify("browser-user",{email:"b@example.com"});';
    const site = await servePages({
      '/': {
        type: 'text/html',
        body: `<!doctype html><html><head><title>Shop</title><script>${segmentSnippet(writeKey, t.cloud.endpoints.collector, calls)}</script></head><body>shop</body></html>`,
      },
    });
    const page = await browser.newPage();
    const seen: Array<{ method: string; url: string; status: number; retry?: string }> = [];
    const failed: string[] = [];
    page.on('response', (r: Response) =>
      seen.push({ method: r.request().method(), url: r.url(), status: r.status(), retry: r.request().headers()['x-retry-count'] }),
    );
    page.on('requestfailed', (r: Request) => failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    // Chromium logs each non-2xx answer (the injected 503s, the site's missing favicon); anything else — a CORS block above all — is a failure.
    page.on('console', (m) => {
      if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of (503|404)/.test(m.text()))
        failed.push(`console: ${m.text()}`);
    });
    try {
      // Firehose rejects the first records: the collector's own retries fail and it answers 503.
      t.cloud.firehose.faults.failRecords = 12; // each of the three requests tries 4 times
      await page.goto(`${site.origin}/`);
      const collector = t.cloud.endpoints.collector;
      await eventually(
        () => {
          const delivered = seen.filter((s) => s.method === 'POST' && s.url.startsWith(`${collector}/v1/`) && s.status === 200);
          return delivered.length >= 3 ? delivered : undefined;
        },
        30_000,
        'three deliveries answered 200 (a CORS block shows as a timeout here)',
      );
      // What the page loaded: the bundle and its settings, from the collector, not from Segment.
      expect(seen).toContainEqual(expect.objectContaining({ method: 'GET', url: `${collector}/analytics.js/v1/${writeKey}/analytics.min.js`, status: 200 }));
      expect(seen).toContainEqual(expect.objectContaining({ method: 'GET', url: `${collector}/v1/projects/${writeKey}/settings`, status: 200 }));
      expect(seen.filter((s) => !s.url.startsWith(collector) && !s.url.startsWith(site.origin))).toEqual([]);
      // The first delivery failed with 503 and its retry, carrying X-Retry-Count, got through CORS.
      expect(seen).toContainEqual(expect.objectContaining({ method: 'POST', status: 503 }));
      expect(seen).toContainEqual(expect.objectContaining({ method: 'POST', status: 200, retry: expect.stringMatching(/^[1-9]/) }));
      expect(failed).toEqual([]);
    } finally {
      await page.close();
      await site.close();
    }
    expect(await rows('SELECT event_text, plan, seats FROM web.browser_snippet')).toEqual([['Browser Snippet', 'pro', 3]]);
    expect(await sql(t, "SELECT COUNT(*) FROM web.tracks WHERE event_text = 'Browser Snippet'")).toEqual([[1]]);
    expect(await sql(t, "SELECT name, context_page_path FROM web.pages WHERE name = 'Pricing'")).toEqual([['Pricing', '/']]);
    expect(await sql(t, "SELECT user_id, email FROM web.identifies WHERE user_id = 'browser-user'")).toEqual([['browser-user', 'b@example.com']]);
  }, 120_000);

  it("dual run (docs/migrate-from-segment.md): the guide's plugin sends every event to Segment and to us with the same messageId", async () => {
    // Segment's API, stood in for by a server that keeps what it receives.
    const toSegment: Array<{ messageId: string; type: string }> = [];
    const segmentApi = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.method === 'POST') toSegment.push(JSON.parse(body));
        res.writeHead(200, { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => segmentApi.listen(0, '127.0.0.1', resolve));
    const segmentHost = `127.0.0.1:${(segmentApi.address() as AddressInfo).port}`;
    const guide = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'docs', 'migrate-from-segment.md'), 'utf8');
    const recipe = (/<!-- dual-run-plugin -->\n```js\n([\s\S]*?)```\n<!-- \/dual-run-plugin -->/.exec(guide) as RegExpExecArray)[1]
      .replace('COLLECTOR', t.cloud.endpoints.collector)
      .replace('WRITE_KEY', writeKey);
    const calls = `${recipe};analytics.track("Dual Run",{n:1});analytics.page("Dual Page");analytics.identify("dual-user",{plan:"pro"});`;
    const options = JSON.stringify({ integrations: { 'Segment.io': { apiHost: `${segmentHost}/v1`, protocol: 'http' } } });
    const site = await servePages({
      '/': {
        type: 'text/html',
        body: `<!doctype html><html><head><title>Dual</title><script>${segmentSnippet(writeKey, t.cloud.endpoints.collector, calls, options)}</script></head><body>dual</body></html>`,
      },
    });
    const page = await browser.newPage();
    try {
      await page.goto(`${site.origin}/`);
      await eventually(() => (toSegment.length >= 3 ? toSegment : undefined), 30_000, 'three deliveries to "Segment"');
    } finally {
      await page.close();
      await site.close();
      segmentApi.close();
    }
    const sent = toSegment.map((m) => [m.type, m.messageId]).sort();
    expect(sent.map(([type]) => type)).toEqual(['identify', 'page', 'track']);
    const ours = await eventually(
      async () => {
        const got = await rows(
          "SELECT 'identify', id FROM web.identifies WHERE user_id = 'dual-user' UNION ALL SELECT 'page', id FROM web.pages WHERE name = 'Dual Page' UNION ALL SELECT 'track', id FROM web.tracks WHERE event_text = 'Dual Run' ORDER BY 1",
        );
        return got.length === 3 ? got : undefined;
      },
      30_000,
      'the three events loaded by us',
    );
    expect(ours).toEqual(sent);
  }, 120_000);

  it('works with the npm build: AnalyticsBrowser.load({ writeKey, cdnURL })', async () => {
    const bundle = await build({
      stdin: {
        contents: `import { AnalyticsBrowser } from '@segment/analytics-next';
          window.start = (writeKey, cdnURL) => { const analytics = AnalyticsBrowser.load({ writeKey, cdnURL });
            return Promise.all([analytics.track('Browser Npm', { ok: true }), analytics.page('Npm Page')]).then(() => 'sent'); };`,
        resolveDir: path.resolve(__dirname, '..', '..', '..'),
        loader: 'js',
      },
      bundle: true,
      platform: 'browser',
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    const site = await servePages({
      '/': { type: 'text/html', body: '<!doctype html><html><head><title>Npm</title><script src="/app.js"></script></head><body>npm</body></html>' },
      '/app.js': { type: 'text/javascript', body: bundle.outputFiles[0].text },
    });
    const page = await browser.newPage();
    const urls: string[] = [];
    page.on('request', (r: Request) => urls.push(r.url()));
    try {
      await page.goto(`${site.origin}/`);
      const collector = t.cloud.endpoints.collector;
      await expect(
        page.evaluate(([k, c]) => (window as unknown as { start(k: string, c: string): Promise<string> }).start(k, c), [writeKey, collector]),
      ).resolves.toBe('sent');
      expect(urls).toContain(`${collector}/v1/projects/${writeKey}/settings`);
      expect(urls.filter((u) => !u.startsWith(collector) && !u.startsWith(site.origin))).toEqual([]);
    } finally {
      await page.close();
      await site.close();
    }
    expect(await rows('SELECT event_text, ok FROM web.browser_npm')).toEqual([['Browser Npm', true]]);
    expect(await sql(t, "SELECT COUNT(*) FROM web.pages WHERE name = 'Npm Page'")).toEqual([[1]]);
  }, 120_000);

  it('answers 404 for an unknown write key and serves cache headers', async () => {
    const collector = t.cloud.endpoints.collector;
    const unknown = await fetch(`${collector}/v1/projects/not-a-key-123/settings`);
    expect(unknown.status).toBe(404);
    const script = await fetch(`${collector}/analytics.js/v1/${writeKey}/analytics.min.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    const settings = (await (await fetch(`${collector}/v1/projects/${writeKey}/settings`)).json()) as {
      integrations: Record<string, { apiHost: string; protocol: string }>;
    };
    expect(settings.integrations['Segment.io']).toMatchObject({ apiHost: `${new URL(collector).host}/v1`, protocol: 'http' });
  });
});

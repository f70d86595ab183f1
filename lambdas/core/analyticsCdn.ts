/**
 * What Segment's CDN serves to analytics.js, served by the collector itself for our write keys:
 * the analytics.js bundle, its lazily loaded chunks and the per-write-key settings. Segment's
 * standard snippet then works unchanged but for the host it loads from, and every request of the
 * page goes to the site's own collector domain (no third party for an ad blocker to block).
 */

/** A GET the collector answers as the CDN does. */
export type CdnRequest =
  | { readonly kind: 'bundle'; readonly writeKey: string }
  | { readonly kind: 'settings'; readonly writeKey: string }
  | { readonly kind: 'chunk'; readonly file: string };

/** Path patterns, as API Gateway route keys (the HTTP API routes them) and as matchers. */
export const CDN_ROUTE_PATHS = ['/analytics.js/v1/{writeKey}/{file}', '/v1/projects/{writeKey}/settings', '/analytics-next/bundles/{file}'] as const;

const WRITE_KEY = '([A-Za-z0-9_.~-]{1,200})';

/** Parses a CDN path; undefined when the path is not one. */
export function parseCdnPath(path: string): CdnRequest | undefined {
  let m = new RegExp(`^/analytics\\.js/v1/${WRITE_KEY}/analytics(?:\\.min)?\\.js$`).exec(path);
  if (m) return { kind: 'bundle', writeKey: decodeURIComponent(m[1]) };
  m = new RegExp(`^/v1/projects/${WRITE_KEY}/settings$`).exec(path);
  if (m) return { kind: 'settings', writeKey: decodeURIComponent(m[1]) };
  m = /^\/analytics-next\/bundles\/([A-Za-z0-9_-]+\.bundle\.[0-9a-f]+\.js)$/.exec(path);
  if (m) return { kind: 'chunk', file: m[1] };
  return undefined;
}

/** Seconds browsers and CDNs may keep each response (Segment's CDN keeps settings about a minute). */
export const CACHE_SECONDS = { bundle: 3600, settings: 60, chunk: 31_536_000 } as const;

/**
 * Segment's settings object for a write key: only the `Segment.io` integration, pointed at this
 * collector (`apiHost` is host + `/v1`, as analytics.js expects it), no device-mode destinations,
 * no remote plugins, and no client metrics (which would go to Segment).
 */
export function settingsFor(writeKey: string, host: string, protocol: 'http' | 'https'): Record<string, unknown> {
  return {
    integrations: {
      'Segment.io': {
        apiKey: writeKey,
        apiHost: `${host}/v1`,
        protocol,
        unbundledIntegrations: [],
        addBundledMetadata: true,
        maybeBundledConfigIds: {},
        versionSettings: { version: '4.4.7', componentTypes: ['browser'] },
      },
    },
    plan: { track: { __default: { enabled: true, integrations: {} } }, identify: { __default: { enabled: true } }, group: { __default: { enabled: true } } },
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0 },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  };
}

/**
 * Put in front of the analytics.js bundle: tells analytics.js where its "CDN" is — the origin that
 * served this script — so the settings and chunks come from the collector too. (analytics.js finds
 * its CDN from the script tag only for `https://` URLs; this works for `http://` local stacks too.)
 */
export const BUNDLE_PREAMBLE =
  '(function(){try{var s=document.currentScript,k=(s&&s.getAttribute("data-global-segment-analytics-key"))||"analytics",' +
  'a=window[k]=window[k]||[];if(s&&!a._cdn)a._cdn=new URL(s.src).origin}catch(e){}})();\n';

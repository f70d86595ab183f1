/**
 * The Segment HTTP Tracking API paths the collector serves, and the call each one stands for.
 * Short forms (`/v1/t`, `/v1/b`, …) are what analytics.js sends; long forms are the HTTP API's.
 */
export const COLLECTOR_ROUTES = {
  batch: 'batch',
  b: 'batch',
  track: 'track',
  t: 'track',
  page: 'page',
  p: 'page',
  screen: 'screen',
  s: 'screen',
  identify: 'identify',
  i: 'identify',
  group: 'group',
  g: 'group',
  alias: 'alias',
  a: 'alias',
} as const;

export type CollectorRoute = keyof typeof COLLECTOR_ROUTES;
export type CollectorCall = (typeof COLLECTOR_ROUTES)[CollectorRoute];

/** `/v1/<route>` for every route. */
export const COLLECTOR_PATHS: ReadonlyArray<string> = Object.keys(COLLECTOR_ROUTES).map((r) => `/v1/${r}`);

/**
 * A seeded generator of realistic Segment traffic: six call types in a typical web mix, a dozen
 * event names with their own property sets, full analytics.js-style context (~1 KB per event),
 * a share of duplicates (client retries) and client clock skew. The same seed gives the same events.
 */

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS: Array<[string, (r: () => number, i: number) => Record<string, unknown>]> = [
  [
    'Product Viewed',
    (r, i) => ({
      product_id: `p-${Math.floor(r() * 5000)}`,
      sku: `SKU-${i % 977}`,
      category: pick(r, ['Shoes', 'Bags', 'Hats', 'Coats']),
      name: `Product ${i % 311}`,
      brand: pick(r, ['Acme', 'Globex', 'Initech']),
      variant: pick(r, ['red', 'blue', 'black']),
      price: round(r() * 200),
      currency: 'USD',
      position: Math.floor(r() * 20),
      url: `https://shop.example.com/p/${i % 5000}`,
    }),
  ],
  [
    'Product Added',
    (r) => ({
      product_id: `p-${Math.floor(r() * 5000)}`,
      quantity: 1 + Math.floor(r() * 3),
      price: round(r() * 200),
      cart_id: `c-${Math.floor(r() * 1e6)}`,
      coupon: r() < 0.2 ? 'SAVE10' : null,
    }),
  ],
  [
    'Checkout Started',
    (r) => ({
      order_id: `o-${Math.floor(r() * 1e7)}`,
      value: round(r() * 500),
      revenue: round(r() * 450),
      shipping: round(r() * 20),
      tax: round(r() * 40),
      currency: 'USD',
      products: [
        { product_id: 'p-1', quantity: 1 },
        { product_id: 'p-2', quantity: 2 },
      ],
    }),
  ],
  [
    'Order Completed',
    (r) => ({
      order_id: `o-${Math.floor(r() * 1e7)}`,
      total: round(r() * 500),
      revenue: round(r() * 450),
      discount: round(r() * 30),
      coupon: r() < 0.3 ? 'WELCOME' : null,
      currency: 'USD',
      payment: { method: pick(r, ['card', 'paypal', 'applepay']), installments: Math.floor(r() * 4) },
    }),
  ],
  ['Signed Up', (r) => ({ plan: pick(r, ['free', 'pro', 'team']), referrer: pick(r, ['google', 'newsletter', 'direct', 'partner']), trial: r() < 0.5 })],
  [
    'Video Played',
    (r) => ({
      video_id: `v-${Math.floor(r() * 900)}`,
      position: Math.floor(r() * 600),
      length: 600,
      quality: pick(r, ['720p', '1080p', '4k']),
      autoplay: r() < 0.3,
    }),
  ],
  [
    'Search Performed',
    (r) => ({
      query: pick(r, ['red shoes', 'winter coat', 'gift ideas', 'sale']),
      results: Math.floor(r() * 120),
      filters: { size: pick(r, ['S', 'M', 'L']), in_stock: r() < 0.8 },
    }),
  ],
  [
    'Button Clicked',
    (r) => ({
      button_id: pick(r, ['cta-hero', 'nav-pricing', 'footer-signup']),
      text: pick(r, ['Start now', 'See pricing', 'Sign up']),
      page: pick(r, ['/', '/pricing', '/blog']),
    }),
  ],
  ['Email Opened', (r) => ({ campaign_id: `cmp-${Math.floor(r() * 50)}`, subject: 'Your weekly digest', list: pick(r, ['news', 'product']) })],
  [
    'Feature Used',
    (r) => ({ feature: pick(r, ['export', 'share', 'comment', 'invite']), count: 1 + Math.floor(r() * 9), duration_ms: Math.floor(r() * 30_000) }),
  ],
];

function pick<T>(r: () => number, xs: T[]): T {
  return xs[Math.floor(r() * xs.length)];
}
function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export interface GeneratorOptions {
  readonly seed?: number;
  /** Share of events sent again with the same messageId (client retries). @default 0.05 */
  readonly duplicates?: number;
  /** Largest client clock skew in ms (either way). @default 120000 */
  readonly skewMs?: number;
  /** Events are spread over this time range, ending now. @default 1 hour */
  readonly spanMs?: number;
  readonly now?: number;
  /** messageIds are `<idPrefix>-<n>`. @default `bench-<seed>` */
  readonly idPrefix?: string;
}

/** `n` raw Segment messages as a client library would send them (before server enrichment). */
export function* generateEvents(n: number, options: GeneratorOptions = {}): Generator<Record<string, unknown>> {
  const r = rng(options.seed ?? 42);
  const duplicates = options.duplicates ?? 0.05;
  const now = options.now ?? Date.now();
  const span = options.spanMs ?? 3_600_000;
  const skew = options.skewMs ?? 120_000;
  const recent: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    if (recent.length > 0 && r() < duplicates) {
      yield recent[Math.floor(r() * recent.length)];
      continue;
    }
    const user = Math.floor(r() * 20_000);
    const at = new Date(now - span + (span * i) / n + (r() - 0.5) * 2 * skew).toISOString();
    const base = {
      messageId: `${options.idPrefix ?? `bench-${options.seed ?? 42}`}-${i}`,
      anonymousId: `anon-${user}`,
      ...(r() < 0.6 ? { userId: `user-${user}` } : {}),
      timestamp: at,
      context: {
        library: { name: 'analytics.js', version: 'next-1.84.3' },
        page: {
          path: pick(r, ['/', '/pricing', '/blog/post', '/shop']),
          referrer: pick(r, ['https://www.google.com/', '', 'https://news.example.org/']),
          title: 'Example Shop',
          url: 'https://shop.example.com/',
        },
        userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
        locale: pick(r, ['en-US', 'de-DE', 'fr-FR']),
        ip: `203.0.113.${user % 250}`,
        campaign: r() < 0.3 ? { source: 'newsletter', medium: 'email', name: 'winter' } : undefined,
        screen: { width: 1440, height: 900 },
      },
    };
    const kind = r();
    let msg: Record<string, unknown>;
    if (kind < 0.6) {
      const [event, props] = EVENTS[Math.floor(r() * EVENTS.length)];
      msg = { ...base, type: 'track', event, properties: props(r, i) };
    } else if (kind < 0.8)
      msg = {
        ...base,
        type: 'page',
        name: pick(r, ['Home', 'Pricing', 'Blog Post', 'Shop']),
        properties: { path: '/pricing', title: 'Pricing', url: 'https://shop.example.com/pricing', search: '' },
      };
    else if (kind < 0.85) msg = { ...base, type: 'screen', name: pick(r, ['Home', 'Settings', 'Cart']), properties: { variant: pick(r, ['a', 'b']) } };
    else if (kind < 0.95)
      msg = {
        ...base,
        type: 'identify',
        userId: `user-${user}`,
        traits: {
          email: `user${user}@example.com`,
          plan: pick(r, ['free', 'pro', 'team']),
          logins: Math.floor(r() * 100),
          company: { name: `Company ${user % 300}`, size: Math.floor(r() * 1000) },
        },
      };
    else if (kind < 0.98)
      msg = {
        ...base,
        type: 'group',
        userId: `user-${user}`,
        groupId: `group-${user % 300}`,
        traits: { name: `Company ${user % 300}`, employees: Math.floor(r() * 5000), industry: pick(r, ['Retail', 'SaaS', 'Media']) },
      };
    else msg = { ...base, type: 'alias', userId: `user-${user}`, previousId: `anon-${user}` };
    recent.push(msg);
    if (recent.length > 1000) recent.shift();
    yield msg;
  }
}

/** What the collector would store for a message: the server enrichment, deterministic for benchmarks. */
export function enrichedForRaw(msg: Record<string, unknown>, receivedAt: string): Record<string, unknown> {
  return { ...msg, receivedAt, sentAt: receivedAt, originalTimestamp: msg.timestamp };
}

import * as zlib from 'node:zlib';
import { Analytics } from '@segment/analytics-node';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { startTestCloud, type TestCloud } from '../../support/localCloud';

let seenKeys = new Set<string>();

/** Raw object keys so far: each test looks only at what it stored itself. */
function markStored(t: TestCloud): void {
  t.cloud.firehose.flushAll();
  seenKeys = new Set([...t.cloud.store.keys(t.cloud.endpoints.buckets.raw, '')].map((o) => o.key));
}

/** Every event this test stored in the raw bucket (all sources), and every quarantined one. */
async function stored(t: TestCloud): Promise<{ events: Array<Record<string, unknown>>; quarantined: Array<Record<string, unknown>> }> {
  t.cloud.firehose.flushAll();
  const bucket = t.cloud.endpoints.buckets.raw;
  const events: Array<Record<string, unknown>> = [];
  const quarantined: Array<Record<string, unknown>> = [];
  for (const o of t.cloud.store.keys(bucket, '')) {
    if (seenKeys.has(o.key)) continue;
    const lines = zlib
      .gunzipSync(t.cloud.store.get(bucket, o.key).body)
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    (o.key.startsWith('_quarantine/') ? quarantined : events).push(...lines);
  }
  return { events, quarantined };
}

async function post(t: TestCloud, path: string, body: unknown, headers: Record<string, string> = {}, raw?: Buffer | string) {
  const res = await fetch(`${t.cloud.endpoints.collector}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: (raw ?? JSON.stringify(body)) as BodyInit,
  });
  return { status: res.status, body: await res.json().catch(() => undefined), headers: res.headers };
}

/**
 * Runs `fn` with a source's Parameter Store entry changed as an operator would (PutParameter
 * through the SDK), the collector re-reading the sources on every request meanwhile; restores both.
 */
async function withSourceEntry(t: TestCloud, source: string, patch: Record<string, unknown>, fn: () => Promise<void>): Promise<void> {
  const ssm = new SSMClient({
    endpoint: t.cloud.endpoints.edge,
    region: t.cloud.endpoints.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const collector = t.cloud.lambdas.functionList.find((f) => f.module.includes('/lambdas/collect/')) as { name: string; environment: Record<string, string> };
  const Name = `${collector.environment.SOURCES_PARAMETER_PATH}/${source}`;
  const original = (await ssm.send(new GetParameterCommand({ Name }))).Parameter?.Value as string;
  await ssm.send(new PutParameterCommand({ Name, Value: JSON.stringify({ ...JSON.parse(original), ...patch }), Overwrite: true }));
  const cacheSeconds = collector.environment.SOURCES_CACHE_SECONDS;
  t.cloud.lambdas.setEnvironment(collector.name, 'SOURCES_CACHE_SECONDS', '0');
  try {
    await fn();
  } finally {
    await ssm.send(new PutParameterCommand({ Name, Value: original, Overwrite: true }));
    await post(t, '/v1/track', {}, basic('restore')); // a request that makes the collector read the restored entry
    t.cloud.lambdas.setEnvironment(collector.name, 'SOURCES_CACHE_SECONDS', cacheSeconds);
  }
}

const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });

describe('Collector', () => {
  let t: TestCloud;
  let webKey: string;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    webKey = t.cloud.endpoints.sources.find((s) => s.name === 'web')?.writeKeys[0] as string;
  });
  beforeEach(() => {
    t.cloud.firehose.faults.failRecords = 0;
    markStored(t);
  });
  afterAll(() => t.stop());

  describe('with @segment/analytics-node', () => {
    it('stores every call type with the Segment fields and the server enrichment', async () => {
      const analytics = new Analytics({ writeKey: webKey, host: t.cloud.endpoints.collector, flushAt: 6, flushInterval: 50 });
      const timestamp = new Date(Date.now() - 60_000);
      analytics.track({ userId: 'u1', event: 'Order Completed', properties: { total: 12.5, items: [{ sku: 'a' }] }, timestamp, messageId: 'm-track' });
      analytics.page({ anonymousId: 'a1', name: 'Home', properties: { path: '/' }, messageId: 'm-page' });
      analytics.screen({ userId: 'u1', name: 'Settings', messageId: 'm-screen' });
      analytics.identify({ userId: 'u1', traits: { email: 'u1@example.com', plan: 'pro' }, messageId: 'm-identify' });
      analytics.group({ userId: 'u1', groupId: 'g1', traits: { name: 'Acme' }, messageId: 'm-group' });
      analytics.alias({ userId: 'u1', previousId: 'a1', messageId: 'm-alias' });
      await analytics.closeAndFlush({ timeout: 10_000 });

      const { events } = await stored(t);
      expect(events.map((e) => e.messageId).sort()).toEqual(['m-alias', 'm-group', 'm-identify', 'm-page', 'm-screen', 'm-track']);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a stored event is free-form JSON
      const track = events.find((e) => e.messageId === 'm-track') as Record<string, any>;
      expect(track).toMatchObject({ type: 'track', event: 'Order Completed', userId: 'u1', properties: { total: 12.5, items: [{ sku: 'a' }] } });
      expect(track.context.library.name).toBe('@segment/analytics-node');
      expect(track.context.ip).toBe('127.0.0.1');
      expect(track.originalTimestamp).toBe(timestamp.toISOString());
      expect(Date.parse(track.receivedAt)).toBeGreaterThanOrEqual(Date.parse(track.sentAt) - 5_000);
      // timestamp = receivedAt − (sentAt − originalTimestamp)
      expect(Date.parse(track.timestamp)).toBe(Date.parse(track.receivedAt) - (Date.parse(track.sentAt) - timestamp.getTime()));
      expect(JSON.stringify(events)).not.toContain(webKey);
      expect(events.find((e) => e.messageId === 'm-group')).toMatchObject({ type: 'group', groupId: 'g1', traits: { name: 'Acme' } });
      expect(events.find((e) => e.messageId === 'm-alias')).toMatchObject({ type: 'alias', previousId: 'a1', userId: 'u1' });
    });

    it('is retried by the client while Firehose fails, resending the same messageIds', async () => {
      t.cloud.firehose.faults.failRecords = 1_000; // every record fails for a while: the collector answers 503
      const analytics = new Analytics({ writeKey: webKey, host: t.cloud.endpoints.collector, flushAt: 3, flushInterval: 20, maxRetries: 10 });
      const responses: number[] = [];
      analytics.on('http_request', () => responses.push(Date.now()));
      for (const id of ['r1', 'r2', 'r3']) analytics.track({ userId: 'u', event: 'Retry Me', messageId: id });
      setTimeout(() => {
        t.cloud.firehose.faults.failRecords = 0;
      }, 600);
      await analytics.closeAndFlush({ timeout: 30_000 });
      const { events } = await stored(t);
      expect(responses.length).toBeGreaterThan(1);
      expect(events.map((e) => e.messageId).sort()).toEqual(['r1', 'r2', 'r3']);
    });
  });

  describe('Firehose writes', () => {
    it('retries records Firehose rejected inside a batch and still answers 200 once all are stored', async () => {
      t.cloud.firehose.faults.failRecords = 1;
      const res = await post(t, '/v1/batch', { batch: [{ type: 'track', event: 'E', userId: 'u', messageId: 'p1' }] }, basic(webKey));
      expect(res).toMatchObject({ status: 200, body: { success: true } });
      expect((await stored(t)).events.map((e) => e.messageId)).toEqual(['p1']);
    });

    it('packs a batch of 2,500 events into a few Firehose records and calls', async () => {
      const batch = Array.from({ length: 2500 }, (_, i) => ({ type: 'track', event: 'Packed', userId: `u${i}`, messageId: `k${i}` }));
      const before = { ...t.cloud.firehose.counters };
      const res = await post(t, '/v1/batch', { batch }, basic(webKey));
      expect(res.status).toBe(200);
      const records = t.cloud.firehose.counters.records - before.records;
      expect(records).toBeLessThanOrEqual(2);
      expect(t.cloud.firehose.counters.putCalls - before.putCalls).toBe(1);
      expect((await stored(t)).events).toHaveLength(2500);
    });
  });

  describe('request formats', () => {
    it('reads a key written with JSON escapes in the body after parsing (the early check leaves it alone)', async () => {
      const escaped = JSON.stringify({ writeKey: webKey, type: 'track', event: 'Escaped Key', anonymousId: 'x', messageId: 'esc-1' }).replace(
        `"writeKey":"${webKey[0]}`,
        `"writeKey":"\\u${webKey.charCodeAt(0).toString(16).padStart(4, '0')}`,
      );
      expect(escaped).toContain('"writeKey":"\\u');
      const res = await post(t, '/v1/t', undefined, { 'content-type': 'text/plain' }, escaped);
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { success: true } });
    });

    it('accepts analytics.js style text/plain bodies with writeKey in the body on short routes', async () => {
      const res = await post(
        t,
        '/v1/t',
        undefined,
        { 'content-type': 'text/plain' },
        JSON.stringify({ writeKey: webKey, type: 'track', event: 'Clicked', anonymousId: 'x', messageId: 'tp1' }),
      );
      expect(res.status).toBe(200);
      const { events } = await stored(t);
      expect(events[0]).toMatchObject({ type: 'track', event: 'Clicked', messageId: 'tp1' });
      expect(events[0]).not.toHaveProperty('writeKey');
    });

    it('accepts gzip bodies and merges batch-level context under each message', async () => {
      const body = zlib.gzipSync(
        JSON.stringify({
          batch: [{ type: 'page', anonymousId: 'a', messageId: 'gz1', context: { page: { path: '/x' } } }],
          context: { library: { name: 'custom', version: '1' }, page: { path: '/batch', title: 'T' } },
          integrations: { All: true },
          sentAt: new Date().toISOString(),
        }),
      );
      const res = await post(t, '/v1/b', undefined, { ...basic(webKey), 'content-encoding': 'gzip' }, body);
      expect(res.status).toBe(200);
      const [event] = (await stored(t)).events;
      expect(event.context).toEqual({ library: { name: 'custom', version: '1' }, page: { path: '/x', title: 'T' }, ip: '127.0.0.1' });
      expect(event.integrations).toEqual({ All: true });
      expect(event.sentAt).toBeDefined();
    });

    it('adds a messageId when the client sent none', async () => {
      await post(t, '/v1/identify', { userId: 'u', traits: { a: 1 } }, basic(webKey));
      const [event] = (await stored(t)).events;
      expect(event.messageId).toMatch(/^[0-9a-f-]{36}$/);
      expect(event.type).toBe('identify');
    });

    it('answers a CORS preflight for the allowed origins', async () => {
      const res = await fetch(`${t.cloud.endpoints.collector}/v1/t`, {
        method: 'OPTIONS',
        headers: { origin: 'https://shop.example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    });
  });

  describe('bad input gets a clear 4xx and stores nothing', () => {
    const cases: Array<[string, () => Promise<{ status: number; body: unknown }>, number, Record<string, unknown>]> = [
      [
        'missing write key',
        () => post(t, '/v1/track', { type: 'track', event: 'E', userId: 'u' }),
        401,
        { success: false, code: 'missing_write_key', message: 'No write key: send it as the Basic auth user name or as "writeKey" in the body' },
      ],
      [
        'unknown write key',
        () => post(t, '/v1/track', { event: 'E', userId: 'u' }, basic('not-a-key-123')),
        401,
        { success: false, code: 'invalid_write_key', message: 'Unknown write key' },
      ],
      ['invalid JSON', () => post(t, '/v1/batch', undefined, basic(webKey), '{"batch": ['), 400, { success: false, code: 'invalid_json' }],
      // The key is checked before the body costs anything: a body that does not even decompress, or
      // does not parse, is answered 401 for its wrong key (it would be 400 if it had been read first).
      [
        'a wrong key in the header, before decompressing',
        () => post(t, '/v1/batch', undefined, { ...basic('not-a-key-123'), 'content-encoding': 'gzip' }, Buffer.from('not gzip at all')),
        401,
        { success: false, code: 'invalid_write_key' },
      ],
      [
        'a wrong key in a plain body, before parsing',
        () => post(t, '/v1/batch', undefined, { 'content-type': 'text/plain' }, '{"writeKey": "not-a-key-123", "batch": [ this is not JSON'),
        401,
        { success: false, code: 'invalid_write_key' },
      ],
      [
        'a body that is not an object',
        () => post(t, '/v1/batch', [1, 2], basic(webKey)),
        400,
        { success: false, code: 'invalid_body', message: 'The body must be a JSON object' },
      ],
      [
        'a batch that is not an array',
        () => post(t, '/v1/batch', { batch: {} }, basic(webKey)),
        400,
        { success: false, code: 'invalid_batch', message: '"batch" must be an array of messages' },
      ],
      [
        'more than 2,500 messages',
        () => post(t, '/v1/batch', { batch: Array.from({ length: 2501 }, () => ({})) }, basic(webKey)),
        400,
        { success: false, code: 'batch_too_large', message: 'The batch has 2501 messages; the limit is 2500' },
      ],
      [
        'a message over 32 KB',
        () =>
          post(
            t,
            '/v1/batch',
            {
              batch: [
                { type: 'track', event: 'E', userId: 'u' },
                { type: 'track', event: 'E', userId: 'u', properties: { big: 'x'.repeat(33 * 1024) } },
              ],
            },
            basic(webKey),
          ),
        400,
        { success: false, code: 'message_too_large', message: expect.stringMatching(/^Message 1 is \d+ bytes; the limit is 32 KB per message$/) },
      ],
      [
        'a body over 500 KB',
        () =>
          post(
            t,
            '/v1/batch',
            { batch: Array.from({ length: 20 }, () => ({ type: 'track', event: 'E', userId: 'u', properties: { p: 'x'.repeat(30 * 1024) } })) },
            basic(webKey),
          ),
        400,
        { success: false, code: 'batch_too_large', message: expect.stringMatching(/^The body is \d+ bytes; the limit is 500 KB per request$/) },
      ],
      [
        'a gzip bomb',
        () => post(t, '/v1/batch', undefined, { ...basic(webKey), 'content-encoding': 'gzip' }, zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024, 32))),
        400,
        { success: false, code: 'batch_too_large' },
      ],
      ['an unknown path', () => post(t, '/v1/nope', {}, basic(webKey)), 404, { success: false, code: 'not_found' }],
      ['a path named like an inherited object key', () => post(t, '/v1/constructor', {}, basic(webKey)), 404, { success: false, code: 'not_found' }],
    ];
    it.each(cases)('%s', async (_name, send, status, body) => {
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.body).toEqual(expect.objectContaining(body));
      const { events, quarantined } = await stored(t);
      expect({ events, quarantined }).toEqual({ events: [], quarantined: [] });
    });

    it('answers 403 and stores nothing when the source collect flag is off', async () => {
      await withSourceEntry(t, 'web', { collect: false }, async () => {
        const res = await fetch(`${t.cloud.endpoints.collector}/v1/track`, {
          method: 'POST',
          headers: { ...basic(webKey), 'content-type': 'application/json' },
          body: JSON.stringify({ event: 'E', userId: 'u' }),
        });
        expect(res.status).toBe(403);
        expect(await res.json()).toEqual({
          success: false,
          code: 'source_disabled',
          message: 'Collection is turned off for source "web" (its collect flag); nothing was stored',
        });
      });
      expect((await stored(t)).events).toEqual([]);
    });
  });

  describe('IP policy of a source (cdk.json "ip")', () => {
    /** Sends three messages to web with its `ip` policy set: an IPv4, an IPv6 and none (the caller's address fills it). */
    async function storedIps(policy: string): Promise<unknown[]> {
      markStored(t);
      await withSourceEntry(t, 'web', { ip: policy }, async () => {
        const batch = [
          { type: 'track', event: 'V4', userId: 'u', messageId: `ip-${policy}-1`, context: { ip: '203.0.113.77' } },
          { type: 'track', event: 'V6', userId: 'u', messageId: `ip-${policy}-2`, context: { ip: '2001:db8:85a3:8d3:1319:8a2e:370:7348' } },
          { type: 'track', event: 'None', userId: 'u', messageId: `ip-${policy}-3`, context: { page: { path: '/' } } },
        ];
        expect((await post(t, '/v1/batch', { batch }, basic(webKey))).status).toBe(200);
      });
      const events = (await stored(t)).events as Array<{ messageId: string; context: Record<string, unknown> }>;
      return events.sort((a, b) => a.messageId.localeCompare(b.messageId)).map((e) => ('ip' in e.context ? e.context.ip : 'absent'));
    }

    it("keep: stores the client's address as sent and fills an empty one with the caller's", async () => {
      expect(await storedIps('keep')).toEqual(['203.0.113.77', '2001:db8:85a3:8d3:1319:8a2e:370:7348', '127.0.0.1']);
    });
    it('truncate: stores only the network, IPv4 /24 and IPv6 /48, for the sent and the filled address', async () => {
      expect(await storedIps('truncate')).toEqual(['203.0.113.0', '2001:db8:85a3::', '127.0.0.0']);
    });
    it("drop: stores no address at all, neither the sent one nor the caller's", async () => {
      expect(await storedIps('drop')).toEqual(['absent', 'absent', 'absent']);
    });
  });

  describe('invalid messages inside a valid batch', () => {
    it('stores the valid ones, quarantines the others with their reason, and answers 200', async () => {
      const batch = [
        { type: 'track', event: 'Good', userId: 'u', messageId: 'ok1' },
        { type: 'track', userId: 'u', messageId: 'bad-event' },
        { type: 'identify', messageId: 'bad-ids' },
        { type: 'group', userId: 'u', messageId: 'bad-group' },
        { type: 'alias', userId: 'u', messageId: 'bad-alias' },
        { type: 'launch', userId: 'u', messageId: 'bad-type' },
        { type: 'page', userId: 'u', timestamp: 'yesterday', messageId: 'bad-ts' },
        'not an object',
      ];
      const res = await post(t, '/v1/batch', { batch }, basic(webKey));
      expect(res).toMatchObject({ status: 200, body: { success: true } });
      const { events, quarantined } = await stored(t);
      expect(events.map((e) => e.messageId)).toEqual(['ok1']);
      expect(quarantined.map((q) => [(q.message as Record<string, unknown>).messageId ?? (q.message as Record<string, unknown>).value, q.reason])).toEqual([
        ['bad-event', 'track needs a non-empty event name'],
        ['bad-ids', 'userId or anonymousId is required'],
        ['bad-group', 'group needs a groupId'],
        ['bad-alias', 'alias needs previousId and userId'],
        ['bad-type', 'type must be one of track, page, screen, identify, group, alias (got "launch")'],
        ['bad-ts', 'timestamp must be an ISO-8601 date-time with a zone, such as 2026-11-21T10:00:00.000Z'],
        ['not an object', 'a message must be a JSON object'],
      ]);
      expect(events.length + quarantined.length).toBe(batch.length);
    });
  });
});
